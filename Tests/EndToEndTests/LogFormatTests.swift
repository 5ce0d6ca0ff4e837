import Foundation
import OrchLog
import OrchTestSupport
import Testing

/// The built tools on logs of other format versions: the golden segments earlier writers left
/// (Tests/Fixtures/golden) print exactly what those builds printed, and a log from a newer
/// writer (`FutureLog`: unknown types, unknown fields, an unknown enumeration code) prints
/// and aggregates what this build knows of it, and counts the rest.
@Suite struct LogFormatTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden").path

    @Test(arguments: ["v2", "v3"])
    func goldenSegmentsTailExactlyAsTheirWritersBuildDid(_ version: String) throws {
        let dir = Self.golden + "/" + version
        let json = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout == (try String(contentsOfFile: dir + "/tail.ndjson", encoding: .utf8)))
        let text = try runTool("orchlog", ["tail", "--from-start", dir])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout == (try String(contentsOfFile: dir + "/tail.txt", encoding: .utf8)))
        #expect(json.stderr.isEmpty && text.stderr.isEmpty)
    }

    static let futureTail = """
    {"seq":1,"ts":"2025-11-24T16:00:00.000000000Z","source":"future","type":"tool_call","tool":"crm","outcome":"success","latency_ns":1500,"fallback":false}
    {"seq":3,"ts":"2025-11-24T16:00:00.000000020Z","source":"future","type":"queue_sample","queue":"日本","depth":70000,"capacity":100000}
    {"seq":4,"ts":"2025-11-24T16:00:00.000000030Z","source":"future","type":"tool_call","tool":"search","outcome":"timeout","latency_ns":30000000000,"fallback":true}
    {"seq":6,"ts":"2025-11-24T16:00:00.000000050Z","source":"future","type":"invocation_finished","agent":"crm","outcome":"unknown","duration_ns":5,"queue_wait_ns":6,"invocation_id":42,"queue":"日本"}
    {"seq":7,"ts":"2025-11-24T16:00:00.000001000Z","source":"future","type":"key_rotation","provider":"openai","from":"k1","to":"k2","reason":"rate_limited"}
    {"seq":10,"ts":"2025-11-24T16:00:00.000001030Z","source":"future","type":"llm_request","provider":"openai","model":"gpt","key":"k1","outcome":"success","input_tokens":10,"output_tokens":20,"latency_ns":300,"ratelimit_wait_ns":0}

    """

    @Test func aLogFromANewerWriterTailsWhatThisBuildKnows() throws {
        let dir = TempDir("future-tail")
        defer { dir.remove() }
        try FutureLog.write(to: dir.sub("root/future"))
        let json = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout == Self.futureTail)
        let text = try runTool("orchlog", ["tail", "--from-start", dir.sub("root")])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == FutureLog.knownSeqs.count)
        #expect(lines[3].hasSuffix("invocation_finished agent=crm outcome=unknown duration=5ns queue_wait=6ns invocation_id=42 queue=日本"), "\(lines[3])")
        // The unknown code is one value: `--where outcome=unknown` selects it.
        let unknown = try runTool("orchlog", ["tail", "--from-start", "-o", "json", "--where", "outcome=unknown", dir.sub("root")])
        #expect(unknown.status == 0, "\(unknown.stderr)")
        #expect(unknown.stdout.split(separator: "\n").map { String($0) } == [Self.futureTail.split(separator: "\n").map { String($0) }[3]])
    }

    @Test func theCollectorCountsTheEventsItDoesNotFullyKnow() throws {
        let dir = TempDir("future-collector")
        defer { dir.remove() }
        try FutureLog.write(to: dir.sub("root/future"))
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")])
        #expect(r.status == 0, "\(r.stderr)")
        let m = parseExposition(r.stdout)
        #expect(m["orchlog_collector_unknown_events_total{source=\"future\",reason=\"type\"}"] == Double(FutureLog.unknownTypeEvents))
        #expect(m["orchlog_collector_unknown_events_total{source=\"future\",reason=\"field\"}"] == Double(FutureLog.unknownFieldEvents))
        #expect(m["orchlog_collector_events_ingested_total{source=\"future\"}"] == Double(FutureLog.knownSeqs.count))
        // The known events are aggregated, fields and all.
        #expect(m["orch_tool_calls_total{source=\"future\",tool=\"crm\",outcome=\"success\"}"] == 1)
        #expect(m["orch_tool_calls_total{source=\"future\",tool=\"search\",outcome=\"timeout\"}"] == 1)
        #expect(m["orch_queue_depth{source=\"future\",queue=\"日本\"}"] == 70_000)

        // A log this build knows entirely counts nothing there.
        let known = try runTool("orchlog-collector", ["--once", "--log.dir", Self.golden + "/v2"])
        #expect(known.status == 0, "\(known.stderr)")
        let k = parseExposition(known.stdout)
        #expect(k["orchlog_collector_unknown_events_total{source=\"golden\",reason=\"type\"}"] == 0)
        #expect(k["orchlog_collector_unknown_events_total{source=\"golden\",reason=\"field\"}"] == 0)
        #expect(k["orchlog_collector_events_ingested_total{source=\"golden\"}"] == 133)
    }

    /// docs/log-format.md's type table is `orchlog schema --log-format`, byte for byte.
    @Test func theLogFormatDocsTypeTableIsTheSchemaCommandsOutput() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let doc = try String(contentsOfFile: repo + "/docs/log-format.md", encoding: .utf8)
        let begin = "<!-- generated by `orchlog schema --log-format`: do not edit by hand -->\n"
        let end = "<!-- end of generated section -->\n"
        let start = try #require(doc.range(of: begin))
        let stop = try #require(doc.range(of: end, range: start.upperBound..<doc.endIndex))
        let generated = try runTool("orchlog", ["schema", "--log-format"])
        #expect(generated.status == 0)
        #expect(String(doc[start.upperBound..<stop.lowerBound]) == generated.stdout, "regenerate: orchlog schema --log-format")
        for type in EventType.allCases {
            let schema = EventSchema.of(type)
            #expect(generated.stdout.contains("| \(type.rawValue) | `\(schema.name)` | " + schema.fields.map(\.name).first! + " ("))
        }
        let both = try runTool("orchlog", ["schema", "--log-format", "--markdown"])
        #expect(both.status == 2)
    }
}
