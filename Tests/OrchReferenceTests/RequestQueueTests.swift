import OrchLog
@testable import OrchReference
import OrchTestSupport
import Testing

@Suite struct RequestQueueTests {
    /// Pilot sizing (10 agents, queue capacity 200) offered five times what it can serve.
    func overload(_ components: Components) -> RunSetup {
        var workload = Workload(invocationsPerDay: 60_000)
        workload.startHour = 10
        return RunSetup(config: Scenario.pilotSizing(components), world: WorldConfig(), workload: workload)
    }

    @Test func pastCapacityCallersAreRejectedWithARetryAfter() throws {
        let dir = TempDir("queue")
        defer { dir.remove() }
        let s = try runSetup(overload(.all), duration: 1_800, in: dir)
        let a = try LogAudit(source: dir.sub("custom"))
        expectLogMatches(s, a)
        #expect(s.queue.capacity == 200)
        #expect(s.queue.maxDepth == 200)
        #expect(a.queueSamples.allSatisfy { $0.a <= 200 && $0.b == 200 })
        #expect(a.queueSamples.contains { $0.a == 200 })
        let full = a.rejections.filter { $0.reason == "queue_full" }
        #expect(full.count > 100)
        #expect(a.rejections.allSatisfy { $0.retryAfterNs >= 2_000_000_000 && $0.retryAfterNs <= 60_000_000_000 })
        // The retry-after tracks the backlog: with a full queue it is long.
        #expect(full.map(\.retryAfterNs).max()! > 10_000_000_000)
        // Callers come back after the retry-after; those that never get in give up.
        #expect(s.invocations.rejected > 0)
        #expect(a.count(InvocationOutcome.rejected) == s.invocations.rejected)
        #expect(s.queue.rejections > s.invocations.rejected)
    }

    @Test func anUnboundedQueueNeverRejectsAndJustGrows() throws {
        let dir = TempDir("queue-naive")
        defer { dir.remove() }
        var components = Components.all
        components.boundedQueue = false
        components.rateLimiter = false  // no backpressure either
        let s = try runSetup(overload(components), duration: 1_800, in: dir)
        let a = try LogAudit(source: dir.sub("custom"))
        expectLogMatches(s, a)
        #expect(a.rejections.isEmpty)
        #expect(s.invocations.rejected == 0)
        #expect(s.queue.maxDepth > 400)
        #expect(a.queueSamples.allSatisfy { $0.b == 0 })  // capacity 0: unbounded
        // It climbs: every quarter of the run ends deeper than the one before.
        let quarters = (1...4).map { q in a.queueSamples.last { $0.t <= 450 * Double(q) }!.a }
        #expect(quarters == quarters.sorted() && quarters[0] < quarters[3])
    }
}
