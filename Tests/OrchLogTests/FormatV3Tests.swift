import COrchZlib
import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// Log format version 3 (docs/log-format.md): type codes 1…65535, field stream key
/// 64 × type + field (keys 2…63 reserved), written by today's writer; version 1 and 2 still
/// read; types and fields this build does not know skipped and counted.
@Suite struct FormatV3Tests {
    static func decode(_ block: [UInt8]) throws -> (events: [RawEvent], columns: BlockColumns) {
        var decoder = BlockDecoder()
        var events: [RawEvent] = []
        try block.withUnsafeBytes { try decoder.decode($0, context: "test", into: &events) }
        return (events, decoder.columns)
    }

    /// The stream keys of an inflated version 3 block, in order.
    static func streamKeys(_ block: [UInt8]) throws -> [UInt64] {
        try block.withUnsafeBytes { p in
            var r = ByteReader(p, context: "test")
            #expect(try r.byte() == 3)
            _ = try r.varint(); _ = try r.varint(); _ = try r.varint()
            for _ in 0..<(try r.varint()) { try r.skip(Int(try r.varint())) }
            var keys: [UInt64] = []
            for _ in 0..<(try r.varint()) {
                // Each key is stored as its difference from the previous one.
                keys.append((keys.last ?? 0) + (try r.varint()))
                try r.skip(Int(try r.varint()))
            }
            return keys
        }
    }

    /// The inflated blocks of the segment at `path` (its bytes), in order.
    static func rawBlocks(_ path: String, _ bytes: [UInt8]) throws -> [[UInt8]] {
        try segmentFrames(path).map { offset, h in
            let start = Int(offset) + LogFormat.frameHeaderSize
            var out = [UInt8](repeating: 0, count: Int(h.rawLength))
            var length = uLong(h.rawLength)
            let rc = Array(bytes[start..<start + Int(h.payloadLength)]).withUnsafeBufferPointer {
                uncompress(&out, &length, $0.baseAddress, uLong($0.count))
            }
            #expect(rc == Z_OK && length == uLong(h.rawLength))
            return out
        }
    }

    @Test func theWriterWritesVersionThreeSegmentsAndBlocksWithSixtyFourFieldKeysPerType() throws {
        let dir = TempDir("v3-writer")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        let tool = log.label("crm")
        log.emit(.toolCall(tool: tool, outcome: .timeout, latencyNs: 30_000_000_000, fallbackUsed: true), at: 5)
        log.emit(.queueSample(queue: tool, depth: 3, capacity: 9), at: 6)
        log.close()
        let path = try LogDirectory.segments(in: dir.sub("src"))[0].path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let header = try bytes.withUnsafeBytes { try SegmentHeader.decode($0, path: path) }
        #expect(header.version == 3)
        let raw = try Self.rawBlocks(path, bytes)
        #expect(raw.count == 1)
        let q = UInt64(EventType.queueSample.rawValue), t = UInt64(EventType.toolCall.rawValue)
        #expect(try Self.streamKeys(raw[0]) == [0, 1] + (0..<5).map { 64 * q + $0 } + (0..<6).map { 64 * t + $0 })
        // The block is exactly what the format's description gives for these events.
        let expected = HandBuiltSegment.block(version: 3, firstSeq: 1, strings: ["crm", ""], rows: [
            HandBuiltRow(type: Int(t), timestamp: 5, fields: [0, 2, 30_000_000_000, 1, 0, 1]),
            HandBuiltRow(type: Int(q), timestamp: 6, fields: [0, 3, 9, 0, 0]),
        ])
        #expect(raw[0] == expected)
    }

