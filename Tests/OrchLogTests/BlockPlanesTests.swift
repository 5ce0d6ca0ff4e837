import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// Version 2 blocks (byte planes): every stream is a width byte W (1…8), then W planes of
/// one byte per value, least significant first. The writer picks the narrowest width per
/// stream; a reader decodes every width, rejects any stream whose width or length lies, skips
/// what a newer writer added — and still reads version 1 (varint) blocks and segments.
@Suite struct BlockPlanesTests {
    static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    /// A stream body: `width` (default: the narrowest that holds every value), then the planes.
    static func planes(_ values: [UInt64], width: Int? = nil) -> [UInt8] {
        let all = values.reduce(0, |)
        let w = width ?? max(1, (64 - all.leadingZeroBitCount + 7) / 8)
        var out: [UInt8] = [UInt8(w)]
        for plane in 0..<w {
            for v in values { out.append(plane < 8 ? UInt8(truncatingIfNeeded: v >> UInt64(8 * plane)) : 0) }
        }
        return out
    }

    /// A version 2 (or `version`) block of `count` events with these strings and (key, stream body) pairs.
    static func block(count: Int, firstSeq: UInt64 = 1, baseTs: UInt64 = 1_000, strings: [String] = ["q"],
                      streams: [(UInt64, [UInt8])], version: UInt8 = 2) -> [UInt8] {
        var block: [UInt8] = [version]
        varint(UInt64(count), &block); varint(firstSeq, &block); varint(baseTs, &block)
        varint(UInt64(strings.count), &block)
        for s in strings { varint(UInt64(s.utf8.count), &block); block += Array(s.utf8) }
        varint(UInt64(streams.count), &block)
        var previous: UInt64 = 0
        for (key, body) in streams {
            // Version 3 stores each key as its difference from the previous one.
            varint(version == 3 ? key &- previous : key, &block); varint(UInt64(body.count), &block); block += body
            previous = key
        }
        return block
    }

    static func decode(_ block: [UInt8]) throws -> (events: [RawEvent], decoder: BlockDecoder) {
        var decoder = BlockDecoder()
        var events: [RawEvent] = []
        try block.withUnsafeBytes { try decoder.decode($0, context: "test", into: &events) }
        return (events, decoder)
    }

    static let queue = UInt64(EventType.queueSample.rawValue)

    /// Queue samples whose depth is `depths` and capacity their reverse, timestamps 2 ns apart.
    static func queueBlock(_ depths: [UInt64], depthWidth: Int? = nil) -> [UInt8] {
        let n = depths.count
        return block(count: n, streams: [
            (0, planes(Array(repeating: queue, count: n))), (1, planes(Array(repeating: 4, count: n))),
            (queue << 4, planes(Array(repeating: 0, count: n))),
            (queue << 4 | 1, planes(depths, width: depthWidth)), (queue << 4 | 2, planes(depths.reversed())),
        ])
    }

