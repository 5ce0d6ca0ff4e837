import Foundation

/// A seeded pseudo-random generator (xoshiro256**) with the distributions the simulation
/// draws from. Deterministic: the same seed gives the same run.
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the generator (SplitMix64 expands the seed into the state).
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        p > 0 && uniform() < p
    }

    /// Uniform integer in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// Exponentially distributed with the given mean.
    public mutating func exponential(mean: Double) -> Double {
        -mean * log(1 - uniform())
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    }

    /// Log-normally distributed with the given median and shape `sigma`.
    public mutating func logNormal(median: Double, sigma: Double) -> Double {
        sigma <= 0 ? median : median * exp(sigma * normal())
    }

    /// A latency in nanoseconds drawn from `distribution`.
    public mutating func latency(_ distribution: LatencyDistribution) -> UInt64 {
        let seconds = logNormal(median: distribution.medianSeconds, sigma: distribution.sigma)
        return UInt64(max(0, min(seconds, distribution.capSeconds)) * 1e9)
    }
}

/// A log-normal latency: median and shape, capped.
public struct LatencyDistribution: Sendable, Equatable {
    /// Median in seconds.
    public var medianSeconds: Double
    /// Log-normal shape (0: constant).
    public var sigma: Double
    /// Upper cap in seconds.
    public var capSeconds: Double

    /// A distribution with this median, shape and cap.
    public init(medianSeconds: Double, sigma: Double = 0.5, capSeconds: Double = 600) {
        self.medianSeconds = medianSeconds
        self.sigma = sigma
        self.capSeconds = capSeconds
    }

    /// Zero latency.
    public static let zero = LatencyDistribution(medianSeconds: 0, sigma: 0)

    /// The same distribution with the median scaled by `factor`.
    public func scaled(_ factor: Double) -> LatencyDistribution {
        LatencyDistribution(medianSeconds: medianSeconds * factor, sigma: sigma, capSeconds: capSeconds * max(1, factor))
    }
}

/// A Zipf-like popularity distribution over `0..<count` (rank 0 is the hottest).
public struct ZipfDistribution: Sendable {
    private let cdf: [Double]

    /// - Parameters: count: number of items (≥ 1); exponent: skew (0: uniform).
    public init(count: Int, exponent: Double) {
        var weights = (0..<max(1, count)).map { 1 / pow(Double($0 + 1), exponent) }
        let total = weights.reduce(0, +)
        var acc = 0.0
        for i in weights.indices {
            acc += weights[i] / total
            weights[i] = acc
        }
        weights[weights.count - 1] = 1
        cdf = weights
    }

    /// Number of items.
    public var count: Int { cdf.count }

    /// Draws an item.
    public func sample(_ rng: inout RandomSource) -> Int {
        let u = rng.uniform()
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The probability of item `i`.
    public func probability(_ i: Int) -> Double {
        i == 0 ? cdf[0] : cdf[i] - cdf[i - 1]
    }
}
