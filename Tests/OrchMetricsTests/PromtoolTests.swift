import Foundation
import OrchMetrics
import Testing

@Suite struct PromtoolTests {
    /// A registry shaped like the collector's output: counters, gauges,
    /// histograms, tricky label values, NaN, a family without series and an
    /// overflow series.
    private func realisticRegistry() throws -> MetricRegistry {
        let registry = MetricRegistry(seriesLimitPerFamily: 3)
        let calls = try registry.registerCounter(name: "orch_tool_calls_total", help: "Tool calls by tool and outcome.", labelNames: ["source", "tool", "outcome"])
        let duration = try registry.registerHistogram(name: "orch_tool_call_duration_seconds", help: "Tool call latency in seconds.", labelNames: ["source", "tool"], unit: "seconds")
        let depth = try registry.registerGauge(name: "orch_queue_depth", help: "Items waiting in the queue.", labelNames: ["source", "queue"])
        try registry.registerCounter(name: "orch_state_lost_updates_total", help: "Committed writes that overwrote a write they had not seen.", labelNames: ["source", "shard"])
        let tokens = try registry.registerHistogram(name: "gen_ai_client_token_usage", help: "Tokens used per operation \"by type\".\nSecond line \\ here.", labelNames: ["gen_ai_token_type", "gen_ai_request_model", "gen_ai_provider_name", "gen_ai_operation_name"], buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864])
        let dropped = try registry.registerCounter(name: "orchlog_collector_series_dropped_total", help: "Label sets folded into the overflow series.", labelNames: ["metric"])

        for (tool, outcome) in [("crm", "ok"), ("crm", "error"), ("search \"v2\"", "ok"), ("mail\nbox", "timeout"), ("日本", "ok")] {
            registry.add(try registry.series(calls, labelValues: ["agent-a", tool, outcome]), 3)
        }
        registry.add(try registry.series(calls, labelValues: ["", "back\\slash", "ok"]), 1)
        let d = try registry.series(duration, labelValues: ["agent-a", "crm"])
        for value in [0.003, 0.02, 0.4, 1.7, 12.0] { registry.observe(d, value) }
        _ = try registry.series(duration, labelValues: ["agent-a", "idle"])
        registry.set(try registry.series(depth, labelValues: ["agent-a", "main"]), 17)
        registry.set(try registry.series(depth, labelValues: ["agent-a", "nan"]), .nan)
        registry.set(try registry.series(depth, labelValues: ["agent-a", "inf"]), .infinity)
        let t = try registry.series(tokens, labelValues: ["input", "gpt-x", "openai", "chat"])
        for value in [12.0, 900, 5000] { registry.observe(t, value) }
        registry.set(try registry.series(dropped, labelValues: ["orch_tool_calls_total"]), Double(registry.droppedSeries(calls)))
        return registry
    }

    private func promtoolCheck(_ exposition: [UInt8]) throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("orchmetrics-promtool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("metrics.prom")
        try Data(exposition).write(to: file)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = try FileHandle(forReadingFrom: file)
        defer { try? input.close() }
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func promtoolAcceptsTheTextExpositionWithoutProblems() throws {
        let registry = try realisticRegistry()
        var buffer: [UInt8] = []
        registry.render(format: .prometheusText, into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#"source="__overflow__""#))
        #expect(text.contains("# TYPE orch_state_lost_updates_total counter\n"))

        let result = try promtoolCheck(buffer)
        #expect(result.status == 0, "promtool exited \(result.status): \(result.output)\n--- exposition ---\n\(text)")
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool reported: \(result.output)")
    }

    @Test func promtoolRejectsABrokenExposition() throws {
        // Guards the check above: promtool must actually be parsing our input.
        let result = try promtoolCheck(Array("# TYPE orch_x counter\norch_x{a=\"unterminated} 1\n".utf8))
        #expect(result.status != 0)
    }
}