    @Test func valuesOfEveryWidthDecode() throws {
        var values: [UInt64] = [0, 1, 255, 256, UInt64.max, UInt64.max - 1, 1 << 63]
        for bytes in 1...8 {
            let high: UInt64 = bytes == 8 ? UInt64.max : (1 << UInt64(8 * bytes)) - 1
            let low: UInt64 = bytes == 1 ? 0 : 1 << UInt64(8 * (bytes - 1))
            values += [low, low + 1, high, high - 1, UInt64.random(in: low...high)]
        }
        for v in values {
            let (events, _) = try Self.decode(Self.queueBlock([v, v ^ 1]))
            #expect(events.map(\.n0) == [v, v ^ 1])
        }
        let (events, decoder) = try Self.decode(Self.queueBlock(values))
        #expect(events.map(\.n0) == values)
        #expect(events.map(\.n1) == values.reversed())
        let stamps: [UInt64] = (1...UInt64(values.count)).map { (k: UInt64) -> UInt64 in 1_000 + 2 * k }
        #expect(events.map(\.timestamp) == stamps)
        #expect(events.map(\.seq) == Array(1...UInt64(values.count)))
        decoder.columns.withView { v in #expect(Array(v.number(.queueSample, 0)) == values) }
        // A width wider than needed is legal (the high planes are zero).
        let wide = try Self.decode(Self.queueBlock([1, 2, 3], depthWidth: 8))
        #expect(wide.events.map(\.n0) == [1, 2, 3])
    }

    /// Streams long enough for the vector path (16 values at a time, then the rest one by one)
    /// decode exactly at every width, and at lengths around the multiples of 16.
    @Test func longStreamsOfEveryWidthDecode() throws {
        for width in 1...8 {
            for count in [15, 16, 17, 31, 32, 33, 100] {
                let high: UInt64 = width == 8 ? UInt64.max : (1 << UInt64(8 * width)) - 1
                var values = (0..<count).map { _ in UInt64.random(in: 0...high) }
                values[count / 2] = high  // the width is exactly `width`
                let (events, _) = try Self.decode(Self.queueBlock(values))
                #expect(events.map(\.n0) == values, "width \(width), \(count) values")
                #expect(events.map(\.n1) == values.reversed(), "width \(width), \(count) values")
            }
        }
    }

    /// The string table is kept as the block stores it: each string's bytes exactly (empty,
    /// multi-byte, invalid UTF-8), made into a `String` only when asked for.
    @Test func theStringTableKeepsEachStringsBytes() throws {
        let q = Self.queue
        var block = Self.block(count: 4, strings: ["", "é-ü", "q", "\u{FFFD}"], streams: [
            (0, Self.planes([q, q, q, q])), (1, Self.planes([0, 2, 2, 2])),
            (q << 4, Self.planes([1, 0, 2, 3])),
        ])
        // Make the last string's bytes invalid UTF-8 (0xFF 0xFE 0xFD instead of U+FFFD's EF BF BD).
        let fffd: [UInt8] = [0xEF, 0xBF, 0xBD]
        let at = try #require((0...(block.count - 3)).first { Array(block[$0..<$0 + 3]) == fffd })
        block.replaceSubrange(at..<at + 3, with: [0xFF, 0xFE, 0xFD])
        let (events, decoder) = try Self.decode(block)
        #expect(events.map(\.l0) == [1, 0, 2, 3])
        let table = decoder.stringTable
        #expect(table.count == 4)
        #expect((0..<4).map { i in table.withBytes(i) { Array($0) } } == [[], Array("é-ü".utf8), [0x71], [0xFF, 0xFE, 0xFD]])
        #expect(decoder.strings == ["", "é-ü", "q", "\u{FFFD}\u{FFFD}\u{FFFD}"])
    }

    /// Label indices are checked against the string count at every width, however many values
    /// the stream holds: the largest legal index decodes, one more is corruption, wherever it
    /// sits in the stream.
    @Test(arguments: [1, 2, 5, 255, 256, 257, 300, 65_535, 65_536, 70_000])
    func labelIndicesAreCheckedAgainstTheStringCount(_ stringCount: Int) throws {
        let q = Self.queue
        let strings = (0..<stringCount).map { "s\($0)" }
        for count in [3, 40] {
            for position in [0, count / 2, count - 1] {
                func block(_ bad: UInt64?) -> [UInt8] {
                    var labels = (0..<count).map { UInt64($0 % stringCount) }
                    labels[position] = bad ?? UInt64(stringCount - 1)
                    return Self.block(count: count, strings: strings, streams: [
                        (0, Self.planes(Array(repeating: q, count: count))), (1, Self.planes(Array(repeating: 1, count: count))),
                        (q << 4, Self.planes(labels)),
                    ])
                }
                let (events, _) = try Self.decode(block(nil))
                #expect(events[position].l0 == UInt32(stringCount - 1))
                for bad in [UInt64(stringCount), UInt64(stringCount) + 255, UInt64(stringCount) << 8] {
                    #expect(throws: OrchLogError.self, "\(stringCount) strings, index \(bad) at \(position) of \(count)") {
                        _ = try Self.decode(block(bad))
                    }
                }
            }
        }
    }

