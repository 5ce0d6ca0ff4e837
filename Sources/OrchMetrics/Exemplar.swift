/// An OpenMetrics exemplar: a reference from one histogram bucket to an observation that fell
/// into it (here, the invocation behind a latency), rendered after the bucket's value in
/// OpenMetrics output only — `x_bucket{le="0.5"} 3 # {invocation_id="42"} 0.31 1700000000.123`.
/// The Prometheus text format 0.0.4 has no exemplars; they are never rendered there.
///
/// OpenMetrics 1.0 rules, enforced when the exemplar is made so that an invalid one can never
/// be rendered:
/// - the label names and values together hold at most `maxLabelCharacters` (128) UTF-8 code
///   points (the quotes, `=`, `,` and escapes of the rendering do not count);
/// - label names are valid label names; values are any text, escaped on output like sample
///   labels (`\\`, `\"`, `\n`);
/// - the timestamp is optional (seconds since the epoch).
///
/// The registry checks the remaining rule, that the value lies within its bucket
/// (`MetricRegistry.setExemplar`).
public struct Exemplar: Sendable, Equatable {
    /// The most UTF-8 code points the label names and values may hold together: 128.
    public static let maxLabelCharacters = 128

    /// The rendered label set, `{a="x",b="y"}`, escaped (the labels themselves are not kept:
    /// a bucket's exemplar costs these bytes and two numbers).
    let labelBytes: [UInt8]
    /// The observed value.
    public let value: Double
    /// When it was observed, seconds since the Unix epoch; nil renders no timestamp.
    public let timestamp: Double?

    /// Label names checked once (valid label names, none repeated) and pre-rendered, for
    /// making many exemplars with the same names cheaply.
    public struct Labels: Sendable {
        let names: [String]
        /// Per name, its UTF-8 code points (toward the 128).
        let nameCharacters: [Int]
        /// Per name, `name="` (after `{` or `,`).
        let openings: [[UInt8]]

        /// The names, in order of importance; nil when one is not a valid label name, one is
        /// repeated, or there are none.
        public init?(_ names: [String]) {
            guard !names.isEmpty, Set(names).count == names.count, names.allSatisfy(MetricFamily.isValidLabelName) else { return nil }
            self.names = names
            nameCharacters = names.map { $0.unicodeScalars.count }
            openings = names.map { Array($0.utf8) + [0x3D, 0x22] }  // name="
        }
    }

    /// Makes an exemplar of the labels `names[i]="values[i]"`, given in order of importance:
    /// as many leading labels are kept as fit within `maxLabelCharacters` together, and the
    /// first label that would go over the limit is dropped with every label after it (an
    /// `invocation_id` is kept when an over-long `trace_id` after it does not fit). Labels
    /// with an empty value are left out.
    ///
    /// Returns nil — no exemplar, rather than an invalid one — when no label is left, when a
    /// name is not a valid label name (or is repeated), when the counts differ, or when
    /// `value` or `timestamp` is NaN or infinite.
    public init?(labelNames names: [String], labelValues values: [String], value: Double, timestamp: Double?) {
        guard let labels = Labels(names) else { return nil }
        self.init(labels, values: values, value: value, timestamp: timestamp)
    }

    /// Makes an exemplar of `labels` with `values` (one per name, in order), as
    /// `init(labelNames:labelValues:value:timestamp:)` does, without checking the names again.
    public init?(_ labels: Labels, values: [String], value: Double, timestamp: Double?) {
        guard labels.names.count == values.count, value.isFinite, timestamp?.isFinite ?? true else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96)
        bytes.append(0x7B)  // {
        var characters = 0
        for (i, text) in values.enumerated() where !text.isEmpty {
            var text = text
            // Code points: the bytes that start one.
            let length = labels.nameCharacters[i] + text.withUTF8 { $0.reduce(0) { $0 + ($1 & 0xC0 != 0x80 ? 1 : 0) } }
            if characters + length > Self.maxLabelCharacters { break }
            characters += length
            if bytes.count > 1 { bytes.append(0x2C) }  // ,
            bytes.append(contentsOf: labels.openings[i])
            ExpositionWriter.appendEscapedLabelValue(text, to: &bytes)
            bytes.append(0x22)  // "
        }
        guard bytes.count > 1 else { return nil }
        bytes.append(0x7D)  // }
        labelBytes = bytes
        self.value = value
        self.timestamp = timestamp
    }

    /// The label set as rendered: `{invocation_id="42",trace_id="…"}`.
    public var renderedLabels: String { String(decoding: labelBytes, as: UTF8.self) }

    /// Appends ` # {labels} value[ timestamp]` (the text after a bucket's count). The value is
    /// written as sample values are; the timestamp in plain decimal notation
    /// (`1700000000.123`), never with an exponent.
    func append(to buffer: inout [UInt8]) {
        ExpositionWriter.append(" # ", to: &buffer)
        buffer.append(contentsOf: labelBytes)
        buffer.append(ExpositionWriter.space)
        ExpositionWriter.appendValue(value, to: &buffer)
        if let timestamp {
            buffer.append(ExpositionWriter.space)
            ExpositionWriter.appendShortestFloat(timestamp, forceDecimalPoint: false, allowExponent: false, to: &buffer)
        }
    }

    /// Whether two exemplars render the same: labels, and value and timestamp bit for bit.
    public static func == (a: Exemplar, b: Exemplar) -> Bool {
        a.labelBytes == b.labelBytes && a.value.bitPattern == b.value.bitPattern && a.timestamp?.bitPattern == b.timestamp?.bitPattern
    }
}