    @Test func typesAndFieldsFromANewerWriterAreSkippedAndCounted() throws {
        let b = FutureLog.blocks[0]
        let (events, columns) = try Self.decode(HandBuiltSegment.block(firstSeq: 1, strings: b.strings, rows: b.rows))
        #expect(events.map(\.seq) == [1, 3, 4, 6])
        #expect(events.map(\.type) == [.toolCall, .queueSample, .toolCall, .invocationFinished])
        #expect(events.map(\.timestamp) == [FutureLog.t0, FutureLog.t0 + 20, FutureLog.t0 + 30, FutureLog.t0 + 50])
        #expect(columns.skippedUnknown == 2)
        #expect(columns.unknownFieldEvents == 2, "both tool_calls carry field 20")
        #expect(columns.unknownFieldStreams == 1)
        #expect(columns.knownCount == 4)
        // Every known field reads as written; field 20 is nowhere.
        let tools = events.filter { $0.type == .toolCall }
        #expect(tools.map(\.l0) == [0, 1])
        #expect(tools.map(\.n0) == [0, 2])
        #expect(tools.map(\.n1) == [1_500, 30_000_000_000])
        #expect(tools.map(\.n2) == [0, 1])
        // Fields the block has no stream for: numbers 0, labels "" (appended to the strings).
        #expect(tools.allSatisfy { $0.n3 == 0 && $0.n4 == 0 && $0.n5 == 0 && $0.n6 == 0 && Int($0.l1) == b.strings.count })
        #expect(columns.strings.count == b.strings.count + 1 && columns.strings.last == "")
        #expect(events[1].l0 == 3 && events[1].n0 == 70_000 && events[1].n1 == 100_000)
        #expect(events[3].n0 == 9, "an enumeration code is delivered as stored")

        let b2 = FutureLog.blocks[1]
        let (later, columns2) = try Self.decode(HandBuiltSegment.block(firstSeq: 7, strings: b2.strings, rows: b2.rows))
        #expect(later.map(\.seq) == [7, 10])
        #expect(later.map(\.type) == [.keyRotation, .llmRequest])
        #expect([later[0].l0, later[0].l1, later[0].l2, later[0].l3] == [0, 2, 3, 4])
        #expect([later[1].n1, later[1].n2, later[1].n3] == [10, 20, 300])
        #expect(columns2.skippedUnknown == 2, "type 65535 and a type 300 event without fields")
        #expect(columns2.unknownFieldEvents == 1)
        #expect(columns2.unknownFieldStreams == 1)
    }

