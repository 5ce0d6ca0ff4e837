/// The values and prebuilt bytes of one metric family, stored as a struct of
/// arrays indexed by series slot (no per-series objects).
///
/// Per series: its label values (flat, `labelCount` per slot, found through
/// `SeriesIndex`), the start of its prefix bytes in `arena`, the
/// length of its rendered label set, its value (counter/gauge value or
/// histogram sum) and, for histograms, one count per bucket.
///
/// The arena holds each series' prefixes back to back:
/// - counter/gauge: `name{labels} ` (name is `x_total` for counters);
/// - histogram: `x_bucket{labels,` (or `x_bucket{`), then `x_sum{labels} `,
///   then `x_count{labels} `; bucket lines append a per-family precomputed
///   `le="…"} ` suffix to the first.
struct FamilyStorage {
    /// Marks a free slot in `labelsLength`.
    static let deadSlot = UInt32.max

    let family: MetricFamily
    let type: MetricType
    /// Label values per series (the stride of `labelValues`).
    let labelCount: Int
    let bounds: [Double]
    /// Buckets per histogram series including `+Inf`; 0 for counters and gauges.
    let bucketStride: Int

    // Precomputed family-level bytes.
    let textHeader: [UInt8]
    let openMetricsHeader: [UInt8]
    /// `x_total`, `x`, or `x_bucket` for histograms.
    let sampleName: [UInt8]
    let sumName: [UInt8]
    let countName: [UInt8]
    /// Per bucket, `le="…"} ` with the bound in Go `%g` style (`1`, `0.005`).
    let textBucketSuffixes: [[UInt8]]
    /// Per bucket, `le="…"} ` with the bound in OpenMetrics canonical form (`1.0`).
    let openMetricsBucketSuffixes: [[UInt8]]
    /// OpenMetrics forbids `_sum` when a bucket bound is negative.
    let openMetricsRendersSum: Bool

    // Per-series arrays, indexed by slot.
    /// `labelCount` values per slot; empty strings for free slots.
    var labelValues: [String] = []
    var prefixStart: [Int] = []
    var labelsLength: [UInt32] = []
    /// Counter/gauge value or histogram sum, per slot. A reference: the
    /// storage struct is never copied for mutation, only for reading.
    let values = Column<Double>()
    /// `bucketStride` non-cumulative counts per slot (histograms only).
    let bucketCounts = Column<UInt64>()
    /// When each series was created, seconds since the epoch (OpenMetrics `_created`, for
    /// counters and histograms).
    var created: [Double] = []
    /// `x_created` (counters and histograms; empty for gauges and info).
    let createdName: [UInt8]

    /// Whether buckets of this histogram keep an exemplar (`MetricRegistry.enableExemplars`).
    var carriesExemplars = false
    /// Per slot and bucket (`bucketStride` per slot, like `bucketCounts`): the bucket's latest
    /// exemplar. Empty until the first is set; shorter than the slots when later slots have none.
    var exemplars: [Exemplar?] = []

    var index = SeriesIndex()
    var freeSlots: [Int32] = []
    /// Whether the family is rendered (an operator's `--metrics.drop` turns it off).
    var exported = true
    var arena: [UInt8] = []
    var deadArenaBytes = 0
    var liveCount = 0
    var liveLabelBytes = 0
    var overflowSlot: Int32 = -1
    var dropped: UInt64 = 0

