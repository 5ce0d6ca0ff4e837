/// Decodes one inflated block. Every length, index and count is checked against the block's
/// bounds and `LogFormat` limits; anything out of range is `.corrupt`, never a crash.
/// Unknown event types and trailing fields (from a newer writer) are skipped.
public struct BlockDecoder {
    /// The block's string table (valid after `decode`).
    public private(set) var strings: [String] = []
    /// Events of types this reader does not know, skipped in the last block.
    public private(set) var skippedUnknown = 0

    public init() {}

    /// Decodes all of `block` into `events` (replacing its contents), in order. Label slots of
    /// the events index `strings`. Nothing is delivered from a block that fails to decode.
    /// - Throws: `OrchLogError(.corrupt)` naming `context` and the offset.
    public mutating func decode(_ block: UnsafeRawBufferPointer, context: String, into events: inout [RawEvent]) throws {
        events.removeAll(keepingCapacity: true)
        var r = ByteReader(block, context: context)
        let version = try r.byte()
        guard version == LogFormat.blockVersion else { throw r.corrupt("block version \(version) is not supported") }
        let count = try r.varint()
        guard count <= UInt64(LogFormat.maxEventsPerBlock) else { throw r.corrupt("event count \(count) exceeds limit") }
        let firstSeq = try r.varint()
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
        let stringLimit = UInt64(strings.count)
        skippedUnknown = 0
        var ts = baseTs
        var seq = firstSeq
        for _ in 0..<Int(count) {
            let typeCode = try r.varint()
            let bodyLength = try r.varint()
            guard bodyLength <= UInt64(r.remaining) else { throw r.corrupt("event body of \(bodyLength) bytes runs past end of block") }
            let end = r.offset + Int(bodyLength)
            guard typeCode <= 255, let type = EventType(rawValue: UInt8(typeCode)) else {
                // A type from a newer writer: skip it (it still consumed a sequence number).
                try r.skip(Int(bodyLength))
                skippedUnknown += 1
                seq &+= 1
                continue
            }
            var fields = ByteReader(UnsafeRawBufferPointer(rebasing: block[r.offset..<end]), context: context)
            ts = ts &+ UInt64(bitPattern: unzigzag(try fields.varint()))
            var e = RawEvent(type: type, seq: seq, timestamp: ts)
            try EventSchema.layout.withUnsafeBufferPointer { layout in
                let row = Int(typeCode) &* EventSchema.layoutStride
                let n = Int(layout[row])
                var i = 1
                while i <= n, fields.remaining > 0 {
                    let v = try fields.varint()
                    let code = layout[row &+ i]
                    if code < 0 {
                        guard v < stringLimit else { throw r.corrupt("string index \(v) out of range (\(stringLimit) strings)") }
                        e.setLabel(Int(-(code + 1)), UInt32(truncatingIfNeeded: v))
                    } else {
                        e.setNumber(Int(code), v)
                    }
                    i &+= 1
                }
            }
            r.offset = end  // skips fields a newer writer appended
            events.append(e)
            seq &+= 1
        }
        guard r.remaining == 0 else { throw r.corrupt("\(r.remaining) trailing bytes after \(count) events") }
    }
}