    @Test func theFutureLogReadsThroughTheSourceReader() throws {
        let dir = TempDir("future")
        defer { dir.remove() }
        try FutureLog.write(to: dir.sub("src"))
        var problems: [LogProblem] = []
        let records = try readAll(dir.sub("src"), problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        #expect(records.map(\.seq) == FutureLog.knownSeqs)
        #expect(records.map(\.type) == [.toolCall, .queueSample, .toolCall, .invocationFinished, .keyRotation, .llmRequest])
        #expect(records.map { $0.text(of: "tool") ?? "-" } == ["crm", "-", "search", "-", "-", "-"])
        #expect(records[0].text(of: "latency_ns") == "1500")
        #expect(records[2].text(of: "latency_ns") == "30000000000")
        #expect(records[2].text(of: "fallback") == "true")
        #expect(records[1].labels == ["日本"])
        #expect(records[3].text(of: "outcome") == "unknown")
        #expect(records[3].text(of: "queue") == "日本")
        #expect(records[4].labels == ["openai", "k1", "k2", "rate_limited"])
        #expect(records[5].labels == ["openai", "gpt", "k1"], "the fields its writer wrote")
    }

    /// Reserved keys (2…63) and streams of types past every known code are skipped, however
    /// malformed; a v3 block keeps the rules of v2 for everything it decodes.
    @Test func reservedKeysAndStreamsOfUnknownTypesAreSkipped() throws {
        let q = UInt64(EventType.queueSample.rawValue)
        let block = BlockPlanesTests.block(count: 2, streams: [
            (0, BlockPlanesTests.planes([q, 40_000])), (1, BlockPlanesTests.planes([0, 1])),
            (2, [0xFF]), (63, [1, 2, 3]),
            (64 * q, BlockPlanesTests.planes([0])), (64 * q + 1, BlockPlanesTests.planes([300])), (64 * q + 2, BlockPlanesTests.planes([5])),
            (64 * 40_000 + 7, [9, 9]),
        ], version: 3)
        let (events, columns) = try Self.decode(block)
        #expect(events.count == 1)
        #expect(events[0].n0 == 300 && events[0].n1 == 5)
        #expect(columns.skippedUnknown == 1)
        #expect(columns.unknownFieldEvents == 0, "a reserved key belongs to no event")

        // A key difference of 0 (a key twice) is corruption, and so is a key past 2^64: the
        // differences written as they are (the version 2 builder), read as version 3.
        for differences: [UInt64] in [[0, 1, 0], [0, 1, UInt64.max]] {
            var raw = BlockPlanesTests.block(count: 1, streams: [
                (differences[0], BlockPlanesTests.planes([q])), (differences[1], BlockPlanesTests.planes([0])), (differences[2], [1, 0]),
            ])
            raw[0] = 3
            #expect(throws: OrchLogError.self, "\(differences)") { _ = try Self.decode(raw) }
        }
        // A known field stream of the wrong length is still corruption in version 3.
        let bad = BlockPlanesTests.block(count: 1, streams: [
            (0, BlockPlanesTests.planes([q])), (1, BlockPlanesTests.planes([0])),
            (64 * q + 1, BlockPlanesTests.planes([1, 2])),
        ], version: 3)
        #expect(throws: OrchLogError.self) { _ = try Self.decode(bad) }
    }

    /// In a version 2 block key 16 × type + field still means what it meant: the same events
    /// hand-built as version 1, 2 and 3 blocks decode alike.
    @Test func versionOneTwoAndThreeBlocksOfTheSameEventsDecodeAlike() throws {
        let b = FutureLog.blocks[1]
        // Version 1 and 2 have no room for field 63 or type 65535: leave them out.
        let rows = b.rows.filter { $0.type < 16 }.map { HandBuiltRow(type: $0.type, timestamp: $0.timestamp, fields: $0.fields) }
        var decoded: [[RawEvent]] = []
        for version: UInt8 in [1, 2, 3] {
            decoded.append(try Self.decode(HandBuiltSegment.block(version: version, firstSeq: 7, strings: b.strings, rows: rows)).events)
        }
        #expect(decoded[0].count == 2)
        #expect(decoded[0] == decoded[1] && decoded[1] == decoded[2])
    }

    @Test func theLimitsAreWhatTheFormatPromises() {
        #expect(LogFormat.maxTypeCode == 65_535)
        #expect(LogFormat.fieldsPerType == 64)
        #expect(LogFormat.fieldStreamKey(type: 300, field: 20) == 19_220)
        #expect(LogFormat.reservedStreamKeys == 2..<64)
        // The reader's tables follow the highest known code, not the format's limit.
        let highest = EventType.allCases.map { Int($0.rawValue) }.max()!
        #expect(EventSchema.codeLimit == highest + 1)
        #expect(BlockDecoder.streamTableSize == LogFormat.fieldsPerType * (highest + 1))
    }

    /// The block decoder's fuzz seeds of version 3 are the future log's blocks, byte for byte.
    @Test func theVersionThreeFuzzSeedsAreTheFutureLogsBlocks() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/corpus/fuzz-block-decoder").path
        var seq: UInt64 = 1
        for (b, name) in zip(FutureLog.blocks, ["v3-future-types-and-fields.bin", "v3-future-max-type-and-field.bin"]) {
            let seed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus + "/" + name)))
            #expect(seed == HandBuiltSegment.block(firstSeq: seq, strings: b.strings, rows: b.rows), "\(name)")
            seq += UInt64(b.rows.count)
        }
    }
}
