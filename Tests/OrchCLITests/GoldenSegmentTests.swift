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

    /// The events of `file` as the parser makes them, numbered from 1, source "golden", and
    /// each one's `trace_id` as the line gives it ("" when it has none): taken out of the line
    /// before parsing, since the label form of format v3 stored strings (uppercase, malformed,
    /// all zeros) that the parser now rejects.
    static func expected(_ file: String = "events.ndjson") throws -> [(record: EventRecord, trace: String)] {
        let text = try String(contentsOfFile: golden + "/" + file, encoding: .utf8)
        let parser = NDJSONEventParser(now: { 0 })
        var records: [(EventRecord, String)] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            var trace = ""
            var rest = String(line)
            if let match = rest.firstMatch(of: /,"trace_id":"([^"]*)"/) {
                trace = String(match.1)
                rest.removeSubrange(match.range)
            }
            var record = try parser.parse(Array(rest.utf8)[...]).record
            record.seq = UInt64(records.count + 1)
            record.source = "golden"
            records.append((record, trace))
        }
        return records
    }

    @Test(arguments: ["v2", "v3"])
    func goldenSegmentsReadEventForEvent(_ version: String) throws {
        let withTraces = try Self.expected(version == "v2" ? "events.ndjson" : "events-v3.ndjson")
        let expected = withTraces.map(\.record)
        #expect(expected.count == 133)
        // Every type the golden segment's writer knew (llm_provider_limits came after v2).
        #expect(Set(expected.map(\.type)) == Set(EventType.allCases).subtracting([.llmProviderLimits]), "every type is in the fixture")
        var problems: [LogProblem] = []
        let records = try SourceReader.readAll(Self.golden + "/" + version) { problems.append($0) }
        #expect(problems.isEmpty, "\(problems)")
        #expect(records.count == expected.count)
        for (got, (want, trace)) in zip(records, withTraces) {
            // The record holds the fields the old writer wrote; the fields appended since are
            // not in it, and read as the NDJSON parser's defaults.
            #expect(got.type == want.type && got.seq == want.seq && got.timestamp == want.timestamp && got.source == want.source, "seq \(want.seq)")
            let notTrace = { (f: FieldSpec) in f.kind != .traceID }
            #expect(got.schema.fields.filter(notTrace).map { got.text(of: $0) } == want.schema.fields.filter(notTrace).map { want.text(of: $0) }, "seq \(want.seq)")
            if got.type == .invocationStarted {
                // The label form's string exactly as written; a W3C id also as its value.
                #expect(got.text(of: "trace_id") == trace, "seq \(want.seq)")
                #expect(got.traceID(of: "trace_id") == TraceID(trace) ?? TraceID.none, "seq \(want.seq)")
                #expect(version == "v2" || got.carriedFields.map(\.name) == ["agent", "invocation_id", "trace_id"], "seq \(want.seq)")
            }
            if version == "v2" {
                #expect(got.carriedFields.count < got.schema.fields.count || [EventType.invocationFinished, .queueRejection, .workerPoolSample, .memoryFlush,
                                                                              .breakerTransition, .rateLimiterSample, .keyRotation, .eventsDropped].contains(got.type),
                        "seq \(want.seq): the old writer's block lacks the new fields")
            }
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
