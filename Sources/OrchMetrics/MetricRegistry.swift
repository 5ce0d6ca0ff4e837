import Glibc
/// Metric families and their series, in registration order, with hot-path
/// updates through integer handles and rendering into byte buffers.
///
/// **Not thread-safe.** A registry is a plain mutable object: every call,
/// including rendering and snapshots, must be serialised by the owner (the
/// collector holds it inside its own lock). It is deliberately not `Sendable`.
///
/// Typical use:
/// ```swift
/// let registry = MetricRegistry()
/// let calls = try registry.register(MetricFamily(
///     name: "orch_tool_calls_total", help: "Tool calls by outcome.",
///     type: .counter, labelNames: ["source", "tool", "outcome"]))
/// let handle = try registry.series(calls, labelValues: ["a", "crm", "error"])  // hashes once
/// registry.add(handle, 1)                                                     // array index
/// var bytes: [UInt8] = []
/// registry.render(format: .prometheusText, into: &bytes)
/// ```
///
/// **Cardinality guard.** Each family holds at most `seriesLimitPerFamily`
/// ordinary series. A new label-value set beyond that is folded into the
/// family's single overflow series, whose every label value is
/// `"__overflow__"` (`MetricRegistry.overflowLabelValue`), and the family's
/// `droppedSeries` count goes up by one. The overflow series does not count
/// against the limit, so a family holds at most limit + 1 series.
///
/// **Memory.** No object per series: each family keeps struct-of-arrays
/// columns. Per series that is 16 bytes per label value (flat, no per-series
/// array), 16–32 bytes of hash index, an arena offset and a label length
/// (12 bytes), one `Double`, and for histograms one `UInt64` per bucket
/// including `+Inf`: about 90 bytes for a three-label counter and
/// 90 + 8 × buckets for a histogram, before array growth slack, plus the
/// prefix bytes and the heap storage of label values longer than 15 UTF-8
/// bytes.
public final class MetricRegistry {
    /// The label value of every label of the overflow series: `"__overflow__"`.
    public static let overflowLabelValue = "__overflow__"

    /// The default per-family series limit: 10,000.
    public static let defaultSeriesLimitPerFamily = 10_000

    /// The most ordinary series a family may hold before new label-value
    /// sets fold into its overflow series. Lowering it does not remove
    /// existing series; it only stops new ones.
    @exclusivity(unchecked) public var seriesLimitPerFamily: Int

    /// Changes (increases) every time at least one series is removed. A
    /// caller caching handles can compare it to know when to re-look-up.
    @exclusivity(unchecked) public private(set) var removalGeneration: UInt64 = 0

    @exclusivity(unchecked) var storages: [FamilyStorage] = []
    @exclusivity(unchecked) var familyByName: [String: Int] = [:]
    @exclusivity(unchecked) var reservedNames: Set<String> = []
    /// Asked to set the exemplars it holds back before an OpenMetrics rendering or an
    /// `exemplar(_:bucket:)` read (see `ExemplarSource`); not retained.
    public weak var exemplarSource: (any ExemplarSource)?

    /// Creates an empty registry.
    /// - Parameter seriesLimitPerFamily: the per-family series limit
    ///   (default 10,000); negative values are treated as 0.
    ///   - clock: seconds since the Unix epoch, read when a series is created (its OpenMetrics
    ///     `_created` time); the wall clock unless a test fixes it.
    public init(seriesLimitPerFamily: Int = MetricRegistry.defaultSeriesLimitPerFamily,
                clock: @escaping @Sendable () -> Double = { MetricRegistry.wallClock() }) {
        self.seriesLimitPerFamily = max(0, seriesLimitPerFamily)
        self.clock = clock
    }

    /// Seconds since the Unix epoch.
    public static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// When series are created (`_created`).
    let clock: @Sendable () -> Double

    // MARK: Families

    /// Registers a family and returns its id. Families render in
    /// registration order.
    ///
    /// - Throws: `MetricsError.Code.nameClash` when the family's name or any
    ///   sample name it renders (`x_total`, `x_bucket`, `x_sum`, `x_count`,
    ///   `x_created`, or the counter family name `x`) is already used.
    @discardableResult
    public func register(_ family: MetricFamily) throws(MetricsError) -> MetricFamilyID {
        let names = family.reservedNames
        if let clash = names.first(where: { reservedNames.contains($0) }) {
            throw MetricsError(.nameClash, "\(family.type.rawValue) \(family.name): the name \(clash) is already used by another registered family")
        }
        reservedNames.formUnion(names)
        let index = storages.count
        storages.append(FamilyStorage(family: family))
        familyByName[family.name] = index
        familyByName[family.sampleName] = index
        familyByName[family.openMetricsName] = index
        return MetricFamilyID(index: index)
    }

