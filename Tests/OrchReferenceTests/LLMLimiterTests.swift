import OrchLog
import Testing
@testable import OrchReference

/// An LLM API double: per-key concurrency enforced with 429s, fixed latency, records calls.
final class FakeLLM: LLMBackend {
    let provider = "fake"
    let keyAliases: [String]
    let limits: [Int]
    let scheduler: Scheduler
    var latencyNs: UInt64 = 1_000_000_000
    /// Calls as sent: (time, key, tag = input tokens).
    var calls: [(t: UInt64, key: Int, tag: Int)] = []
    var active: [Int]
    var maxActive: [Int]
    /// Keys that answer every call with 429 and this retry-after.
    var rateLimitedKeys: [Int: UInt64] = [:]

    init(scheduler: Scheduler, limits: [Int]) {
        self.scheduler = scheduler
        self.limits = limits
        keyAliases = limits.indices.map { "k\($0)" }
        active = limits.map { _ in 0 }
        maxActive = active
    }

    func concurrencyLimit(key: Int) -> Int { limits[key] }

    func send(_ call: LLMCall, reply: @escaping (LLMReply) -> Void) {
        calls.append((scheduler.now, call.key, call.inputTokens))
        if let after = rateLimitedKeys[call.key] {
            scheduler.schedule(after: 1_000_000) { reply(.rateLimited(retryAfterNs: after, limit: .requests, limits: nil)) }
            return
        }
        if active[call.key] >= limits[call.key] {
            scheduler.schedule(after: 1_000_000) { reply(.rateLimited(retryAfterNs: 1_000_000_000, limit: .requests, limits: nil)) }
            return
        }
        active[call.key] += 1
        maxActive[call.key] = max(maxActive[call.key], active[call.key])
        scheduler.schedule(after: latencyNs) { [self] in
            active[call.key] -= 1
            reply(.success(LLMResponse()))
        }
    }
}

@Suite struct LLMLimiterTests {
    struct Rig {
        let scheduler = Scheduler()
        let counters = Counters()
        let backend: FakeLLM
        let client: LLMClient

        init(components: Components, limits: [Int], rpm: Double = 6_000, tpm: Double = 10_000_000, keys: Int = 16) {
            backend = FakeLLM(scheduler: scheduler, limits: limits)
            var config = OrchestratorConfig(components: components)
            config.llmKeys = keys
            config.limiterHeadroom = 1
            let telemetry = Telemetry(log: nil, scheduler: scheduler, epochNs: 0)
            client = LLMClient(config: config, model: "m", backend: backend, scheduler: scheduler, telemetry: telemetry, counters: counters)
            for i in limits.indices { client.configureKey(i, rpm: rpm, tpm: tpm, burstSeconds: 10) }
        }
    }

    @Test func waitersAreServedFirstComeFirstServedWithinTheConcurrencyLimit() {
        let rig = Rig(components: .all, limits: [2])
        var completed: [Int] = []
        for tag in 1...20 {
            rig.client.request(input: tag, output: 1) { result in
                if case .ok = result { completed.append(tag) }
            }
        }
        #expect(rig.client.waitingCount == 18)
        rig.scheduler.run(until: 60_000_000_000)
        #expect(rig.backend.calls.map(\.tag) == Array(1...20))
        #expect(completed == Array(1...20))
        #expect(rig.backend.maxActive == [2])
        #expect(rig.counters.maxInflight == 2)
        #expect(rig.counters.llmRateLimited == 0)
        // Two at a time, one second each.
        #expect(rig.backend.calls.last!.t == 9_000_000_000)
    }

    @Test func aLargeRequestAtTheHeadIsNotOvertakenBySmallerOnes() {
        // 600 tokens/min with a 10 s burst: the bucket holds 100 tokens, refills 10/s.
        let rig = Rig(components: .all, limits: [10], tpm: 600)
        rig.client.request(input: 60, output: 0) { _ in }   // takes 60 of 100
        rig.client.request(input: 90, output: 0) { _ in }   // must wait 5 s for 90
        rig.client.request(input: 5, output: 0) { _ in }    // fits now, but waits its turn
        rig.scheduler.run(until: 60_000_000_000)
        #expect(rig.backend.calls.map(\.tag) == [60, 90, 5])
        #expect(rig.backend.calls[1].t == 5_000_000_000)
        #expect(rig.backend.calls[2].t >= rig.backend.calls[1].t)
    }

    @Test func requestsPerMinuteAreNeverExceeded() {
        // 120/min with a 10 s burst: at most 20 + 2/s × window.
        let rig = Rig(components: .all, limits: [1_000], rpm: 120)
        for tag in 1...300 { rig.client.request(input: tag, output: 0) { _ in } }
        rig.scheduler.run(until: 600_000_000_000)
        let times = rig.backend.calls.map(\.t)
        #expect(times.count == 300)
        for window in [1.0, 10.0, 60.0] {
            let w = UInt64(window * 1e9)
            var lo = 0, worst = 0
            for hi in times.indices {
                while times[hi] - times[lo] > w { lo += 1 }
                worst = max(worst, hi - lo + 1)
            }
            #expect(Double(worst) <= 20 + 2 * window + 1e-9, "window \(window) s: \(worst)")
        }
    }

    @Test func a429SuspendsTheKeyRotatesAwayAndRetriesTheRequest() {
        let rig = Rig(components: .all, limits: [5, 5], keys: 2)
        rig.backend.rateLimitedKeys[0] = 30_000_000_000
        var ok = 0
        for tag in 1...4 { rig.client.request(input: tag, output: 1) { if case .ok = $0 { ok += 1 } } }
        rig.scheduler.run(until: 20_000_000_000)
        #expect(ok == 4)
        #expect(rig.counters.llmRateLimited == 4)  // all four went to the current key first
        #expect(rig.counters.keyRotations == 1)
        let retries = rig.backend.calls.filter { $0.key == 1 }.map(\.tag)
        #expect(retries == [1, 2, 3, 4])  // back at the head, in order
        // The suspended key is not tried again before its retry-after.
        #expect(rig.backend.calls.filter { $0.key == 0 }.count == 4)
    }

    @Test func withoutTheLimiterInFlightGoesPastTheProviderLimit() {
        let rig = Rig(components: .none, limits: [2])
        var failed = 0
        for tag in 1...20 { rig.client.request(input: tag, output: 1) { if case .failed = $0 { failed += 1 } } }
        #expect(rig.counters.maxInflight == 20)
        rig.scheduler.run(until: 60_000_000_000)
        #expect(rig.counters.llmRateLimited > 0)
        #expect(rig.backend.maxActive == [2])  // the provider still serves only 2
        #expect(rig.counters.llmRequests == rig.backend.calls.count)
        #expect(rig.client.concurrencyLimit == 2)
        // Every 2 s the 429'd requests all retry at once; two get in each time and four
        // attempts (one try, three retries) leave twelve failed.
        #expect(failed == 12)
    }
}