    /// The writer stores each stream at the narrowest width that holds its largest value, and
    /// the reader gets back exactly what was appended.
    @Test func writerPicksTheNarrowestWidthPerStream() throws {
        var encoder = BlockEncoder()
        var raw = ByteBuffer(capacity: 1024)
        defer { encoder.deallocate(); raw.deallocate() }
        let labels = LabelSnapshot(table: [Array("q".utf8)])
        let start: UInt64 = 1_700_000_000_000_000_000
        for i in 0..<300 {
            // Depth up to 299 (two bytes), capacity 100 (one), timestamps 1 µs apart (two: zigzag 2,000).
            let e = Event.queueSample(queue: Label(id: 0), depth: UInt64(i), capacity: 100)
            encoder.append(e.raw(seq: 1 + UInt64(i), timestamp: start + UInt64(i) * 1_000), labels: labels)
        }
        encoder.assemble(into: &raw)
        let bytes = Array(raw.bytes)
        #expect(bytes[0] == LogFormat.blockVersion)
        // Walk the header and collect each stream's width.
        var r = ByteReader(raw.bytes, context: "test")
        _ = try r.byte()
        #expect(try r.varint() == 300)
        #expect(try r.varint() == 1)
        #expect(try r.varint() == start)
        let strings = try r.varint()
        for _ in 0..<strings { try r.skip(Int(try r.varint())) }
        var widths: [UInt64: Int] = [:]
        var key: UInt64 = 0
        for _ in 0..<(try r.varint()) {
            // Version 3: each key is its difference from the previous one.
            key += try r.varint()
            let length = Int(try r.varint())
            widths[key] = Int(bytes[r.offset])
            #expect(length == 1 + widths[key]! * 300, "stream \(key)")
            try r.skip(length)
        }
        // Version 3 keys: 64 × type + field.
        #expect(widths == [0: 1, 1: 2, Self.queue << 6: 1, Self.queue << 6 | 1: 2, Self.queue << 6 | 2: 1, Self.queue << 6 | 3: 1, Self.queue << 6 | 4: 1])
        let (events, _) = try Self.decode(bytes)
        #expect(events.map(\.n0) == (0..<300).map { UInt64($0) })
        #expect(events.allSatisfy { $0.n1 == 100 && $0.l0 == 0 })
        #expect(events.map(\.timestamp) == (0..<300).map { start + UInt64($0) * 1_000 })
    }

    static let hostile: [(String, [UInt8])] = {
        let q = queue
        let types = planes([q, q]), ts = planes([0, 2]), label = planes([0, 0]), n = planes([5, 6])
        func with(_ key: UInt64, _ body: [UInt8], strings: [String] = ["q"]) -> [UInt8] {
            var streams: [(UInt64, [UInt8])] = [(0, types), (1, ts), (q << 4, label), (q << 4 | 1, n), (q << 4 | 2, n)]
            let i = streams.firstIndex { $0.0 == key }!
            streams[i].1 = body
            return block(count: 2, strings: strings, streams: streams)
        }
        return [
            ("width 0", with(q << 4 | 1, [0])),
            ("width 9", with(q << 4 | 1, [9] + [UInt8](repeating: 1, count: 18))),
            ("stream one byte short", with(q << 4 | 1, Array(n.dropLast()))),
            ("stream one byte long", with(q << 4 | 1, n + [0])),
            ("type stream without its width", with(0, [])),
            ("timestamp stream of the wrong length", with(1, [1, 0])),
            ("string index out of range", with(q << 4, planes([0, 1]))),
            ("string index out of range in a high plane", with(q << 4, planes([0, 256]))),
            ("string index out of range and nothing to index", with(q << 4, planes([0, 0]), strings: [])),
        ]
    }()

