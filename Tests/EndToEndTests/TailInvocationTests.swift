import Foundation
import OrchTestSupport
import Testing

/// `orchlog tail --invocation ID PATH…`, the drill-down from an exemplar: every event of one
/// invocation, from every source under the paths, in order; nothing of any other invocation.
@Suite struct TailInvocationTests {
    /// Two sources of one deployment: the orchestrator (start, tool call, finish) and an LLM
    /// gateway that logs the same invocations' LLM requests. Invocations 41 and 42 overlap in
    /// time; 42's events alternate between the two sources.
    static func writeSources(_ dir: TempDir) throws {
        func ts(_ second: Int) -> String { String(format: "2026-01-01T00:00:%02dZ", second) }
        let orchestrator = [
            #"{"type":"invocation_started","ts":"\#(ts(1))","agent":"support","invocation_id":42,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#,
            #"{"type":"invocation_started","ts":"\#(ts(2))","agent":"billing","invocation_id":41}"#,
            #"{"type":"tool_call","ts":"\#(ts(4))","tool":"crm","outcome":"success","latency_ns":700000000,"invocation_id":42}"#,
            #"{"type":"tool_call","ts":"\#(ts(5))","tool":"billing","outcome":"error","latency_ns":900000000,"invocation_id":41}"#,
            #"{"type":"invocation_finished","ts":"\#(ts(8))","agent":"support","outcome":"success","duration_ns":7000000000,"invocation_id":42}"#,
            #"{"type":"invocation_finished","ts":"\#(ts(9))","agent":"billing","outcome":"failure","duration_ns":7000000000,"invocation_id":41}"#,
        ]
        let gateway = [
            #"{"type":"llm_request","ts":"\#(ts(3))","provider":"openai","model":"gpt-4o","outcome":"success","input_tokens":900,"output_tokens":80,"latency_ns":1000000000,"invocation_id":42,"agent":"support"}"#,
            #"{"type":"llm_request","ts":"\#(ts(3))","provider":"openai","model":"gpt-4o","outcome":"success","input_tokens":500,"output_tokens":50,"latency_ns":1000000000,"invocation_id":41,"agent":"billing"}"#,
            #"{"type":"llm_request","ts":"\#(ts(6))","provider":"openai","model":"gpt-4o","outcome":"rate_limited","input_tokens":0,"output_tokens":0,"latency_ns":50000000,"invocation_id":42,"agent":"support","origin":"provider"}"#,
            #"{"type":"llm_request","ts":"\#(ts(7))","provider":"openai","model":"gpt-4o","outcome":"success","input_tokens":1600,"output_tokens":340,"latency_ns":1000000000,"invocation_id":42,"agent":"support"}"#,
            #"{"type":"llm_request","ts":"\#(ts(7))","provider":"openai","model":"gpt-4o","outcome":"success","input_tokens":100,"output_tokens":10,"latency_ns":1000000000}"#,
        ]
        for (name, lines) in [("orchestrator", orchestrator), ("gateway", gateway)] {
            let r = try runTool("orchlog", ["ingest", "--out", dir.sub("root/\(name)")], stdin: lines.joined(separator: "\n") + "\n")
            #expect(r.status == 0, "\(r.stderr)")
        }
    }

    /// Invocation 42's events in the order they happened: (second, source, type).
    static let expected: [(Int, String, String)] = [
        (1, "orchestrator", "invocation_started"), (3, "gateway", "llm_request"), (4, "orchestrator", "tool_call"),
        (6, "gateway", "llm_request"), (7, "gateway", "llm_request"), (8, "orchestrator", "invocation_finished"),
    ]

    @Test func printsOneInvocationsEventsAcrossSourcesInOrderAsJSON() throws {
        let dir = TempDir("tail-invocation-json")
        defer { dir.remove() }
        try Self.writeSources(dir)
        let r = try runTool("orchlog", ["tail", "--invocation", "42", "-o", "json", dir.sub("root")])
        #expect(r.status == 0, "\(r.stderr)")
        let events = try r.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(events.count == Self.expected.count, "\(r.stdout)")
        for (event, (second, source, type)) in zip(events, Self.expected) {
            #expect(event["ts"] as? String == String(format: "2026-01-01T00:00:%02d.000000000Z", second), "\(event)")
            #expect(event["source"] as? String == source && event["type"] as? String == type, "\(event)")
            #expect((event["invocation_id"] as? NSNumber)?.intValue == 42, "only invocation 42: \(event)")
        }
        #expect(events.first?["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        // Invocation 41, interleaved with it in both sources, is its own drill-down.
        let other = try runTool("orchlog", ["tail", "--invocation", "41", "-o", "json", dir.sub("root/orchestrator"), dir.sub("root/gateway")])
        #expect(other.status == 0, "\(other.stderr)")
        let types = other.stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["type"] as? String }
        #expect(types == ["invocation_started", "llm_request", "tool_call", "invocation_finished"], "\(other.stdout)")
    }

    @Test func printsOneInvocationsEventsAsTextAndNothingElse() throws {
        let dir = TempDir("tail-invocation-text")
        defer { dir.remove() }
        try Self.writeSources(dir)
        let r = try runTool("orchlog", ["tail", "--invocation", "42", dir.sub("root")])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == Self.expected.count, "\(r.stdout)")
        for (line, (second, source, type)) in zip(lines, Self.expected) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            #expect(fields.count >= 3 && fields[0] == String(format: "2026-01-01T00:00:%02d.000000Z", second) && fields[1] == source && fields[2] == type,
                    "\(line)")
            #expect(line.contains("invocation_id=42"), "\(line)")
        }
        #expect(!r.stdout.contains("billing") && !r.stdout.contains("invocation_id=41"), "no event of invocation 41:\n\(r.stdout)")
    }

    @Test func anInvocationWithNoEventExitsOneAndSaysSo() throws {
        let dir = TempDir("tail-invocation-none")
        defer { dir.remove() }
        try Self.writeSources(dir)
        for output in ["text", "json"] {
            let r = try runTool("orchlog", ["tail", "--invocation", "43", "-o", output, dir.sub("root")])
            #expect(r.status == 1, "\(output): \(r.stdout) \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("no event of invocation 43") && r.stderr.contains(dir.sub("root")), "\(r.stderr)")
        }
        let usage = try runTool("orchlog", ["tail", "--invocation", "x42", dir.sub("root")])
        #expect(usage.status == 2 && usage.stderr.contains("--invocation x42"), "\(usage.stderr)")
    }
}
