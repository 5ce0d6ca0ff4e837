import Foundation
import OrchLog
@testable import OrchReference
import OrchTestSupport
import Testing

/// Each scenario run (at full speed, shortened where the day's shape allows) meets the bounds
/// of the issue, and its log says what its summary says.
@Suite struct ScenarioTests {
    @Test func pilotSucceedsAtLeast98PercentOfTheTime() throws {
        let dir = TempDir("pilot")
        defer { dir.remove() }
        let s = try runScenario("pilot", duration: 86_400, in: dir)
        let a = try LogAudit(source: dir.sub("pilot"))
        expectLogMatches(s, a)
        #expect(s.invocations.total > 550)
        #expect(s.successRate >= 0.98)
        #expect(s.state.lostUpdates == 0)
        #expect(s.llm.maxInflight <= s.llm.concurrencyLimit)
    }

    /// The incident: four hours of a working day on pilot sizing with every protection off.
    @Test func productionNaiveReproducesTheIncident() throws {
        let dir = TempDir("naive")
        defer { dir.remove() }
        let s = try runScenario("production-naive", duration: 4 * 3600, startHour: 9, in: dir)
        let a = try LogAudit(source: dir.sub("production-naive"))
        expectLogMatches(s, a)
        #expect(s.components == "none")
        #expect(s.successRate < 0.85)
        // Queue in the thousands and climbing.
        #expect(s.queue.maxDepth >= 1_000)
        let hourly = (1...4).map { h in a.queueSamples.last { $0.t <= 3600 * Double(h) }!.a }
        #expect(hourly == hourly.sorted() && hourly[3] >= 1_000, "queue by hour \(hourly)")
        // ≥ 10% of state writes time out.
        #expect(Double(a.count(WriteOutcome.timeout)) >= 0.10 * Double(a.count(.stateWrite)))
        // ≥ 10% of LLM requests get 429, with more in flight than the concurrency limit.
        #expect(Double(a.count(LLMOutcome.rateLimited)) >= 0.10 * Double(a.count(.llmRequest)))
        #expect(s.llm.concurrencyLimit == 20)
        #expect(s.llm.maxInflight > 30)
        #expect(a.limiterSamples.contains { $0.a > $0.b })
        // Silent corruption: lost updates and stale reads, seen only in the versions — also by
        // the collector's bounded rule that remembers only each key's newest two commits.
        #expect(a.lostUpdates > 0)
        #expect(a.staleReads > 0)
        #expect(a.lostUpdatesTwoVersion == s.state.lostUpdates)
        #expect(a.staleReadsTwoVersion == s.state.staleReads)
        // The pool is exhausted.
        #expect(a.poolSamples.filter { $0.a == $0.b }.count > a.poolSamples.count / 2)
    }

    @Test func productionHardenedAt12000PerDayLosesNothing() throws {
        let dir = TempDir("hardened")
        defer { dir.remove() }
        let s = try runScenario("production-hardened", duration: 6 * 3600, startHour: 8, in: dir)
        let a = try LogAudit(source: dir.sub("production-hardened"))
        expectLogMatches(s, a)
        #expect(s.invocations.total > 3_000)
        #expect(s.successRate >= 0.995)
        #expect(a.lostUpdates == 0 && s.state.lostUpdates == 0)
        #expect(a.staleReads == 0)
        #expect(a.count(WriteOutcome.conflict) > 0)  // contention happened and was handled
        #expect(a.limiterSamples.allSatisfy { $0.a <= $0.b })
        #expect(s.queue.maxDepth < 50)
    }

    @Test func productionHardenedAt120000PerDayHasTheHeadroom() throws {
        let dir = TempDir("hardened120")
        defer { dir.remove() }
        let s = try runScenario("production-hardened", duration: 3600, rate: 120_000, startHour: 10, in: dir)
        let a = try LogAudit(source: dir.sub("production-hardened"))
        expectLogMatches(s, a)
        #expect(s.invocations.total > 12_000)
        #expect(s.successRate >= 0.995)
        #expect(a.lostUpdates == 0)
        #expect(a.limiterSamples.allSatisfy { $0.a <= $0.b })
        // Any 429 is absorbed: retried by the limiter, not failed.
        #expect(s.failureReasons["llm_rate_limited", default: 0] == 0)
    }

