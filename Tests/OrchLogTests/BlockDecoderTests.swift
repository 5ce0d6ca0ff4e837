import Testing
@testable import OrchLog

/// The column decoder reads varints three ways: one byte, up to nine bytes without bounds
/// checks when ten remain in the stream, and byte by byte (checked) near a stream's end or for
/// ten bytes. Every length, at its edges, in the middle of a stream and at its end, must
/// decode to what was written.
@Suite struct BlockDecoderTests {
    @Test func varintsOfEveryLengthDecodeAnywhereInAStream() throws {
        var values: [UInt64] = [0, 1, 127, UInt64.max, UInt64.max - 1, 1 << 63]
        for bytes in 1...10 {
            let low: UInt64 = bytes == 1 ? 0 : 1 << UInt64(7 * (bytes - 1))
            let high: UInt64 = bytes == 10 ? UInt64.max : (1 << UInt64(7 * bytes)) - 1
            values += [low, low + 1, high, high - 1, UInt64.random(in: low...high)]
        }
        // Each value near a stream's end, and all of them in one stream (each value followed
        // by others, so the unchecked path applies) in both orders.
        for value in values {
            try check([value, value])
        }
        try check(values)
        try check(values.reversed())
    }

    /// The writer's varint encoder (one- and two-byte fast paths, then a loop) writes exactly
    /// LEB128, byte for byte, for every length at its edges and for random values, back to
    /// back in one growing buffer, and counts exactly the bytes it wrote.
    @Test func varintEncoderWritesExactLEB128ForEveryLength() throws {
        var values: [UInt64] = [0, 1, 127, 128, UInt64.max, UInt64.max - 1, 1 << 63, 1 << 56, (1 << 56) - 1]
        for bytes in 1...10 {
            let low: UInt64 = bytes == 1 ? 0 : 1 << UInt64(7 * (bytes - 1))
            let high: UInt64 = bytes == 10 ? UInt64.max : (1 << UInt64(7 * bytes)) - 1
            values += [low, low + 1, high, high - 1, UInt64.random(in: low...high)]
        }
        values += (0..<2_000).map { _ in UInt64.random(in: 0...UInt64.max) >> UInt64.random(in: 0...63) }
        var expected: [UInt8] = []
        var buffer = ByteBuffer(capacity: 16)
        defer { buffer.deallocate() }
        for v in values {
            var x = v
            while x >= 0x80 { expected.append(UInt8(x & 0x7F) | 0x80); x >>= 7 }
            expected.append(UInt8(x))
            buffer.appendVarint(v)
            #expect(buffer.count == expected.count, "length after \(v)")
        }
        #expect(Array(buffer.bytes) == expected)
    }

    /// Decodes a block of queue_sample events whose depth and capacity are `numbers`.
    private func check(_ numbers: [UInt64]) throws {
        var block: [UInt8] = [LogFormat.blockVersionVarints]
        func varint(_ v: UInt64, _ out: inout [UInt8]) {
            var v = v
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            out.append(UInt8(v))
        }
        let n = UInt64(numbers.count)
        varint(n, &block); varint(1, &block); varint(1_000, &block)    // count, first seq, base ts
        varint(1, &block); varint(1, &block); block.append(UInt8(ascii: "q"))  // one string
        let type = UInt64(EventType.queueSample.rawValue)
        let streams: [(UInt64, [UInt64])] = [
            (0, Array(repeating: type, count: numbers.count)), (1, Array(repeating: 2, count: numbers.count)),
            (type << 4, Array(repeating: 0, count: numbers.count)), (type << 4 | 1, numbers), (type << 4 | 2, numbers.reversed()),
        ]
        varint(UInt64(streams.count), &block)
        for (key, values) in streams {
            var bytes: [UInt8] = []
            for v in values { varint(v, &bytes) }
            varint(key, &block); varint(UInt64(bytes.count), &block); block += bytes
        }
        var decoder = BlockDecoder()
        var events: [RawEvent] = []
        try block.withUnsafeBytes { try decoder.decode($0, context: "test", into: &events) }
        #expect(events.map(\.n0) == numbers)
        #expect(events.map(\.n1) == numbers.reversed())
        #expect(events.map(\.timestamp) == (1...n).map { 1_000 + $0 })
        decoder.columns.withView { v in
            #expect(Array(v.number(.queueSample, 0)) == numbers)
            #expect(Array(v.rows(.queueSample)) == (0..<Int32(numbers.count)).map { $0 })
        }
    }
}
