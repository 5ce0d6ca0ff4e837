import Foundation
import OrchLog
@testable import OrchReference
import OrchTestSupport
import Testing

/// Issue 19's scenarios do what their names say, against `production-hardened` over the same
/// simulated hours (seed 1; each fault in the middle third): the ground truth the
/// compressed-time alert tests rely on.
@Suite struct WorkloadFaultTests {
    static func hardened(_ duration: Double, in dir: TempDir) throws -> RunSummary {
        try runScenario("production-hardened", duration: duration, in: dir)
    }

    @Test func agentLoopMakesSomeResearchInvocationsLoopAndNothingElse() throws {
        let dir = TempDir("fault-loop")
        defer { dir.remove() }
        let s = try runScenario("agent-loop", duration: 10_800, in: dir)
        let base = try Self.hardened(10_800, in: dir)
        let research = try #require(s.fanout["research"])
        #expect(research.llmCallsMax >= 30, "a looping invocation makes its 30 extra turns: \(research.llmCallsMax)")
        #expect(try #require(base.fanout["research"]).llmCallsMax <= 10)
        for agent in ["support", "billing"] {
            #expect(s.fanout[agent]?.llmCallsMax == base.fanout[agent]?.llmCallsMax, "\(agent) does not loop")
        }
        // Loops are 5% of research's share during a third of the run: ~1–4% of its invocations.
        let extra = Double(research.llmCalls - (base.fanout["research"]?.llmCalls ?? 0)) / 30 / Double(research.invocations)
        #expect(extra > 0.01 && extra < 0.05, "looping share of research invocations \(extra)")
        #expect(s.invocations.failure == 0 && s.invocations.timeout == 0)
    }

    @Test func budgetBurnMultipliesTheSupportAgentsSpendOnly() throws {
        let dir = TempDir("fault-budget")
        defer { dir.remove() }
        let s = try runScenario("budget-burn", duration: 10_800, in: dir)
        let base = try Self.hardened(10_800, in: dir)
        let support = try #require(s.fanout["support"]?.costUsd), baseSupport = try #require(base.fanout["support"]?.costUsd)
        #expect(support > 3 * baseSupport, "support spends \(support) USD against \(baseSupport)")
        // Over twice the default budget of 1,000 USD/day, averaged over the run.
        #expect(support / s.simulatedSeconds * 86_400 > 2_000)
        for agent in ["billing", "research"] {
            let cost = try #require(s.fanout[agent]?.costUsd), was = try #require(base.fanout[agent]?.costUsd)
            #expect(abs(cost - was) < 0.1 * was, "\(agent): \(cost) USD against \(was)")
        }
        #expect(s.invocations.failure == 0 && s.llm.rateLimited == 0)
    }

    @Test func aLimiterAboveTheKeysRealLimitDrawsATrickleOfProvider429s() throws {
        let dir = TempDir("fault-limiter")
        defer { dir.remove() }
        let s = try runScenario("limiter-misconfigured", duration: 10_800, in: dir)
        #expect(try Self.hardened(10_800, in: dir).llm.rateLimited == 0)
        // Over OrchLLMLimiterMisconfigured's 1%, under OrchLLMRateLimitSaturation's 5%.
        #expect(s.llm.rateLimitedRate > 0.01 && s.llm.rateLimitedRate < 0.05, "429 share \(s.llm.rateLimitedRate)")
        #expect(s.invocations.failure == 0, "every 429 is retried: \(s.failureReasons)")
        // The limiter believes it has headroom: it never holds requests back.
        let audit = try LogAudit(source: dir.sub("limiter-misconfigured"))
        #expect(!audit.limiterSamples.isEmpty && audit.limiterSamples.allSatisfy { $0.c <= 5 },
                "most requests waiting in the limiter: \(audit.limiterSamples.map(\.c).max() ?? 0)")
    }

    @Test func aStalledPoolAgesTheQueueWithoutFillingIt() throws {
        let dir = TempDir("fault-stall")
        defer { dir.remove() }
        let s = try runScenario("queue-backlog", duration: 3_600, in: dir)
        let audit = try LogAudit(source: dir.sub("queue-backlog"))
        // The stall is 1,200–2,400 s; what ran before it finishes within two minutes.
        let stall = audit.poolSamples.filter { $0.t > 1_320 && $0.t < 2_400 }
        #expect(!stall.isEmpty && stall.allSatisfy { $0.a <= 2 }, "at most 2 instances busy: \(stall.map(\.a).max() ?? 0)")
        #expect(audit.poolSamples.filter { $0.t > 2_400 }.map(\.a).max() ?? 0 > 2, "the pool takes work again after the stall")
        let oldest = audit.queueSamples.map { Double($0.c) / 1e9 }.max() ?? 0
        let aged = audit.queueSamples.filter { $0.c > 300_000_000_000 }.count * 5
        #expect(oldest > 600 && aged >= 600, "oldest wait \(oldest) s, \(aged) s of samples over 300 s")
        #expect(s.queue.maxDepth < 320 && s.queue.rejections == 0, "under OrchQueueBackpressure's 80% and never full: \(s.queue.maxDepth)")
        #expect(s.invocations.failure == 0 && s.invocations.rejected == 0)
        #expect(audit.queueSamples.last?.c == 0, "the queue drains when the stall ends")
    }

    @Test func aSlowerProviderSlowsInvocationsWithoutFailingThem() throws {
        let dir = TempDir("fault-slow")
        defer { dir.remove() }
        let s = try runScenario("llm-slowdown", duration: 10_800, in: dir)
        let base = try Self.hardened(10_800, in: dir)
        #expect(s.invocations.meanDurationSeconds > 1.2 * base.invocations.meanDurationSeconds,
                "\(s.invocations.meanDurationSeconds) s against \(base.invocations.meanDurationSeconds) s")
        #expect(s.invocations.failure == 0 && s.llm.rateLimitedRate < 0.01 && s.llm.timeouts < s.llm.requests / 200)
    }

    @Test func simulationOnlyScenariosRefuseLive() throws {
        for name in ["agent-loop", "budget-burn", "limiter-misconfigured", "queue-backlog", "llm-slowdown"] {
            #expect(try #require(Scenario.named(name)).runsLive == false, "\(name)")
        }
        for name in ["pilot", "production-naive", "production-hardened", "tool-outage", "llm-quota-cut", "hot-key-contention", "memory-slowdown"] {
            #expect(try #require(Scenario.named(name)).runsLive, "\(name)")
        }
    }
}