    @Test func toolOutageOpensTheBreakerFallbacksServeAndItClosesAfter() throws {
        let dir = TempDir("outage")
        defer { dir.remove() }
        let s = try runScenario("tool-outage", duration: 5_400, startHour: 10, in: dir)  // CRM hangs 30–60 min
        let a = try LogAudit(source: dir.sub("tool-outage"))
        expectLogMatches(s, a)
        let crm = a.transitions.filter { $0.tool == "crm" }
        let firstOpen = try #require(crm.first { $0.to == .open })
        #expect(firstOpen.t >= 1_800 && firstOpen.t < 1_800 + 180)
        #expect(crm.allSatisfy { $0.t >= 1_800 })
        let last = try #require(crm.last)
        #expect(last.to == .closed && last.from == .halfOpen)
        #expect(last.t >= 3_600 && last.t < 3_600 + 120)
        #expect(s.tools.shortCircuited > 0 && s.tools.fallbacks >= s.tools.shortCircuited)
        #expect(s.successRate >= 0.995)
    }

    /// The same outage on pilot sizing without breakers: 30 s timeouts hold every agent, the
    /// pool is exhausted, the queue grows and invocations fail.
    @Test func toolOutageWithoutBreakersExhaustsThePool() throws {
        let scenario = try #require(Scenario.named("tool-outage"))
        var setup = scenario.setup(invocationsPerDay: 12_000, durationSeconds: 5_400)
        setup.config = Scenario.pilotSizing(.all)
        setup.config.components.circuitBreakers = false
        setup.workload.startHour = 10
        let dir = TempDir("outage-naive")
        defer { dir.remove() }
        let s = try runSetup(setup, duration: 5_400, in: dir)
        let a = try LogAudit(source: dir.sub("custom"))
        expectLogMatches(s, a)
        let during = a.poolSamples.filter { $0.t > 1_900 && $0.t < 3_600 }
        #expect(during.filter { $0.a == $0.b }.count > during.count * 9 / 10)
        #expect(s.failureReasons["tool_timeout", default: 0] > 100)
        #expect(a.transitions.isEmpty)
        #expect(s.successRate < 0.9)
    }

    @Test func llmQuotaCutIsAbsorbedByTheLimiterWithKeyRotation() throws {
        let dir = TempDir("quota")
        defer { dir.remove() }
        let s = try runScenario("llm-quota-cut", duration: 5_400, startHour: 10, in: dir)  // cut 30–60 min
        let a = try LogAudit(source: dir.sub("llm-quota-cut"))
        expectLogMatches(s, a)
        let limited = a.llmTimes.filter { $0.outcome == .rateLimited }
        #expect(limited.count > 100)
        #expect(limited.allSatisfy { $0.t >= 1_800 && $0.t < 3_600 + 70 })
        #expect(a.keyRotations > 10)
        #expect(a.limiterSamples.contains { $0.c > 0 && $0.t >= 1_800 && $0.t < 3_600 })  // requests queued
        #expect(a.limiterSamples.allSatisfy { $0.a <= $0.b })
        #expect(s.successRate >= 0.99)
    }

    @Test func hotKeyContentionRaisesConflictsButLosesNoUpdate() throws {
        let dir = TempDir("hotkey")
        defer { dir.remove() }
        let s = try runScenario("hot-key-contention", duration: 5_400, startHour: 10, in: dir)  // hot 30–60 min
        let a = try LogAudit(source: dir.sub("hot-key-contention"))
        expectLogMatches(s, a)
        func conflictsPerCommit(_ range: Range<Double>) -> Double {
            let w = a.writeLog.filter { range.contains($0.t) && $0.key.hasPrefix("account:") }
            return Double(w.filter { $0.outcome == .conflict }.count) / Double(max(1, w.filter { $0.outcome == .committed }.count))
        }
        let before = conflictsPerCommit(0..<1_800), during = conflictsPerCommit(1_900..<3_600)
        #expect(during > 2 * before, "conflicts per committed account write: before \(before), during \(during)")
        #expect(a.lostUpdates == 0 && s.state.lostUpdates == 0)
        #expect(s.successRate >= 0.99)
    }

    @Test func memorySlowdownRaisesWriteTimeoutsWhileItLasts() throws {
        let dir = TempDir("memslow")
        defer { dir.remove() }
        let s = try runScenario("memory-slowdown", duration: 5_400, startHour: 10, in: dir)  // slow 30–60 min
        let a = try LogAudit(source: dir.sub("memory-slowdown"))
        expectLogMatches(s, a)
        let timeouts = a.writeLog.filter { $0.outcome == .timeout }
        #expect(timeouts.count > 10)
        #expect(timeouts.allSatisfy { $0.t >= 1_800 && $0.t < 3_600 + 120 })
        #expect(a.count(FlushOutcome.timeout) > 0)
        #expect(s.memory.maxPending > 16)
        #expect(a.lostUpdates == 0)
    }
}
