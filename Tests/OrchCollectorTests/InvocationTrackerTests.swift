import Foundation
import OrchLog
import OrchMetrics
import OrchPricing
import OrchTestSupport
import Testing
@testable import OrchCollector

/// Per-invocation fan-out: calls between an invocation's start and finish are tallied, by
/// invocation id, and observed by agent when it finishes; the tracker is bounded, what it
/// drops is counted, and its open invocations survive a checkpoint.
@Suite struct InvocationTrackerTests {
    static let pricing = PriceTable(prices: ["openai": ["gpt-4o": .init(input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5)]])

    /// Writes `emit`'s events, ingests them into `aggregator` and returns the parsed text exposition.
    static func run(_ aggregator: Aggregator, _ emit: (EventLog) -> Void) throws -> [String: Double] {
        let dir = TempDir("invocations")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        emit(log)
        log.close()
        let source = try aggregator.source("src")
        try SourceReader(source: try #require(try LogDirectory.sources(at: dir.path).first)).pollBlocks { try aggregator.ingest($0, into: source) }
        var out: [UInt8] = []
        aggregator.registry.render(format: .prometheusText, into: &out)
        return parseExposition(String(decoding: out, as: UTF8.self))
    }

    static func aggregator(tracked: Int = 100) throws -> Aggregator {
        let registry = MetricRegistry()
        return Aggregator(registry: registry, catalog: try MetricCatalog(registry: registry), trackedKeys: 100, pricing: pricing, trackedInvocations: tracked)
    }

    static func llm(_ log: EventLog, _ id: UInt64, input: UInt64, output: UInt64, model: String = "gpt-4o", cacheRead: UInt64 = 0) -> Event {
        .llmRequest(provider: log.label("openai"), model: log.label(model), key: log.label("k"), outcome: .success, inputTokens: input, outputTokens: output,
                    latencyNs: 1, rateLimitWaitNs: 0, invocationID: id, agent: log.label("triage"), cacheReadTokens: cacheRead, reasoningTokens: output / 2)
    }

    @Test func callsBetweenStartAndFinishAreObservedByAgent() throws {
        let m = try Self.run(try Self.aggregator()) { log in
            let triage = log.label("triage"), crm = log.label("crm")
            log.emit(.invocationStarted(agent: triage, invocationID: 1))
            log.emit(.invocationStarted(agent: triage, invocationID: 2))
            log.emit(Self.llm(log, 1, input: 1_000, output: 100, cacheRead: 400))
            log.emit(Self.llm(log, 1, input: 500, output: 50))
            log.emit(Self.llm(log, 2, input: 10, output: 10, model: "unpriced-model"))
            log.emit(.toolCall(tool: crm, outcome: .success, latencyNs: 1, fallbackUsed: false, invocationID: 1, agent: triage))
            log.emit(.toolCall(tool: crm, outcome: .success, latencyNs: 1, fallbackUsed: false, invocationID: 2, agent: triage))
            log.emit(.toolCall(tool: crm, outcome: .success, latencyNs: 1, fallbackUsed: false, invocationID: 1, agent: triage))
            log.emit(Self.llm(log, 9, input: 7, output: 7))  // never started: not tallied
            log.emit(.invocationFinished(agent: triage, outcome: .success, durationNs: 1, queueWaitNs: 0, invocationID: 1))
            log.emit(Self.llm(log, 1, input: 7, output: 7))  // after its finish: not tallied
            log.emit(.invocationFinished(agent: log.label("billing"), outcome: .failure, durationNs: 1, queueWaitNs: 0, invocationID: 2))
        }
        let t = "{source=\"src\",agent=\"triage\"}", b = "{source=\"src\",agent=\"billing\"}"
        #expect(m["orch_invocation_llm_calls_count" + t] == 1 && m["orch_invocation_llm_calls_sum" + t] == 2)
        #expect(m["orch_invocation_tool_calls_sum" + t] == 2)
        #expect(m["orch_invocation_llm_calls_sum" + b] == 1 && m["orch_invocation_tool_calls_sum" + b] == 1, "the finishing event's agent")
        func tokens(_ agent: String, _ type: String) -> Double? { m["orch_invocation_tokens_sum{source=\"src\",agent=\"\(agent)\",type=\"\(type)\"}"] }
        #expect(tokens("triage", "input") == 1_500 && tokens("triage", "output") == 150 && tokens("triage", "cache_read") == 400 && tokens("triage", "reasoning") == 75)
        let first: Double = 1_000 * 2.5 / 1e6 + 100 * 10 / 1e6 + 400 * 1.25 / 1e6
        let second: Double = 500 * 2.5 / 1e6 + 50 * 10 / 1e6
        #expect(m["orch_invocation_cost_usd_sum" + t] == first + second)
        #expect(m["orch_invocation_cost_usd_count" + b] == nil || m["orch_invocation_cost_usd_count" + b] == 0, "unpriced tokens: no cost observed")
        #expect(m["orch_invocation_llm_calls_bucket{source=\"src\",agent=\"triage\",le=\"1\"}"] == 0)
        #expect(m["orch_invocation_llm_calls_bucket{source=\"src\",agent=\"triage\",le=\"2\"}"] == 1)
    }

    @Test func aFullTrackerDropsTheOldestGenerationAndCountsIt() throws {
        let a = try Self.aggregator(tracked: 4)
        let m = try Self.run(a) { log in
            let agent = log.label("triage")
            // Capacity 4: generations of 2. Starting 1…5 drops 1 and 2 when 5 arrives.
            for id in 1...5 as ClosedRange<UInt64> { log.emit(.invocationStarted(agent: agent, invocationID: id)) }
            for id in 1...5 as ClosedRange<UInt64> {
                log.emit(Self.llm(log, id, input: 1, output: 1))
                log.emit(.invocationFinished(agent: agent, outcome: .success, durationNs: 1, queueWaitNs: 0, invocationID: id))
            }
        }
        #expect(m["orchlog_collector_invocations_untracked_total{source=\"src\"}"] == 2)
        #expect(m["orch_invocation_llm_calls_count{source=\"src\",agent=\"triage\"}"] == 3)
        #expect(a.invocations.count == 0)
    }

    @Test func openInvocationsSurviveACheckpoint() throws {
        let a = try Self.aggregator()
        _ = try Self.run(a) { log in
            log.emit(.invocationStarted(agent: log.label("triage"), invocationID: 1))
            log.emit(Self.llm(log, 1, input: 100, output: 10))
            log.emit(.invocationStarted(agent: log.label("triage"), invocationID: 2))
        }
        #expect(a.invocations.count == 2)
        let packed = a.invocations.packed()
        let b = try Self.aggregator()
        b.invocations.restore(packed)
        #expect(b.invocations.openEntries == a.invocations.openEntries && b.invocations.count == 2)
        let m = try Self.run(b) { log in
            log.emit(Self.llm(log, 1, input: 100, output: 10))
            log.emit(.invocationFinished(agent: log.label("triage"), outcome: .success, durationNs: 1, queueWaitNs: 0, invocationID: 1))
        }
        #expect(m["orch_invocation_llm_calls_sum{source=\"src\",agent=\"triage\"}"] == 2, "one call before the checkpoint, one after")
        b.invocations.restore(Data([1, 2, 3]))
        #expect(b.invocations.count == 0, "a malformed blob restores nothing")
    }
}
