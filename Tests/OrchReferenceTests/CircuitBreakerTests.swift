import OrchLog
import Testing
@testable import OrchReference

@Suite struct CircuitBreakerTests {
    let s: UInt64 = 1_000_000_000

    func config() -> BreakerConfig {
        var c = BreakerConfig()
        c.windowNs = 30 * s
        c.minimumCalls = 4
        c.failureRateThreshold = 0.5
        c.openDurationNs = 10 * s
        c.probesToClose = 2
        return c
    }

    /// Drives a breaker to open with failures at t = 1…n s.
    func opened() -> CircuitBreaker {
        var b = CircuitBreaker(config: config())
        for i in 1...4 {
            let (p, _) = b.acquire(now: UInt64(i) * s)
            _ = b.record(p!, success: false, now: UInt64(i) * s)
        }
        return b
    }

    @Test func closedOpensWhenTheFailureRateReachesTheThreshold() {
        var b = CircuitBreaker(config: config())
        // 3 calls: under the minimum, even all failing.
        for i in 1...3 {
            let (p, change) = b.acquire(now: UInt64(i) * s)
            #expect(p == .normal && change == nil)
            let r1 = b.record(.normal, success: false, now: UInt64(i) * s)
            #expect(r1 == nil)
        }
        #expect(b.state == .closed)
        let change = b.record(.normal, success: false, now: 4 * s)
        #expect(change == BreakerChange(from: .closed, to: .open))
        #expect(b.state == .open)
    }

    @Test func staysClosedBelowTheThreshold() {
        var b = CircuitBreaker(config: config())
        // 2 failures in 5 calls = 40% < 50%.
        for (i, ok) in [true, true, false, true, false].enumerated() {
            let r2 = b.record(.normal, success: ok, now: UInt64(i + 1) * s)
            #expect(r2 == nil)
        }
        #expect(b.state == .closed)
    }

    @Test func failuresOutsideTheSlidingWindowDoNotCount() {
        var b = CircuitBreaker(config: config())
        for i in 1...3 { _ = b.record(.normal, success: false, now: UInt64(i) * s) }
        // 40 s later the three failures have left the 30 s window.
        let r3 = b.record(.normal, success: false, now: 43 * s)
        #expect(r3 == nil)
        let r4 = b.windowCounts(now: 43 * s)
        #expect(r4.calls == 1 && r4.failures == 1)
        #expect(b.state == .closed)
    }

    @Test func openShortCircuitsUntilTheOpenDurationHasPassed() {
        var b = opened()
        let r5 = b.acquire(now: 5 * s).permit
        #expect(r5 == nil)
        #expect(b.acquire(now: 13 * s).permit == nil)  // opened at 4 s, 10 s wait
        let (p, change) = b.acquire(now: 14 * s)
        #expect(p == .probe)
        #expect(change == BreakerChange(from: .open, to: .halfOpen))
        #expect(b.state == .halfOpen)
    }

    @Test func halfOpenLetsOnlyTheProbesThrough() {
        var b = opened()
        let r6 = b.acquire(now: 14 * s).permit
        #expect(r6 == .probe)
        let r7 = b.acquire(now: 14 * s).permit
        #expect(r7 == .probe)
        #expect(b.acquire(now: 14 * s).permit == nil)  // two probes in flight already
    }

    @Test func halfOpenClosesAfterEnoughSuccessfulProbes() {
        var b = opened()
        _ = b.acquire(now: 14 * s)
        _ = b.acquire(now: 14 * s)
        let r8 = b.record(.probe, success: true, now: 15 * s)
        #expect(r8 == nil)
        #expect(b.state == .halfOpen)
        let r9 = b.record(.probe, success: true, now: 15 * s)
        #expect(r9 == BreakerChange(from: .halfOpen, to: .closed))
        #expect(b.state == .closed)
        #expect(b.windowCounts(now: 15 * s) == (0, 0))  // a fresh window after closing
        let r10 = b.acquire(now: 15 * s).permit
        #expect(r10 == .normal)
    }

    @Test func aFailedProbeReopensTheBreaker() {
        var b = opened()
        _ = b.acquire(now: 14 * s)
        let r11 = b.record(.probe, success: false, now: 15 * s)
        #expect(r11 == BreakerChange(from: .halfOpen, to: .open))
        #expect(b.state == .open)
        #expect(b.openedAt == 15 * s)
        let r12 = b.acquire(now: 24 * s).permit
        #expect(r12 == nil)
        let r13 = b.acquire(now: 25 * s).change
        #expect(r13 == BreakerChange(from: .open, to: .halfOpen))
    }

    @Test func lateResultsOfCallsAdmittedWhileClosedDoNotMoveAnOpenBreaker() {
        var b = opened()
        let r14 = b.record(.normal, success: false, now: 5 * s)
        #expect(r14 == nil)
        let r15 = b.record(.normal, success: true, now: 5 * s)
        #expect(r15 == nil)
        #expect(b.state == .open)
        // …nor does a probe result arriving after the breaker reopened.
        _ = b.acquire(now: 14 * s)
        _ = b.acquire(now: 14 * s)
        _ = b.record(.probe, success: false, now: 15 * s)
        let r16 = b.record(.probe, success: true, now: 15 * s)
        #expect(r16 == nil)
        #expect(b.state == .open)
    }
}