    init(family: MetricFamily) {
        self.family = family
        self.type = family.type
        self.labelCount = family.labelNames.count
        self.bounds = family.buckets
        self.bucketStride = family.type == .histogram ? family.buckets.count + 1 : 0
        self.createdName = family.type == .counter || family.type == .histogram ? Array((family.openMetricsName + "_created").utf8) : []

        var text: [UInt8] = []
        if !family.help.isEmpty {
            ExpositionWriter.append("# HELP ", to: &text)
            ExpositionWriter.append(family.textName, to: &text)
            text.append(ExpositionWriter.space)
            ExpositionWriter.appendEscapedHelp(family.help, escapeQuotes: false, to: &text)
            text.append(ExpositionWriter.newline)
        }
        ExpositionWriter.append("# TYPE ", to: &text)
        ExpositionWriter.append(family.textName, to: &text)
        text.append(ExpositionWriter.space)
        ExpositionWriter.append(family.type.textTypeName, to: &text)
        text.append(ExpositionWriter.newline)
        self.textHeader = text

        var om: [UInt8] = []
        let omName = family.openMetricsName
        ExpositionWriter.append("# TYPE ", to: &om)
        ExpositionWriter.append(omName, to: &om)
        om.append(ExpositionWriter.space)
        ExpositionWriter.append(family.type.rawValue, to: &om)
        om.append(ExpositionWriter.newline)
        if family.rendersUnitLine, let unit = family.unit {
            ExpositionWriter.append("# UNIT ", to: &om)
            ExpositionWriter.append(omName, to: &om)
            om.append(ExpositionWriter.space)
            ExpositionWriter.append(unit, to: &om)
            om.append(ExpositionWriter.newline)
        }
        if !family.help.isEmpty {
            ExpositionWriter.append("# HELP ", to: &om)
            ExpositionWriter.append(omName, to: &om)
            om.append(ExpositionWriter.space)
            ExpositionWriter.appendEscapedHelp(family.help, escapeQuotes: true, to: &om)
            om.append(ExpositionWriter.newline)
        }
        self.openMetricsHeader = om

        switch family.type {
        case .counter, .gauge, .info:
            self.sampleName = Array(family.sampleName.utf8)
            self.sumName = []
            self.countName = []
            self.textBucketSuffixes = []
            self.openMetricsBucketSuffixes = []
            self.openMetricsRendersSum = false
        case .histogram:
            self.sampleName = Array((family.name + "_bucket").utf8)
            self.sumName = Array((family.name + "_sum").utf8)
            self.countName = Array((family.name + "_count").utf8)
            var textSuffixes: [[UInt8]] = []
            var omSuffixes: [[UInt8]] = []
            for bound in family.buckets + [.infinity] {
                for canonical in [false, true] {
                    var suffix: [UInt8] = []
                    ExpositionWriter.append("le=\"", to: &suffix)
                    ExpositionWriter.appendShortestFloat(bound, forceDecimalPoint: canonical, to: &suffix)
                    ExpositionWriter.append("\"} ", to: &suffix)
                    if canonical { omSuffixes.append(suffix) } else { textSuffixes.append(suffix) }
                }
            }
            self.textBucketSuffixes = textSuffixes
            self.openMetricsBucketSuffixes = omSuffixes
            self.openMetricsRendersSum = family.buckets.allSatisfy { $0 >= 0 }
        }
    }

    // MARK: Prefix lengths

    @inline(__always)
    func mainPrefixLength(labelsLength: Int) -> Int {
        sampleName.count + labelsLength + 1
    }

    @inline(__always)
    func bucketBaseLength(labelsLength: Int) -> Int {
        sampleName.count + (labelsLength == 0 ? 1 : labelsLength)
    }

    @inline(__always)
    func sumPrefixLength(labelsLength: Int) -> Int {
        sumName.count + labelsLength + 1
    }

    @inline(__always)
    func countPrefixLength(labelsLength: Int) -> Int {
        countName.count + labelsLength + 1
    }

    func arenaLength(labelsLength: Int) -> Int {
        switch type {
        case .counter, .gauge, .info:
            return mainPrefixLength(labelsLength: labelsLength)
        case .histogram:
            return bucketBaseLength(labelsLength: labelsLength)
                + sumPrefixLength(labelsLength: labelsLength)
                + countPrefixLength(labelsLength: labelsLength)
        }
    }

    // MARK: Series lifecycle

    /// Whether a label-value set is the overflow set (every value
    /// `MetricRegistry.overflowLabelValue`).
    func isOverflowSet(_ labelValues: [String]) -> Bool {
        !labelValues.isEmpty && labelValues.allSatisfy { $0 == MetricRegistry.overflowLabelValue }
    }

    /// The slot holding exactly these label values, if any. Hashes once.
    @inline(__always)
    func lookup(_ values: [String]) -> Int32? {
        lookup(values, hash: SeriesIndex.hash(values))
    }

    func lookup(_ values: [String], hash: UInt32) -> Int32? {
        index.find(hash: hash) { slot in
            let base = Int(slot) * labelCount
            for i in 0 ..< labelCount where labelValues[base + i] != values[i] { return false }
            return true
        }
    }

    /// The label values of a slot.
    func labels(ofSlot slot: Int) -> [String] {
        Array(labelValues[slot * labelCount ..< (slot + 1) * labelCount])
    }