    /// Registers a counter. See `MetricFamily.init` for the rules.
    /// - Throws: `MetricsError` for an invalid name or label, or a name clash.
    @discardableResult
    public func registerCounter(name: String, help: String, labelNames: [String] = [], unit: String? = nil) throws(MetricsError) -> MetricFamilyID {
        try register(MetricFamily(name: name, help: help, type: .counter, labelNames: labelNames, unit: unit))
    }

    /// Registers a gauge. See `MetricFamily.init` for the rules.
    /// - Throws: `MetricsError` for an invalid name or label, or a name clash.
    @discardableResult
    public func registerGauge(name: String, help: String, labelNames: [String] = [], unit: String? = nil) throws(MetricsError) -> MetricFamilyID {
        try register(MetricFamily(name: name, help: help, type: .gauge, labelNames: labelNames, unit: unit))
    }

    /// Registers an info family (`<family>_info`, value 1); see `register(_:)`.
    /// - Throws: `MetricsError` for an invalid name or label, or a name clash.
    @discardableResult
    public func registerInfo(name: String, help: String, labelNames: [String] = []) throws(MetricsError) -> MetricFamilyID {
        try register(MetricFamily(name: name, help: help, type: .info, labelNames: labelNames))
    }

    /// Registers a histogram with the given bucket upper bounds (the `+Inf`
    /// bucket is implicit). See `MetricFamily.init` for the rules.
    /// - Throws: `MetricsError` for an invalid name, label or bounds, or a name clash.
    @discardableResult
    public func registerHistogram(name: String, help: String, labelNames: [String] = [], buckets: [Double] = MetricFamily.defaultBuckets, unit: String? = nil) throws(MetricsError) -> MetricFamilyID {
        try register(MetricFamily(name: name, help: help, type: .histogram, labelNames: labelNames, unit: unit, buckets: buckets))
    }

    /// Every registered family, in registration order.
    public var families: [MetricFamily] { storages.map(\.family) }

    /// The description of a registered family.
    public func family(_ id: MetricFamilyID) -> MetricFamily { storages[id.index].family }

    /// The id of the family with this name: the registered name, or for a
    /// counter either its `_total` sample name or its OpenMetrics family name.
    public func family(named name: String) -> MetricFamilyID? {
        familyByName[name].map { MetricFamilyID(index: $0) }
    }

    // MARK: Series lookup

    /// Returns the handle of the series with these label values, creating
    /// it (with zero values) if needed. Hashes the label values once; cache
    /// the handle for hot-path updates.
    ///
    /// When the family already holds `seriesLimitPerFamily` ordinary series
    /// and this set is new, returns the overflow series (all label values
    /// `"__overflow__"`) and adds one to `droppedSeries(family)`; each such
    /// call counts, so callers should cache the handle they get.
    ///
    /// - Parameters:
    ///   - family: a family id issued by this registry.
    ///   - labelValues: one value per label name, in order; any string,
    ///     including empty and non-ASCII.
    /// - Throws: `.unknownFamily` for a foreign id, `.labelCountMismatch`
    ///   when the number of values differs from the family's label names.
    public func series(_ family: MetricFamilyID, labelValues: [String]) throws(MetricsError) -> SeriesHandle {
        let f = family.index
        guard f >= 0, f < storages.count else {
            throw MetricsError(.unknownFamily, "family id \(f) was not issued by this registry (it has \(storages.count) families)")
        }
        if labelValues.count == storages[f].labelCount, let slot = storages[f].lookup(labelValues) {
            return SeriesHandle(family: f, slot: slot)
        }
        return try newSeries(family: f, labelValues: labelValues).handle
    }

    /// The series with these label values if it exists (nothing is created), else nil.
    public func existingSeries(_ family: MetricFamilyID, labelValues: [String]) -> SeriesHandle? {
        let f = family.index
        guard f >= 0, f < storages.count, labelValues.count == storages[f].labelCount,
              let slot = storages[f].lookup(labelValues) else { return nil }
        return SeriesHandle(family: f, slot: slot)
    }

