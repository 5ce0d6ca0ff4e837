import Foundation
import OrchTestSupport
import Testing

/// The drill-down a runbook describes, end to end: events with known invocation ids and a
/// trace id go in through `orchlog ingest`, a real Prometheus with exemplar storage scrapes
/// the collector (OpenMetrics), `/api/v1/query_exemplars` names the invocation behind each
/// latency bucket, and `orchlog tail --invocation ID` prints that invocation's events.
@Suite struct ExemplarScrapeTests {
    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    @Test func prometheusStoresTheExemplarsAndTheyLeadToTheInvocation() throws {
        let dir = TempDir("exemplars")
        defer { dir.remove() }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let start = Date().addingTimeInterval(-60)
        func ts(_ k: Int) -> String { formatter.string(from: start.addingTimeInterval(Double(k) * 1.5)) }
        let events = [
            #"{"type":"invocation_started","ts":"\#(ts(0))","agent":"triage","invocation_id":77,"trace_id":"\#(Self.trace)"}"#,
            #"{"type":"tool_call","ts":"\#(ts(1))","tool":"crm","outcome":"success","latency_ns":300000000,"invocation_id":77,"agent":"triage"}"#,
            #"{"type":"llm_request","ts":"\#(ts(2))","provider":"openai","model":"gpt-4o","outcome":"success","input_tokens":10,"output_tokens":5,"latency_ns":2000000000,"invocation_id":77,"agent":"triage"}"#,
            #"{"type":"tool_call","ts":"\#(ts(3))","tool":"crm","outcome":"timeout","latency_ns":7000000000,"invocation_id":78,"agent":"triage"}"#,
            #"{"type":"invocation_finished","ts":"\#(ts(4))","agent":"triage","outcome":"success","duration_ns":45000000000,"queue_wait_ns":0,"invocation_id":77}"#,
        ]
        let ingest = try runTool("orchlog", ["ingest", "--out", dir.sub("root/app")], stdin: events.joined(separator: "\n") + "\n")
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let (collector, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        defer { collector.stop() }
        let prometheus = try PrometheusServer(targets: ["127.0.0.1:\(port)"], dir: dir, arguments: ["--enable-feature=exemplar-storage"])
        defer { prometheus.stop() }

        /// Per `le`, the exemplars Prometheus holds for the family's buckets (those of source app).
        func byBucket(_ family: String) -> [String: [[String: Any]]] {
            let series = (try? prometheus.exemplars("\(family)_bucket{source=\"app\"}")) ?? []
            return Dictionary(series.map { ($0.series["le"] ?? "", $0.exemplars) }, uniquingKeysWith: +)
        }
        var tool: [String: [[String: Any]]] = [:]
        Daemon.waitUntil(timeout: 30) {
            tool = byBucket("orch_tool_call_duration_seconds")
            return tool.count == 2
        }
        #expect(Set(tool.keys) == ["0.5", "10.0"], "exactly the buckets the two calls fell into: \(tool)")
        func check(_ exemplar: [String: Any]?, id: String, trace: String?, value: Double, at k: Int, _ what: String) {
            let labels = exemplar?["labels"] as? [String: String]
            #expect(labels?["invocation_id"] == id, "\(what): \(String(describing: exemplar))")
            #expect(labels?["trace_id"] == trace, "\(what): \(String(describing: exemplar))")
            #expect((exemplar?["value"] as? String).flatMap(Double.init) == value, "\(what): \(String(describing: exemplar))")
            // The event's time, to the millisecond.
            let expected = (start.addingTimeInterval(Double(k) * 1.5).timeIntervalSince1970 * 1000).rounded(.down) / 1000
            #expect(((exemplar?["timestamp"] as? Double ?? 0) - expected).magnitude < 0.0011, "\(what): \(String(describing: exemplar))")
        }
        check(tool["0.5"]?.last, id: "77", trace: Self.trace, value: Double(300_000_000) * 1e-9, at: 1, "tool call of 77")
        check(tool["10.0"]?.last, id: "78", trace: nil, value: Double(7_000_000_000) * 1e-9, at: 3, "tool call of 78 (never started: no trace id)")
        var duration: [String: [[String: Any]]] = [:], llm: [String: [[String: Any]]] = [:]
        Daemon.waitUntil(timeout: 30) {
            duration = byBucket("orch_invocation_duration_seconds")
            llm = byBucket("gen_ai_client_operation_duration_seconds")
            return !duration.isEmpty && !llm.isEmpty
        }
        #expect(Set(duration.keys) == ["60.0"] && Set(llm.keys) == ["2.56"], "\(duration) \(llm)")
        check(duration["60.0"]?.last, id: "77", trace: Self.trace, value: 45, at: 4, "invocation 77")
        check(llm["2.56"]?.last, id: "77", trace: Self.trace, value: 2, at: 2, "llm request of 77")

        // The runbook's next step: the invocation's events, from the exemplar's invocation_id.
        let id = try #require((tool["0.5"]?.last?["labels"] as? [String: String])?["invocation_id"])
        let tail = try runTool("orchlog", ["tail", "--invocation", id, dir.sub("root/app")])
        #expect(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4 && lines.allSatisfy { $0.contains("invocation_id=77") }, "\(tail.stdout)")
        #expect(lines.first?.contains("invocation_started") == true && lines.first?.contains("trace_id=\(Self.trace)") == true, "\(tail.stdout)")
    }
}
