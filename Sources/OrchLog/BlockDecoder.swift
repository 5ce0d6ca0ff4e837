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
    /// Per type code (≤ 15): indices into `events` of that type's events, in order.
    private var perType = [[Int32]](repeating: [], count: 16)

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
        for t in perType.indices { perType[t].removeAll(keepingCapacity: true) }

        // Column by column: tight loops over one stream each.
        try cursors.withUnsafeMutableBufferPointer { cursors in
            try EventSchema.layout.withUnsafeBufferPointer { layout in
                var types = StreamReader(block, cursors[BlockEncoder.typeStream], key: BlockEncoder.typeStream, context: context)
                var deltas = StreamReader(block, cursors[BlockEncoder.timestampStream], key: BlockEncoder.timestampStream, context: context)
                var ts = baseTs
                var seq = firstSeq
                for _ in 0..<Int(count) {
                    let typeCode = try types.next()
                    ts = ts &+ UInt64(bitPattern: unzigzag(try deltas.next()))
                    if typeCode <= 15, let type = EventType(rawValue: UInt8(typeCode)) {
                        perType[Int(typeCode)].append(Int32(events.count))
                        events.append(RawEvent(type: type, seq: seq, timestamp: ts))
                    } else {
                        // A type from a newer writer: skipped (it still consumed a sequence number).
                        skippedUnknown += 1
                    }
                    seq &+= 1
                }
                guard types.atEnd, deltas.atEnd else {
                    throw OrchLogError(.corrupt, "\(context): bytes left over in the type or timestamp stream")
                }
                try events.withUnsafeMutableBufferPointer { events in
                    for key in presentKeys where key >= 16 {
                        let typeCode = key >> 4, field = key & 15
                        let row = typeCode &* EventSchema.layoutStride
                        // Streams of unknown types, or fields a newer writer appended: ignored.
                        guard field < Int(layout[row]) else { continue }
                        let code = layout[row &+ 1 &+ field]
                        var stream = StreamReader(block, cursors[key], key: key, context: context)
                        if code < 0 {
                            let slot = Int(-(code + 1))
                            for i in perType[typeCode] {
                                let v = try stream.next()
                                guard v < stringLimit else {
                                    throw OrchLogError(.corrupt, "\(context): string index \(v) out of range (\(stringLimit) strings)")
                                }
                                events[Int(i)].setLabel(slot, UInt32(truncatingIfNeeded: v))
                            }
                        } else {
                            let slot = Int(code)
                            for i in perType[typeCode] { events[Int(i)].setNumber(slot, try stream.next()) }
                        }
                        guard stream.atEnd else {
                            throw OrchLogError(.corrupt, "\(context): bytes left over in stream \(key)")
                        }
                    }
                }
            }
        }
    }
}

/// Reads varints from one stream of a block, bounds-checked.
struct StreamReader {
    let base: UnsafeRawPointer?
    var position: Int
    let end: Int
    let key: Int
    let context: String

    @inline(__always)
    init(_ block: UnsafeRawBufferPointer, _ range: (Int, Int), key: Int, context: String) {
        base = block.baseAddress
        position = range.0
        end = range.1
        self.key = key
        self.context = context
    }

    var atEnd: Bool { position == end }

    @inline(__always)
    mutating func next() throws -> UInt64 {
        guard let base, position < end else { throw OrchLogError(.corrupt, "\(context): stream \(key) ends early") }
        var b = base.load(fromByteOffset: position, as: UInt8.self)
        position &+= 1
        if b < 0x80 { return UInt64(b) }
        var result = UInt64(b & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard position < end else { throw OrchLogError(.corrupt, "\(context): varint runs past end of stream \(key)") }
            b = base.load(fromByteOffset: position, as: UInt8.self)
            position &+= 1
            if shift == 63 && b > 1 { throw OrchLogError(.corrupt, "\(context): varint overflows 64 bits in stream \(key)") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift &+= 7
            if shift > 63 { throw OrchLogError(.corrupt, "\(context): varint longer than 10 bytes in stream \(key)") }
        }
    }
}
