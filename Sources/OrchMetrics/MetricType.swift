/// The type of a metric family, as written in `# TYPE` lines.
public enum MetricType: String, Sendable, Codable, Equatable, Hashable, CaseIterable {
    /// A monotonically non-decreasing total. Samples are named `<family>_total`.
    case counter
    /// A value that can go up and down.
    case gauge
    /// Observations counted in cumulative buckets, with `_bucket`, `_sum`
    /// and `_count` samples.
    case histogram
    /// OpenMetrics' info: one series per label set, value 1, the labels being the
    /// information (a build's version). Named `<family>_info`; rendered as a gauge of that
    /// name in Prometheus text 0.0.4 (which has no info type), as `# TYPE <family> info`
    /// with `<family>_info` samples in OpenMetrics.
    case info

    /// The `# TYPE` word in Prometheus text 0.0.4.
    public var textTypeName: String { self == .info ? "gauge" : rawValue }
}