    /// The slow path of `series(_:labelValues:)`: validates, applies the
    /// limit, creates. Returns whether the set was folded into overflow.
    @inline(never)
    func newSeries(family f: Int, labelValues: [String]) throws(MetricsError) -> (handle: SeriesHandle, folded: Bool) {
        let expected = storages[f].family.labelNames.count
        guard labelValues.count == expected else {
            throw MetricsError(.labelCountMismatch, "\(storages[f].family.name) has \(expected) labels \(storages[f].family.labelNames) but got \(labelValues.count) values")
        }
        let hash = SeriesIndex.hash(labelValues)
        if let slot = storages[f].lookup(labelValues, hash: hash) {
            return (SeriesHandle(family: f, slot: slot), false)
        }
        if storages[f].isOverflowSet(labelValues) {
            return (SeriesHandle(family: f, slot: overflowSlot(family: f)), false)
        }
        let ordinary = storages[f].liveCount - (storages[f].overflowSlot >= 0 ? 1 : 0)
        if ordinary >= seriesLimitPerFamily {
            storages[f].dropped &+= 1
            return (SeriesHandle(family: f, slot: overflowSlot(family: f)), true)
        }
        let slot = storages[f].createSeries(labelValues, hash: hash, created: clock())
        return (SeriesHandle(family: f, slot: slot), false)
    }

    func overflowSlot(family f: Int) -> Int32 {
        if storages[f].overflowSlot >= 0 { return storages[f].overflowSlot }
        let values = Array(repeating: Self.overflowLabelValue, count: storages[f].family.labelNames.count)
        let slot = storages[f].createSeries(values, hash: SeriesIndex.hash(values), created: clock())
        storages[f].overflowSlot = slot
        return slot
    }

    /// The label values of a live series (all `"__overflow__"` for the
    /// overflow series); empty for a removed one.
    public func labelValues(_ series: SeriesHandle) -> [String] {
        guard isLive(series) else { return [] }
        return storages[Int(series.family)].labels(ofSlot: Int(series.slot))
    }

    /// The label values of `family`'s series in `slot`, or nil when no live series is there.
    public func labelValues(family: MetricFamilyID, slot: Int32) -> [String]? {
        let handle = SeriesHandle(family: family.index, slot: slot)
        guard family.index >= 0, family.index < storages.count, isLive(handle) else { return nil }
        return storages[family.index].labels(ofSlot: Int(slot))
    }

    // MARK: Hot-path updates

    /// Adds `amount` to a counter or gauge. For counters, amounts that are
    /// negative or NaN are ignored (a counter never goes down); for
    /// histograms the call does nothing. An array index operation.
    @inline(__always)
    public func add(_ series: SeriesHandle, _ amount: Double) {
        let f = Int(series.family)
        guard f >= 0, f < storages.count else { return }
        switch storages[f].type {
        case .counter:
            guard amount >= 0 else { return }
        case .gauge, .info:
            break
        case .histogram:
            return
        }
        let values = storages[f].values
        let slot = Int(series.slot)
        guard UInt(bitPattern: slot) < UInt(bitPattern: values.count) else { return }
        values.base[slot] += amount
    }

    /// Adds 1 to a counter or gauge.
    @inline(__always)
    public func increment(_ series: SeriesHandle) {
        add(series, 1)
    }

    /// Sets a gauge, or a counter mirrored from an external total (such as
    /// process CPU seconds; the caller keeps it monotonic). NaN is ignored
    /// for counters. Does nothing for histograms.
    @inline(__always)
    public func set(_ series: SeriesHandle, _ value: Double) {
        let f = Int(series.family)
        guard f >= 0, f < storages.count else { return }
        switch storages[f].type {
        case .counter:
            guard !value.isNaN else { return }
        case .gauge, .info:
            break
        case .histogram:
            return
        }
        let values = storages[f].values
        let slot = Int(series.slot)
        guard UInt(bitPattern: slot) < UInt(bitPattern: values.count) else { return }
        values.base[slot] = value
    }

    /// Records one observation in a histogram: one more in the first bucket
    /// whose bound is ≥ `value` (or `+Inf`), and `value` added to the sum.
    /// NaN observations are ignored (OpenMetrics forbids a NaN sum). Does
    /// nothing for counters and gauges.
    @inline(__always)
    public func observe(_ series: SeriesHandle, _ value: Double) {
        let f = Int(series.family)
        guard f >= 0, f < storages.count else { return }
        let stride = storages[f].bucketStride
        let values = storages[f].values
        let slot = Int(series.slot)
        guard stride > 0, !value.isNaN, UInt(bitPattern: slot) < UInt(bitPattern: values.count) else { return }
        let bucket = storages[f].bucketIndex(for: value)
        storages[f].bucketCounts.base[slot * stride + bucket] &+= 1
        values.base[slot] += value
    }

