/// Warm-up runs, then measured runs; each run returns its figure.
enum Measure {
    /// Runs `body` `warmup` times discarding the result, then `runs` times keeping it.
    static func repeated(warmup: Int, runs: Int, _ body: () throws -> Double) rethrows -> [Double] {
        for _ in 0..<warmup { _ = try body() }
        var samples: [Double] = []
        samples.reserveCapacity(runs)
        for _ in 0..<runs { samples.append(try body()) }
        return samples
    }
}
