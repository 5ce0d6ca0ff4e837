/// The description of one metric family: name, help, type, label names,
/// optional unit and, for histograms, bucket upper bounds.
///
/// Creating a `MetricFamily` validates it:
/// - names match `[a-zA-Z_:][a-zA-Z0-9_:]*` and do not start with `__`;
/// - label names match `[a-zA-Z_][a-zA-Z0-9_]*`, do not start with `__`, are
///   unique, and a histogram has no `le` label;
/// - gauges and histograms do not end in `_total` (that suffix marks counters);
/// - histogram bounds are finite or `+Inf`, strictly increasing; a trailing
///   `+Inf` is dropped because the `+Inf` bucket is always rendered.
///
/// A counter may be named with or without `_total`: `orch_tool_calls` and
/// `orch_tool_calls_total` describe the same family, whose samples are
/// `orch_tool_calls_total` in both formats, whose Prometheus text `# TYPE`
/// line names `orch_tool_calls_total`, and whose OpenMetrics `# TYPE` line
/// names `orch_tool_calls`.
public struct MetricFamily: Sendable, Equatable {
    /// The name as given at registration.
    public let name: String
    /// The help text (unescaped). An empty help renders no `# HELP` line.
    public let help: String
    /// The family type.
    public let type: MetricType
    /// Label names, in the order label values are given and rendered.
    public let labelNames: [String]
    /// The unit (for example `seconds`), or nil. A `# UNIT` line is rendered
    /// in OpenMetrics only when the unit is non-empty, consists of metric-name
    /// characters, and `openMetricsName` ends with `_<unit>`; otherwise the
    /// unit is kept as documentation only.
    public let unit: String?
    /// Histogram bucket upper bounds, strictly increasing and finite; the
    /// `+Inf` bucket is implicit. Empty for counters and gauges.
    public let buckets: [Double]

    /// The Prometheus client default buckets, in seconds:
    /// 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Creates and validates a family description.
    ///
    /// - Parameters:
    ///   - name: the metric name; for counters, with or without `_total`.
    ///   - help: one-line description; any text, escaped on output.
    ///   - type: counter, gauge or histogram.
    ///   - labelNames: the label names of every series, in order.
    ///   - unit: the base unit (`seconds`, `bytes`), or nil.
    ///   - buckets: histogram upper bounds; ignored (must be empty) for other types.
    /// - Throws: `MetricsError` with `.invalidMetricName`, `.invalidLabelName`
    ///   or `.invalidBuckets`.
    public init(
        name: String,
        help: String,
        type: MetricType,
        labelNames: [String] = [],
        unit: String? = nil,
        buckets: [Double] = []
    ) throws(MetricsError) {
        guard Self.isValidMetricName(name), !name.hasPrefix("__") else {
            throw MetricsError(.invalidMetricName, "metric name \"\(name)\" must match [a-zA-Z_:][a-zA-Z0-9_:]* and not start with \"__\"")
        }
        if type != .counter && name.hasSuffix("_total") {
            throw MetricsError(.invalidMetricName, "\(type.rawValue) \"\(name)\" must not end in \"_total\", which marks counters")
        }
        if type == .info && (!name.hasSuffix("_info") || name == "_info") {
            throw MetricsError(.invalidMetricName, "info \"\(name)\" must end in \"_info\" after a family name")
        }
        if type == .counter && name == "_total" {
            throw MetricsError(.invalidMetricName, "counter name \"\(name)\" leaves an empty family name")
        }
        var seen = Set<String>()
        for label in labelNames {
            guard Self.isValidLabelName(label), !label.hasPrefix("__") else {
                throw MetricsError(.invalidLabelName, "label name \"\(label)\" of \(name) must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\"")
            }
            guard seen.insert(label).inserted else {
                throw MetricsError(.invalidLabelName, "label name \"\(label)\" appears twice in \(name)")
            }
            if type == .histogram && label == "le" {
                throw MetricsError(.invalidLabelName, "histogram \(name) must not have a label named \"le\"")
            }
        }
        var bounds = buckets
        if type == .histogram {
            if bounds.last == .infinity { bounds.removeLast() }
            for (i, bound) in bounds.enumerated() {
                guard bound.isFinite else {
                    throw MetricsError(.invalidBuckets, "histogram \(name): bucket bound \(bound) at index \(i) is not finite")
                }
                if i > 0 && !(bounds[i - 1] < bound) {
                    throw MetricsError(.invalidBuckets, "histogram \(name): bucket bounds must be strictly increasing, but \(bounds[i - 1]) is followed by \(bound)")
                }
            }
        } else if !bounds.isEmpty {
            throw MetricsError(.invalidBuckets, "\(type.rawValue) \(name) cannot have buckets")
        }
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.unit = unit
        self.buckets = bounds
    }

    /// The name of the value samples: `<family>_total` for counters, the name
    /// itself for gauges and histograms (whose samples add `_bucket`, `_sum`,
    /// `_count`).
    public var sampleName: String {
        switch type {
        case .counter: return name.hasSuffix("_total") ? name : name + "_total"
        case .gauge, .histogram, .info: return name
        }
    }

    /// The name in Prometheus text `# HELP`/`# TYPE` lines: the sample name
    /// for counters (with `_total`), the name for the others.
    public var textName: String { sampleName }

    /// The OpenMetrics MetricFamily name: for counters without `_total`.
    public var openMetricsName: String {
        switch type {
        case .counter:
            let sample = sampleName
            return String(sample.dropLast("_total".count))
        case .gauge, .histogram:
            return name
        case .info:
            return String(name.dropLast("_info".count))
        }
    }

    /// Every sample name this family can put on the wire in either format,
    /// plus its family names; two families in one registry must not share any.
    public var reservedNames: Set<String> {
        let family = openMetricsName
        switch type {
        case .counter: return [family, family + "_total", family + "_created"]
        case .gauge: return [family]
        case .info: return [family, family + "_info"]
        case .histogram: return [family, family + "_bucket", family + "_sum", family + "_count", family + "_created"]
        }
    }

    /// Whether OpenMetrics output carries a `# UNIT` line: the unit is set,
    /// non-empty, made of metric-name characters, and the family name ends
    /// with `_<unit>`.
    public var rendersUnitLine: Bool {
        guard let unit, !unit.isEmpty, unit.utf8.allSatisfy(Self.isNameContinuation) else { return false }
        return openMetricsName.hasSuffix("_" + unit)
    }

    static func isNameContinuation(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x3A
    }

    /// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for c in name.utf8 {
            let letter = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A
            if first {
                guard letter else { return false }
                first = false
            } else {
                guard letter || (c >= 0x30 && c <= 0x39) else { return false }
            }
        }
        return !first
    }

    /// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for c in name.utf8 {
            let letter = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F
            if first {
                guard letter else { return false }
                first = false
            } else {
                guard letter || (c >= 0x30 && c <= 0x39) else { return false }
            }
        }
        return !first
    }
}
