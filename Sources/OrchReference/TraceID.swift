import OrchLog

/// The W3C trace id (trace-context `trace-id`) the reference orchestrator gives each
/// invocation: never all zeros. Derived from the run's seed and the invocation id alone, so a
/// seed gives the same ids in every run (simulated or live, with or without a log) and drawing
/// them changes no other random choice.
extension TraceID {
    /// The trace id of invocation `invocation` in a run seeded with `seed`.
    package static func make(seed: UInt64, invocation: UInt64) -> TraceID {
        var rng = RandomSource(seed: seed ^ 0x7472_6163_6569_6400 ^ invocation &* 0x9E37_79B9_7F4A_7C15)
        let high = rng.next()
        var low = rng.next()
        // All zeros is invalid (W3C trace-context §3.2.2.3); one in 2^128, but never emit it.
        if high == 0 && low == 0 { low = 1 }
        return TraceID(hi: high, lo: low)
    }
}
