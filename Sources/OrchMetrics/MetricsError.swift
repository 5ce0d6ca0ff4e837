/// The error thrown by `OrchMetrics`: a code a caller can switch on and a
/// message that names the metric, label or value at fault.
public struct MetricsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of mistake was made.
    public enum Code: String, Sendable, Equatable {
        /// A metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`, starts
        /// with `__`, or carries a suffix its type must not have.
        case invalidMetricName
        /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`, starts with
        /// `__`, is repeated, or is `le` on a histogram.
        case invalidLabelName
        /// The family's name, or one of the sample names it renders
        /// (`_total`, `_bucket`, `_sum`, `_count`, `_created`), is already
        /// used by another family in the registry.
        case nameClash
        /// Histogram bucket bounds are NaN, `-Inf`, or not strictly increasing.
        case invalidBuckets
        /// The number of label values differs from the family's label names.
        case labelCountMismatch
        /// A family id that this registry did not issue.
        case unknownFamily
    }

    /// What kind of mistake was made.
    public var code: Code
    /// A human-readable explanation naming the offending metric, label or value.
    public var message: String

    /// Creates an error with a code and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message, prefixed with the code.
    public var description: String { "\(code.rawValue): \(message)" }
}
