/// Summary of repeated measurements: median and spread.
struct Stats: Codable, Equatable {
    let median: Double
    let min: Double
    let max: Double
    /// 10th and 90th percentiles (nearest rank).
    let p10: Double
    let p90: Double
    /// Number of measured runs (warm-up runs excluded).
    let runs: Int

    init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "no samples")
        let s = samples.sorted()
        let n = s.count
        median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
        min = s[0]
        max = s[n - 1]
        p10 = Stats.percentile(s, 0.10)
        p90 = Stats.percentile(s, 0.90)
        runs = n
    }

    /// The nearest-rank percentile `q` (0...1) of sorted `s`.
    static func percentile(_ s: [Double], _ q: Double) -> Double {
        guard !s.isEmpty else { return 0 }
        let rank = Int((q * Double(s.count)).rounded(.up)) - 1
        return s[Swift.max(0, Swift.min(s.count - 1, rank))]
    }
}
