import Testing
@testable import OrchReference

@Suite struct TokenBucketTests {
    /// Greedy takers at random times: over every window, admissions stay within
    /// capacity + rate × window.
    @Test func neverExceedsItsRateOverAnyWindow() {
        var bucket = TokenBucket(capacity: 10, ratePerSecond: 5)
        var rng = RandomSource(seed: 42)
        var admitted: [UInt64] = []
        var t: UInt64 = 0
        for _ in 0..<20_000 {
            t += UInt64(rng.exponential(mean: 0.05) * 1e9)  // ~20 attempts/s against 5/s
            if bucket.take(1, now: t) { admitted.append(t) }
        }
        #expect(admitted.count > 100)
        for windowSeconds in [0.1, 1.0, 2.5, 10.0, 60.0] {
            let w = UInt64(windowSeconds * 1e9)
            let bound = 10 + 5 * windowSeconds + 1e-6
            var lo = 0
            var worst = 0
            for hi in admitted.indices {
                while admitted[hi] - admitted[lo] > w { lo += 1 }
                worst = max(worst, hi - lo + 1)
            }
            #expect(Double(worst) <= bound, "window \(windowSeconds) s admitted \(worst) > \(bound)")
        }
        // Over the long run the rate is the refill rate.
        let seconds = Double(admitted.last! - admitted.first!) / 1e9
        #expect(abs(Double(admitted.count) / seconds - 5) < 0.2)
    }

    @Test func waitTimeIsWhenTheTokensAreThere() {
        var bucket = TokenBucket(capacity: 100, ratePerSecond: 10)
        let r1 = bucket.take(100, now: 0)
        #expect(r1)
        #expect(!bucket.canTake(1, now: 0))
        let wait = bucket.waitTime(25, now: 0)
        #expect(wait == 2_500_000_000)
        #expect(!bucket.canTake(25, now: wait - 1_000_000))
        let r2 = bucket.take(25, now: wait)
        #expect(r2)
        #expect(!bucket.canTake(1, now: wait))
    }

    @Test func requestsLargerThanTheBucketPassOnceItIsFull() {
        var bucket = TokenBucket(capacity: 50, ratePerSecond: 50)
        let took = bucket.take(500, now: 0)  // clamped to the capacity: the bucket empties
        #expect(took)
        #expect(!bucket.canTake(500, now: 500_000_000))
        #expect(bucket.waitTime(500, now: 0) == 1_000_000_000)
    }

    @Test func perMinuteLimitsAllowABurstThenTheRate() {
        var bucket = TokenBucket.perMinute(600, burstSeconds: 10)  // 10/s, burst 100
        var n = 0
        while bucket.take(1, now: 0) { n += 1 }
        #expect(n == 100)
        let r3 = bucket.take(1, now: 100_000_000)
        #expect(r3)
        let r4 = bucket.take(1, now: 100_000_000)
        #expect(!r4)
    }

    @Test func reconfiguringKeepsTheLevelWithinTheNewCapacity() {
        var bucket = TokenBucket(capacity: 100, ratePerSecond: 10)
        bucket.reconfigure(capacity: 5, ratePerSecond: 1, now: 0)
        #expect(bucket.available(now: 0) == 5)
        #expect(bucket.waitTime(6, now: 0) == bucket.waitTime(5, now: 0))  // clamped to capacity
        let r5 = bucket.take(5, now: 0)
        #expect(r5)
        #expect(bucket.waitTime(1, now: 0) == 1_000_000_000)
    }
}
