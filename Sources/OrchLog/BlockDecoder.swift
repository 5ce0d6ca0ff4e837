/// Decodes one inflated block (see docs/log-format.md): string table, then columnar streams.
/// Every length, index and count is checked against the block's bounds and `LogFormat`
/// limits; anything out of range is `.corrupt`, never a crash. Events of unknown types and
/// fields a newer writer appended (streams this reader does not know) are skipped.
public struct BlockDecoder {
    /// The block's string table (valid after `decode`).
    public private(set) var strings: [String] = []
    /// Events of types this reader does not know, skipped in the last block.
    public private(set) var skippedUnknown = 0
    /// The sequence number of the last block's first event (as the block states it).
    public private(set) var firstSeq: UInt64 = 0
    /// Cursor (position, end) per known stream key; (0, 0) when absent.
    private var cursors = [(Int, Int)](repeating: (0, 0), count: BlockEncoder.streamLimit)
    private var present = [Bool](repeating: false, count: BlockEncoder.streamLimit)
    private var presentKeys: [Int] = []

    public init() {}

    /// Decodes all of `block` into `events` (replacing its contents), in order. Label slots of
    /// the events index `strings`. Nothing is delivered from a block that fails to decode.
    /// - Throws: `OrchLogError(.corrupt)` naming `context` and the offset.
    public mutating func decode(_ block: UnsafeRawBufferPointer, context: String, into events: inout [RawEvent]) throws {
        events.removeAll(keepingCapacity: true)
        for key in presentKeys {
            present[key] = false
            cursors[key] = (0, 0)
        }
        presentKeys.removeAll(keepingCapacity: true)
        var r = ByteReader(block, context: context)
        let version = try r.byte()
        guard version == LogFormat.blockVersion else { throw r.corrupt("block version \(version) is not supported") }
        let count = try r.varint()
        guard count <= UInt64(LogFormat.maxEventsPerBlock) else { throw r.corrupt("event count \(count) exceeds limit") }
        let firstSeq = try r.varint()
        self.firstSeq = firstSeq
        let baseTs = try r.varint()
        let stringCount = try r.varint()
        guard stringCount <= UInt64(LogFormat.maxStrings), stringCount <= UInt64(r.remaining) else {
            throw r.corrupt("string count \(stringCount) exceeds limit")
        }
        strings.removeAll(keepingCapacity: true)
        for _ in 0..<Int(stringCount) {
            let length = try r.varint()
            guard length <= UInt64(LogFormat.maxStringLength), length <= UInt64(r.remaining) else {
                throw r.corrupt("string length \(length) runs past end of block")
            }
            let start = r.offset
            try r.skip(Int(length))
            strings.append(String(decoding: UnsafeRawBufferPointer(rebasing: block[start..<start + Int(length)]), as: UTF8.self))
        }
        let streamCount = try r.varint()
        guard streamCount <= UInt64(r.remaining) else { throw r.corrupt("stream count \(streamCount) runs past end of block") }
        var previousKey: UInt64?
        for _ in 0..<Int(streamCount) {
            let key = try r.varint()
            let length = try r.varint()
            guard length <= UInt64(r.remaining) else { throw r.corrupt("stream \(key) of \(length) bytes runs past end of block") }
            if let previousKey, key <= previousKey { throw r.corrupt("stream keys out of order (\(key) after \(previousKey))") }
            previousKey = key
            if key < UInt64(BlockEncoder.streamLimit) {
                let k = Int(key)
                present[k] = true
                presentKeys.append(k)
                cursors[k] = (r.offset, r.offset + Int(length))
            }
            try r.skip(Int(length))
        }
        guard r.remaining == 0 else { throw r.corrupt("\(r.remaining) trailing bytes after the streams") }
        guard count == 0 || (present[BlockEncoder.typeStream] && present[BlockEncoder.timestampStream]) else {
            throw r.corrupt("block of \(count) events lacks its type or timestamp stream")
        }

        skippedUnknown = 0
        let stringLimit = UInt64(strings.count)
        events.reserveCapacity(Int(count))
        var ts = baseTs
        var seq = firstSeq
        try cursors.withUnsafeMutableBufferPointer { cursors in
            try EventSchema.layout.withUnsafeBufferPointer { layout in
                /// Reads one varint from stream `key`; nil when the stream is absent.
                func next(_ key: Int) throws -> UInt64? {
                    var (pos, end) = cursors[key]
                    if pos == 0 && end == 0 { return nil }
                    guard pos < end else { throw OrchLogError(.corrupt, "\(context): stream \(key) ends early") }
                    var result: UInt64 = 0
                    var shift: UInt64 = 0
                    while true {
                        guard pos < end else { throw OrchLogError(.corrupt, "\(context): varint runs past end of stream \(key)") }
                        let b = block[pos]
                        pos += 1
                        if shift == 63 && b > 1 { throw OrchLogError(.corrupt, "\(context): varint overflows 64 bits in stream \(key)") }
                        result |= UInt64(b & 0x7F) << shift
                        if b < 0x80 { break }
                        shift += 7
                        if shift > 63 { throw OrchLogError(.corrupt, "\(context): varint longer than 10 bytes in stream \(key)") }
                    }
                    cursors[key].0 = pos
                    return result
                }
                for _ in 0..<Int(count) {
                    let typeCode = try next(BlockEncoder.typeStream) ?? 0
                    ts = ts &+ UInt64(bitPattern: unzigzag(try next(BlockEncoder.timestampStream) ?? 0))
                    guard typeCode <= 15, let type = EventType(rawValue: UInt8(typeCode)) else {
                        // A type from a newer writer: skip it (it still consumed a sequence number).
                        skippedUnknown += 1
                        seq &+= 1
                        continue
                    }
                    var e = RawEvent(type: type, seq: seq, timestamp: ts)
                    let row = Int(typeCode) &* EventSchema.layoutStride
                    let n = Int(layout[row])
                    var i = 1
                    while i <= n {
                        // An absent stream is a field an older writer did not have: 0 / "".
                        if let v = try next(BlockEncoder.fieldStream(type: Int(typeCode), field: i &- 1)) {
                            let code = layout[row &+ i]
                            if code < 0 {
                                guard v < stringLimit else { throw OrchLogError(.corrupt, "\(context): string index \(v) out of range (\(stringLimit) strings)") }
                                e.setLabel(Int(-(code + 1)), UInt32(truncatingIfNeeded: v))
                            } else {
                                e.setNumber(Int(code), v)
                            }
                        }
                        i &+= 1
                    }
                    events.append(e)
                    seq &+= 1
                }
                // Streams this reader decodes must be consumed exactly.
                for key in presentKeys where cursors[key].0 != cursors[key].1 {
                    let known = key < 2 || (EventType(rawValue: UInt8(key / 16)).map { key % 16 < Int(layout[Int($0.rawValue) &* EventSchema.layoutStride]) } ?? false)
                    if known { throw OrchLogError(.corrupt, "\(context): \(cursors[key].1 - cursors[key].0) bytes left over in stream \(key)") }
                }
            }
        }
    }
}
