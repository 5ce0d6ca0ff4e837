/// Every value of a `MetricRegistry`, for checkpointing: per family, its
/// identity (name, type, label names, bucket bounds), its dropped-series
/// count, and its live series as flat arrays.
///
/// Compact by construction: label values are one flat array (label count
/// per series, series-major), values one `Double` per series, and histogram
/// bucket counts one flat array (bounds + 1 per series, per bucket, *not*
/// cumulative). Series appear in the registry's render order, so restoring
/// into a fresh registry reproduces the same exposition byte for byte.
///
/// Encoding: when every value is finite the values are encoded as numbers
/// (`values`); if any is NaN or ±Inf they are encoded as IEEE-754 bit
/// patterns (`valueBits`) instead, so any `Encoder` (JSON included)
/// round-trips them exactly. Equality compares values by bit pattern, so a
/// snapshot holding NaN equals itself.
public struct MetricSnapshot: Codable, Sendable, Equatable {
    /// Snapshot layout version; currently 1.
    public var version: Int
    /// One entry per registered family, in registration order.
    public var families: [Family]

    /// Creates a snapshot from families.
    public init(version: Int = 1, families: [Family]) {
        self.version = version
        self.families = families
    }

    /// The values of one family.
    public struct Family: Codable, Sendable, Equatable {
        /// The family name as registered.
        public var name: String
        /// The family type.
        public var type: MetricType
        /// The label names, which give the stride of `labelValues`.
        public var labelNames: [String]
        /// Histogram bucket bounds (without `+Inf`); empty otherwise.
        public var bucketBounds: [Double]
        /// The family's `droppedSeries` count.
        public var droppedSeries: UInt64
        /// `labelNames.count` values per series, series after series.
        public var labelValues: [String]
        /// Per series: the counter or gauge value, or the histogram sum.
        public var values: [Double]
        /// Histograms: `bucketBounds.count + 1` non-cumulative counts per
        /// series, the `+Inf` bucket last. Empty for counters and gauges.
        public var bucketCounts: [UInt64]
        /// Per series, when it was created (seconds since the epoch; OpenMetrics `_created`).
        /// Empty in snapshots written before it was kept: restored series are then created
        /// at the restore.
        public var created: [Double] = []

        /// Creates a family snapshot.
        public init(name: String, type: MetricType, labelNames: [String], bucketBounds: [Double], droppedSeries: UInt64, labelValues: [String], values: [Double], bucketCounts: [UInt64], created: [Double] = []) {
            self.created = created
            self.name = name
            self.type = type
            self.labelNames = labelNames
            self.bucketBounds = bucketBounds
            self.droppedSeries = droppedSeries
            self.labelValues = labelValues
            self.values = values
            self.bucketCounts = bucketCounts
        }

        /// The number of series held.
        public var seriesCount: Int { values.count }

        /// Whether the arrays agree with each other: label values and bucket
        /// counts have exactly the length the series count implies.
        public var isConsistent: Bool {
            let buckets = type == .histogram ? bucketBounds.count + 1 : 0
            return labelValues.count == values.count * labelNames.count
                && bucketCounts.count == values.count * buckets
                && (type == .histogram || bucketBounds.isEmpty)
                && (created.isEmpty || created.count == values.count)
        }

        enum CodingKeys: String, CodingKey {
            case name, type, labelNames, bucketBounds, droppedSeries, labelValues, values, valueBits, bucketCounts, created
        }

        /// Decodes a family; accepts either `values` or `valueBits`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            type = try container.decode(MetricType.self, forKey: .type)
            labelNames = try container.decode([String].self, forKey: .labelNames)
            bucketBounds = try container.decodeIfPresent([Double].self, forKey: .bucketBounds) ?? []
            droppedSeries = try container.decodeIfPresent(UInt64.self, forKey: .droppedSeries) ?? 0
            labelValues = try container.decode([String].self, forKey: .labelValues)
            if let bits = try container.decodeIfPresent([UInt64].self, forKey: .valueBits) {
                values = bits.map(Double.init(bitPattern:))
            } else {
                values = try container.decode([Double].self, forKey: .values)
            }
            bucketCounts = try container.decodeIfPresent([UInt64].self, forKey: .bucketCounts) ?? []
            created = try container.decodeIfPresent([Double].self, forKey: .created) ?? []
        }

        /// Encodes a family; values as numbers when all are finite, as bit
        /// patterns otherwise.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(type, forKey: .type)
            try container.encode(labelNames, forKey: .labelNames)
            if !bucketBounds.isEmpty { try container.encode(bucketBounds, forKey: .bucketBounds) }
            try container.encode(droppedSeries, forKey: .droppedSeries)
            try container.encode(labelValues, forKey: .labelValues)
            if values.allSatisfy(\.isFinite) {
                try container.encode(values, forKey: .values)
            } else {
                try container.encode(values.map(\.bitPattern), forKey: .valueBits)
            }
            if !bucketCounts.isEmpty { try container.encode(bucketCounts, forKey: .bucketCounts) }
            if !created.isEmpty { try container.encode(created, forKey: .created) }
        }

        /// Equal when every field is equal, comparing doubles by bit pattern.
        public static func == (lhs: Family, rhs: Family) -> Bool {
            lhs.name == rhs.name && lhs.type == rhs.type && lhs.labelNames == rhs.labelNames
                && lhs.bucketBounds.map(\.bitPattern) == rhs.bucketBounds.map(\.bitPattern)
                && lhs.droppedSeries == rhs.droppedSeries && lhs.labelValues == rhs.labelValues
                && lhs.values.map(\.bitPattern) == rhs.values.map(\.bitPattern)
                && lhs.bucketCounts == rhs.bucketCounts && lhs.created.map(\.bitPattern) == rhs.created.map(\.bitPattern)
        }
    }
}
