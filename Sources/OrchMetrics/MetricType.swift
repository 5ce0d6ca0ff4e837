/// The type of a metric family, as written in `# TYPE` lines.
public enum MetricType: String, Sendable, Codable, Equatable, Hashable, CaseIterable {
    /// A monotonically non-decreasing total. Samples are named `<family>_total`.
    case counter
    /// A value that can go up and down.
    case gauge
    /// Observations counted in cumulative buckets, with `_bucket`, `_sum`
    /// and `_count` samples.
    case histogram
}