    /// Creates a series with zero values and returns its slot. The caller
    /// has checked that the set is not present.
    mutating func createSeries(_ values: [String], hash: UInt32, created: Double) -> Int32 {
        let labels = ExpositionWriter.labelSet(names: family.labelNames, values: values)
        let start = arena.count
        switch type {
        case .counter, .gauge, .info:
            arena.append(contentsOf: sampleName)
            arena.append(contentsOf: labels)
            arena.append(ExpositionWriter.space)
        case .histogram:
            arena.append(contentsOf: sampleName)
            if labels.isEmpty {
                arena.append(0x7B)  // {
            } else {
                arena.append(contentsOf: labels.dropLast())
                arena.append(0x2C)  // ,
            }
            arena.append(contentsOf: sumName)
            arena.append(contentsOf: labels)
            arena.append(ExpositionWriter.space)
            arena.append(contentsOf: countName)
            arena.append(contentsOf: labels)
            arena.append(ExpositionWriter.space)
        }
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            let s = Int(free)
            labelValues.replaceSubrange(s * labelCount ..< (s + 1) * labelCount, with: values)
            prefixStart[s] = start
            labelsLength[s] = UInt32(labels.count)
            self.values[s] = 0
            self.created[s] = created
            if bucketStride > 0 {
                bucketCounts.fill(0, from: s * bucketStride, count: bucketStride)
                clearExemplars(slot: s)
            }
        } else {
            slot = Int32(labelsLength.count)
            labelValues.append(contentsOf: values)
            prefixStart.append(start)
            labelsLength.append(UInt32(labels.count))
            self.values.append(0)
            self.created.append(created)
            if bucketStride > 0 {
                bucketCounts.append(0, count: bucketStride)
            }
        }
        index.insert(hash: hash, slot: slot)
        liveCount += 1
        liveLabelBytes += labels.count
        return slot
    }

    /// Frees a live slot: forgets its labels, zeroes its values, and makes
    /// the slot reusable.
    mutating func removeSlot(_ slot: Int32) {
        let s = Int(slot)
        guard s >= 0, s < labelsLength.count, labelsLength[s] != Self.deadSlot else { return }
        let base = s * labelCount
        index.remove(hash: SeriesIndex.hash(labelValues[base ..< base + labelCount]), slot: slot)
        for i in base ..< base + labelCount { labelValues[i] = "" }
        let length = Int(labelsLength[s])
        deadArenaBytes += arenaLength(labelsLength: length)
        liveLabelBytes -= length
        labelsLength[s] = Self.deadSlot
        values[s] = 0
        if bucketStride > 0 {
            bucketCounts.fill(0, from: s * bucketStride, count: bucketStride)
            clearExemplars(slot: s)
        }
        if slot == overflowSlot { overflowSlot = -1 }
        freeSlots.append(slot)
        liveCount -= 1
        if liveCount == 0 {
            // Nothing live: drop everything, including the slots.
            labelValues = []
            index.removeAll()
            prefixStart = []
            labelsLength = []
            values.removeAll()
            bucketCounts.removeAll()
            exemplars = []
            freeSlots = []
            arena = []
            deadArenaBytes = 0
        } else if deadArenaBytes > 4096 && deadArenaBytes > arena.count / 2 {
            compactArena()
        }
    }

    /// Rewrites the arena without the bytes of removed series. Slots (and so
    /// handles) do not change.
    mutating func compactArena() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(arena.count - deadArenaBytes)
        for s in 0 ..< labelsLength.count where labelsLength[s] != Self.deadSlot {
            let start = prefixStart[s]
            let length = arenaLength(labelsLength: Int(labelsLength[s]))
            prefixStart[s] = fresh.count
            fresh.append(contentsOf: arena[start ..< start + length])
        }
        arena = fresh
        deadArenaBytes = 0
    }

    // MARK: Histogram

    /// Forgets slot `s`'s exemplars (a removed or reused slot).
    mutating func clearExemplars(slot s: Int) {
        let start = s * bucketStride
        guard start < exemplars.count else { return }
        for i in start ..< min(start + bucketStride, exemplars.count) { exemplars[i] = nil }
    }

    /// Sets the exemplar of bucket `bucket` of live slot `s`, if the family carries exemplars
    /// and the exemplar's value lies within that bucket; returns whether it did. In place (no
    /// copy of the storage).
    mutating func setExemplar(slot s: Int, bucket: Int, _ exemplar: Exemplar) -> Bool {
        guard carriesExemplars, s >= 0, s < labelsLength.count, labelsLength[s] != Self.deadSlot,
              bucket >= 0, bucket < bucketStride, bucketIndex(for: exemplar.value) == bucket else { return false }
        let i = s * bucketStride + bucket
        if i >= exemplars.count {
            exemplars.append(contentsOf: repeatElement(nil, count: max(i + 1, labelsLength.count * bucketStride) - exemplars.count))
        }
        // Prometheus rejects an exemplar older than the last one it stored for the bucket's
        // series ("out of order exemplar"): keep the newer one (several writers feeding one
        // series, as a source group's instances do, can report out of time order).
        if let held = exemplars[i], let then = held.timestamp, let now = exemplar.timestamp, now < then { return false }
        exemplars[i] = exemplar
        return true
    }

    /// The bucket an observation falls into: the first bound ≥ value, or
    /// the `+Inf` bucket.
    @inline(__always)
    func bucketIndex(for value: Double) -> Int {
        if bounds.count <= 16 {
            for i in 0 ..< bounds.count where value <= bounds[i] { return i }
            return bounds.count
        }
        var low = 0
        var high = bounds.count
        while low < high {
            let mid = (low + high) / 2
            if value <= bounds[mid] { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
