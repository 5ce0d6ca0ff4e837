/// A text exposition format the registry can render.
public enum ExpositionFormat: Sendable, Equatable, Hashable, CaseIterable {
    /// The Prometheus text format, version 0.0.4.
    case prometheusText
    /// OpenMetrics text format, version 1.0.0 (ends with `# EOF`).
    case openMetrics

    /// `Content-Type` of the Prometheus text format 0.0.4.
    public static let prometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8"
    /// `Content-Type` of the OpenMetrics text format 1.0.0.
    public static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// The `Content-Type` header value for this format.
    public var contentType: String {
        switch self {
        case .prometheusText: return Self.prometheusTextContentType
        case .openMetrics: return Self.openMetricsContentType
        }
    }
}
