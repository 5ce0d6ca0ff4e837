import Foundation
import OrchLog
import Testing
@testable import OrchCLI

/// The golden segments (Tests/Fixtures/golden): logs written by earlier writers, committed,
/// read by this build event for event. The expected events are their NDJSON input
/// (events.ndjson), parsed — the writer numbered them 1, 2, 3, … in that order.
@Suite struct GoldenSegmentTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden").path

    /// The events of events.ndjson as the parser makes them, numbered from 1, source "golden".
    static func expected() throws -> [EventRecord] {
        let text = try String(contentsOfFile: golden + "/events.ndjson", encoding: .utf8)
        let parser = NDJSONEventParser(now: { 0 })
        var records: [EventRecord] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            var record = try parser.parse(Array(line.utf8)[...]).record
            record.seq = UInt64(records.count + 1)
            record.source = "golden"
            records.append(record)
        }
        return records
    }

    @Test(arguments: ["v2"])
    func goldenSegmentsReadEventForEvent(_ version: String) throws {
        let expected = try Self.expected()
        #expect(expected.count == 133)
        // Every type the golden segment's writer knew (llm_provider_limits came after v2).
        #expect(Set(expected.map(\.type)) == Set(EventType.allCases).subtracting([.llmProviderLimits]), "every type is in the fixture")
        var problems: [LogProblem] = []
        let records = try SourceReader.readAll(Self.golden + "/" + version) { problems.append($0) }
        #expect(problems.isEmpty, "\(problems)")
        #expect(records.count == expected.count)
        for (got, want) in zip(records, expected) {
            // The record holds the fields the old writer wrote; the fields appended since are
            // not in it, and read as the NDJSON parser's defaults.
            #expect(got.type == want.type && got.seq == want.seq && got.timestamp == want.timestamp && got.source == want.source, "seq \(want.seq)")
            #expect(got.schema.fields.map { got.text(of: $0) } == want.schema.fields.map { want.text(of: $0) }, "seq \(want.seq)")
            #expect(got.carriedFields.count < got.schema.fields.count || [EventType.invocationFinished, .queueRejection, .workerPoolSample, .memoryFlush,
                                                                          .breakerTransition, .rateLimiterSample, .keyRotation, .eventsDropped].contains(got.type),
                    "seq \(want.seq): the old writer's block lacks the new fields")
        }
        // The segment really is of that version, and holds several blocks.
        let segment = Self.golden + "/" + version + "/golden/0000000000000001.olog"
        let reader = try SegmentReader(path: segment)
        #expect("v\(reader.header.version)" == version)
        var offset = SegmentReader.firstFrameOffset
        var frames = 0
        while case let .frame(h, at) = try reader.readFrame(at: offset) {
            frames += 1
            offset = at + Int64(h.frameLength)
        }
        #expect(frames == 3)
    }
}
