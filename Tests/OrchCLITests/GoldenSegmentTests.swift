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
        #expect(Set(expected.map(\.type)) == Set(EventType.allCases), "every type is in the fixture")
        var problems: [LogProblem] = []
        let records = try SourceReader.readAll(Self.golden + "/" + version) { problems.append($0) }
        #expect(problems.isEmpty, "\(problems)")
        #expect(records.count == expected.count)
        for (got, want) in zip(records, expected) {
            #expect(got == want, "seq \(want.seq)")
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