    @Test(arguments: hostile)
    func hostilePlaneBlocksAreCorruption(_ name: String, _ block: [UInt8]) throws {
        var decoder = BlockDecoder()
        var events: [RawEvent] = []
        #expect(throws: OrchLogError.self, "\(name)") {
            try block.withUnsafeBytes { try decoder.decode($0, context: "test", into: &events) }
        }
        #expect(decoder.columns.rowCount == 0, "nothing is delivered from a corrupt block")
    }

    /// A type code from a newer writer (300: two bytes wide), a field stream this reader does
    /// not know (57), and streams of the unknown type — even malformed ones — are skipped; a
    /// field stream an older writer did not write reads as 0.
    @Test func newerAndOlderWritersBlocksDecode() throws {
        let q = Self.queue
        let block = Self.block(count: 3, firstSeq: 10, streams: [
            (0, Self.planes([q, 300, q])), (1, Self.planes([0, 2, 2])),
            (q << 4, Self.planes([0, 0])), (q << 4 | 1, Self.planes([7, 8])),
            // no stream 50 (capacity): an older writer
            (q << 4 | 9, Self.planes([1, 1])),
            (300 << 4, [9, 9, 9]),
        ])
        let (events, decoder) = try Self.decode(block)
        #expect(events.map(\.seq) == [10, 12])
        #expect(events.map(\.n0) == [7, 8])
        #expect(events.map(\.n1) == [0, 0])
        #expect(events.map(\.timestamp) == [1_000, 1_002])
        #expect(decoder.skippedUnknown == 1)

        // Unknown codes that fit one byte (the type stream read in place): 16 and 0 (no type
        // has them) and 200, between known ones, skipped but counted in the sequence.
        let narrow = Self.block(count: 5, firstSeq: 10, streams: [
            (0, Self.planes([q, 16, 0, 200, q])), (1, Self.planes([0, 2, 2, 2, 2])),
            (q << 4, Self.planes([0, 0])), (q << 4 | 1, Self.planes([7, 8])),
        ])
        let (known, narrowDecoder) = try Self.decode(narrow)
        #expect(known.map(\.seq) == [10, 14])
        #expect(known.map(\.n0) == [7, 8])
        #expect(known.map(\.timestamp) == [1_000, 1_004])
        #expect(narrowDecoder.skippedUnknown == 3)
    }

    /// Logs written before version 2 stay readable: a version 1 segment holding a version 1
    /// (varint) block reads back event for event, next to a version 2 segment.
    @Test func versionOneSegmentsAndBlocksStillRead() throws {
        let dir = TempDir("v1-compat")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("src"), withIntermediateDirectories: true)
        // Version 1 block: three queue samples, depth 300/5/70000 (varints of 2, 1 and 3 bytes).
        var v1: [UInt8] = [LogFormat.blockVersionVarints]
        Self.varint(3, &v1); Self.varint(1, &v1); Self.varint(5_000, &v1)
        Self.varint(1, &v1); Self.varint(1, &v1); v1.append(UInt8(ascii: "q"))
        let streams: [(UInt64, [UInt64])] = [
            (0, [Self.queue, Self.queue, Self.queue]), (1, [0, 20, 20]),
            (Self.queue << 4, [0, 0, 0]), (Self.queue << 4 | 1, [300, 5, 70_000]), (Self.queue << 4 | 2, [9, 9, 9]),
        ]
        Self.varint(UInt64(streams.count), &v1)
        for (key, values) in streams {
            var body: [UInt8] = []
            for v in values { Self.varint(v, &body) }
            Self.varint(key, &v1); Self.varint(UInt64(body.count), &v1); v1 += body
        }
        var old = HostileSegment(number: 1, firstSeq: 1)
        var header = SegmentHeader(writerID: 7, segmentNumber: 1, firstSeq: 1, createdNs: 1_700_000_000_000_000_000)
        header.version = 1
        old.bytes = header.encoded()
        old.appendFrame(payload: try HostileSegment.deflate(v1), rawLength: v1.count, eventCount: 3, firstSeq: 1)
        try old.write(to: dir.sub("src/0000000000000001.olog"))
        var new = HostileSegment(number: 2, firstSeq: 4)
        try new.appendGood(firstSeq: 4, count: 2)
        try new.write(to: dir.sub("src/0000000000000002.olog"))

        var problems: [LogProblem] = []
        let records = try readAll(dir.sub("src"), problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        #expect(records.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(records.prefix(3).map { $0.text(of: "depth") } == ["300", "5", "70000"])
        #expect(records.prefix(3).map(\.timestamp) == [5_000, 5_010, 5_020])
        #expect(records.dropFirst(3).map { $0.text(of: "depth") } == ["0", "1"])
    }
}