    // MARK: Reading values

    /// The current value of a counter or gauge, or the sum of a histogram.
    /// Returns 0 for a handle that no longer names a live series.
    public func value(_ series: SeriesHandle) -> Double {
        guard isLive(series) else { return 0 }
        return storages[Int(series.family)].values[Int(series.slot)]
    }

    /// Whether a handle names a live series of this registry.
    public func isLive(_ series: SeriesHandle) -> Bool {
        let f = Int(series.family)
        let s = Int(series.slot)
        return f >= 0 && f < storages.count && s >= 0 && s < storages[f].labelsLength.count
            && storages[f].labelsLength[s] != FamilyStorage.deadSlot
    }

    /// The number of observations of a histogram series (its `_count`); 0
    /// for counters and gauges.
    public func observationCount(_ series: SeriesHandle) -> UInt64 {
        guard isLive(series) else { return 0 }
        let storage = storages[Int(series.family)]
        let stride = storage.bucketStride
        guard stride > 0 else { return 0 }
        let base = Int(series.slot) * stride
        return storage.bucketCounts.buffer(from: base, count: stride).reduce(0, &+)
    }

    /// Cumulative bucket counts of a histogram series, one per bound plus
    /// the `+Inf` bucket last (which equals `observationCount`); empty for
    /// counters and gauges.
    public func cumulativeBucketCounts(_ series: SeriesHandle) -> [UInt64] {
        guard isLive(series) else { return [] }
        let storage = storages[Int(series.family)]
        let stride = storage.bucketStride
        guard stride > 0 else { return [] }
        let base = Int(series.slot) * stride
        var total: UInt64 = 0
        return storage.bucketCounts.buffer(from: base, count: stride).map { total &+= $0; return total }
    }

    // MARK: Cardinality

    /// New label-value sets of this family that were folded into its
    /// overflow series because the family was at its limit. Export as
    /// `orchlog_collector_series_dropped_total{metric}`.
    public func droppedSeries(_ family: MetricFamilyID) -> UInt64 {
        storages[family.index].dropped
    }

    /// Live series in one family, the overflow series included.
    public func seriesCount(_ family: MetricFamilyID) -> Int {
        storages[family.index].liveCount
    }

    /// Live series in all families, overflow series included.
    public var seriesCount: Int {
        storages.reduce(0) { $0 + $1.liveCount }
    }

    // MARK: Removal

    /// Removes, in every family that has a label called `label`, each series
    /// whose value for it is `value` (for example all series of an expired
    /// `source`). Returns how many series were removed.
    ///
    /// Handles of the removed series become invalid (their slots may be
    /// reused); handles of other series stay valid.
    @discardableResult
    public func removeSeries(whereLabel label: String, equals value: String) -> Int {
        var removed = 0
        for f in storages.indices {
            removed += removeSeries(inFamily: f, whereLabel: label, equals: value)
        }
        if removed > 0 { removalGeneration &+= 1 }
        return removed
    }

    /// Removes the series of one family whose label `label` equals `value`.
    /// Returns how many were removed (0 if the family has no such label).
    @discardableResult
    public func removeSeries(_ family: MetricFamilyID, whereLabel label: String, equals value: String) -> Int {
        let removed = removeSeries(inFamily: family.index, whereLabel: label, equals: value)
        if removed > 0 { removalGeneration &+= 1 }
        return removed
    }

    /// Removes one series. Returns false if it was already removed.
    @discardableResult
    public func removeSeries(_ series: SeriesHandle) -> Bool {
        let f = Int(series.family)
        guard isLive(series) else { return false }
        storages[f].removeSlot(series.slot)
        removalGeneration &+= 1
        return true
    }

    func removeSeries(inFamily f: Int, whereLabel label: String, equals value: String) -> Int {
        guard let position = storages[f].family.labelNames.firstIndex(of: label) else { return 0 }
        var doomed: [Int32] = []
        for s in 0 ..< storages[f].labelsLength.count
        where storages[f].labelsLength[s] != FamilyStorage.deadSlot
            && storages[f].labelValues[s * storages[f].labelCount + position] == value {
            doomed.append(Int32(s))
        }
        for slot in doomed { storages[f].removeSlot(slot) }
        return doomed.count
    }
}

/// A registry must be confined to one thread at a time (its owner's lock).
@available(*, unavailable)
extension MetricRegistry: Sendable {}
