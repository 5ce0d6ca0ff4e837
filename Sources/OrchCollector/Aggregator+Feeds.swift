import OrchLog
import OrchMetrics

/// Running a type's feeds over a run of its events: first every event's bundle (made on first
/// sight, before any cell is touched, since making series moves cells), then one tight loop
/// per feed over the columns it reads — counters added to, gauges set, histogram buckets found
/// on the integer field against precomputed integer bounds. Each update is the one
/// `MetricRegistry.add`/`set`/`observe` would make, in row order per series.
extension Aggregator {
    /// Applies events `range` (indices among the block's events of `plan.type`).
    func apply(_ plan: FeedPlan, _ range: Range<Int>, _ v: BlockColumnsView, _ s: SourceAggregation) throws {
        let n = range.count
        if bundleOf.count < n { bundleOf.append(contentsOf: repeatElement(0, count: n - bundleOf.count)) }
        if try resolve(plan, range, v, s) { hot = fetchCells() }
        let base = feedBase[Int(plan.type.rawValue)]
        let flags = plan.type == .stateRead ? stale : plan.type == .stateWrite ? lost : []
        try bundleOf.withUnsafeBufferPointer { bundles in
            try s.slots.withUnsafeBufferPointer { slots in
                try flags.withUnsafeBufferPointer { flags in
                    for (i, feed) in plan.feeds.enumerated() where !Self.idle(feed, plan.type, range, v) {
                        try run(feed, cells: hot[base + i], buckets: buckets[base + i], plan.type, range, v, s,
                                bundles: bundles, slots: slots, flags: flags)
                        if exemplars.idSlots[base + i] >= 0, let b = buckets[base + i] {
                            exemplars.record(feed: base + i, feed, cells: hot[base + i], buckets: b, plan.type, range, v, s,
                                             bundles: bundles, slots: slots, flags: flags)
                        }
                    }
                }
            }
        }
    }

    /// Whether `feed` would change nothing over events `range` because a column it needs is
    /// zero throughout (a field the events leave at 0, or absent from the block, as a field
    /// newer than the writer is): a sum of zeros, or a condition no event meets. Skipping it
    /// is exact (x + 0 = x; the series exist already: bundles are made first). One OR over
    /// the column, against a loop of loads and stores per event.
    @inline(__always)
    static func idle(_ feed: FeedPlan.Feed, _ type: EventType, _ range: Range<Int>, _ v: BlockColumnsView) -> Bool {
        @inline(__always) func zero(_ slot: Int) -> Bool {
            let column = v.number(type, slot)
            var any: UInt64 = 0
            for k in range { any |= column[k] }
            return any == 0
        }
        let c = feed.condition
        switch c.kind {
        case .nonzero, .greater:
            if zero(c.slot) { return true }
        case .equals where c.value != 0:
            if zero(c.slot) { return true }
        default:
            break
        }
        return feed.record.kind == .sum && zero(feed.record.slot)
    }

    /// Finds (or makes) the bundle of every event of `range` into `bundleOf`, and the
    /// `unknown` series an event's unknown enumeration code needs. Returns whether a series
    /// was made (the cells must be fetched anew). One loop per count of key components, the
    /// block's interned ids and the bundle cache read through raw views (misses go to the
    /// source: interning, in row order, and the bundle dictionary).
    private func resolve(_ plan: FeedPlan, _ range: Range<Int>, _ v: BlockColumnsView, _ s: SourceAggregation) throws -> Bool {
        let type = plan.type
        let typeBits = UInt64(type.rawValue)
        let comps = plan.components
        // The key columns, and per component whether it is a label (an interned id) or a
        // code (clamped to the enumeration's size: past it, one `unknown`).
        let empty = UnsafeBufferPointer<UInt64>(start: nil, count: 0)
        func column(_ i: Int) -> UnsafeBufferPointer<UInt64> {
            guard i < comps.count else { return empty }
            switch comps[i] {
            case .label(let slot): return v.label(type, slot)
            case .code(let slot, _): return v.number(type, slot)
            }
        }
        func limit(_ i: Int) -> UInt64 {
            guard i < comps.count else { return 0 }
            if case .code(_, let count) = comps[i] { return UInt64(count) }
            return UInt64.max  // a label
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
        let m0 = limit(0), m1 = limit(1), m2 = limit(2), m3 = limit(3)
        let fast = s.lookups
        @inline(__always) func part(_ col: UnsafeBufferPointer<UInt64>, _ max: UInt64, _ k: Int) -> UInt64 {
            let r = col[k]
            guard max == UInt64.max else { return Swift.min(r, max) }
            let index = UInt32(truncatingIfNeeded: r)
            return UInt64(fast.id(index) ?? s.id(index))
        }
        // Feeds with an `each` label whose column holds a code past the known ones in this
        // run (rare: an OR over the column rules it out, else a scan decides).
        var eachFeeds: [FeedPlan.Feed] = [], eachColumns: [UnsafeBufferPointer<UInt64>] = []
        var last: (slot: Int, limit: UInt64, past: Bool) = (-1, 0, false)
        for feed in plan.feeds {
            guard let each = feed.each else { continue }
            let column = v.number(type, each.slot), limit = UInt64(each.names.count)
            if last.slot != each.slot || last.limit != limit {
                var any: UInt64 = 0
                for k in range { any |= column[k] }
                var past = any >= limit
                if past {
                    var high: UInt64 = 0
                    for k in range { high = Swift.max(high, column[k]) }
                    past = high >= limit
                }
                last = (each.slot, limit, past)
            }
            if last.past {
                eachFeeds.append(feed)
                eachColumns.append(column)
            }
        }
        var made = false
        let lower = range.lowerBound
        try bundleOf.withUnsafeMutableBufferPointer { out in
            @inline(__always) func each(_ key: (Int) -> BundleKey) throws {
                for k in range {
                    let key = key(k)
                    var b: Int
                    if let found = fast.bundle(key) ?? s.bundleMiss(key) {
                        b = found
                    } else {
                        b = try makeBundle(s, plan, key, components: key.components, texts: texts(plan, v, s, k))
                        made = true
                    }
                    if !eachFeeds.isEmpty {
                        for (i, feed) in eachFeeds.enumerated() where eachColumns[i][k] >= UInt64(feed.each!.names.count) {
                            if s.slots[b + feed.offset + feed.width - 1] < 0 {
                                try makeUnknown(s, plan, feed, bundle: b, components: key.components, texts: texts(plan, v, s, k))
                                made = true
                            }
                        }
                    }
                    out[k &- lower] = Int32(truncatingIfNeeded: b)
                }
            }
            switch comps.count {
            case 0: try each { _ in BundleKey(type: typeBits, 0, 0, 0, 0) }
            case 1: try each { k in BundleKey(type: typeBits, part(c0, m0, k), 0, 0, 0) }
            case 2: try each { k in BundleKey(type: typeBits, part(c0, m0, k), part(c1, m1, k), 0, 0) }
            case 3: try each { k in BundleKey(type: typeBits, part(c0, m0, k), part(c1, m1, k), part(c2, m2, k), 0) }
            default: try each { k in BundleKey(type: typeBits, part(c0, m0, k), part(c1, m1, k), part(c2, m2, k), part(c3, m3, k)) }
            }
        }
        return made
    }

    /// The texts of event `k`'s label components (nil for codes), as interned.
    private func texts(_ plan: FeedPlan, _ v: BlockColumnsView, _ s: SourceAggregation, _ k: Int) -> [String?] {
        plan.components.map { c -> String? in
            guard case .label(let slot) = c else { return nil }
            return s.text(UInt32(truncatingIfNeeded: v.label(plan.type, slot)[k]))
        }
    }

    /// One feed over events `range`; `bundles[k - range.lowerBound]` is event k's bundle.
    private func run(_ feed: FeedPlan.Feed, cells: FamilyCells, buckets: IntegerBuckets?, _ type: EventType, _ range: Range<Int>,
                     _ v: BlockColumnsView, _ s: SourceAggregation, bundles: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>,
                     flags: UnsafeBufferPointer<Bool>) throws {
        let lower = range.lowerBound
        let condition = feed.condition
        let test = condition.kind == .always || condition.kind == .flagged
            ? UnsafeBufferPointer<UInt64>(start: nil, count: 0) : v.number(type, condition.slot)
        @inline(__always) func holds(_ k: Int) -> Bool {
            switch condition.kind {
            case .always: return true
            case .nonzero: return test[k] != 0
            case .greater: return test[k] > condition.value
            case .equals: return test[k] == condition.value
            case .notEquals: return test[k] != condition.value
            case .flagged: return flags[k]
            }
        }
        // The series of event k in its bundle: the feed's first, plus its `each` value's index
        // (unknown codes: the last).
        let offset = Int32(truncatingIfNeeded: feed.offset)
        let codes = feed.each.map { v.number(type, $0.slot) }
        let known = UInt64(feed.each?.names.count ?? 0)
        @inline(__always) func series(_ k: Int) -> Int32 {
            let b = bundles[k &- lower] &+ offset
            guard let codes else { return slots[Int(b)] }
            return slots[Int(b &+ Int32(truncatingIfNeeded: Swift.min(codes[k], known)))]
        }
        let record = feed.record
        let always = condition.kind == .always
        switch record.kind {
        case .count:
            if always, codes == nil {
                for k in range { cells.add(slots[Int(bundles[k &- lower] &+ offset)], 1) }
            } else if always {
                for k in range { cells.add(series(k), 1) }
            } else {
                for k in range where holds(k) { cells.add(series(k), 1) }
            }
        case .sum:
            let values = v.number(type, record.slot)
            if always, codes == nil {
                for k in range { cells.add(slots[Int(bundles[k &- lower] &+ offset)], Self.double(values[k])) }
            } else {
                for k in range where holds(k) { cells.add(series(k), Self.double(values[k])) }
            }
        case .set:
            let values = v.number(type, record.slot)
            let gauge = GaugeCombiner(feed.family, feed.combine, cells, s)
            gauge.mine.values.withUnsafeMutableBufferPointer { mine in
                for k in range where holds(k) { gauge.set(series(k), feed.seconds ? Self.seconds(values[k]) : Self.double(values[k]), mine) }
            }
        case .observe:
            guard let buckets else { throw CollectorError(.invalidArgument, "histogram feed without buckets") }
            let values = v.number(type, record.slot)
            let least = record.atLeast
            if feed.seconds, always, codes == nil, least == 0 {
                for k in range {
                    let n = values[k]
                    cells.observe(slots[Int(bundles[k &- lower] &+ offset)], bucket: buckets.bucket(n), value: Self.seconds(n))
                }
            } else if feed.seconds {
                for k in range where holds(k) {
                    let n = Swift.max(values[k], least)
                    cells.observe(series(k), bucket: buckets.bucket(n), value: Self.seconds(n))
                }
            } else {
                for k in range where holds(k) {
                    let n = Swift.max(values[k], least)
                    cells.observe(series(k), bucket: buckets.bucket(n), value: Self.plain(n))
                }
            }
        case .oneHot:
            guard let codes else { throw CollectorError(.invalidArgument, "oneHot feed without an each label") }
            let width = feed.width
            let gauge = GaugeCombiner(feed.family, feed.combine, cells, s)
            gauge.mine.values.withUnsafeMutableBufferPointer { mine in
                for k in range where holds(k) {
                    let b = Int(bundles[k &- lower] &+ offset)
                    let current = Int(Swift.min(codes[k], known))
                    for i in 0..<width {
                        let slot = slots[b &+ i]
                        // The unknown series exists only once an unknown code was seen.
                        if slot >= 0 { gauge.set(slot, i == current ? 1 : 0, mine) }
                    }
                }
            }
        }
    }
}

/// Sets a gauge series to the combination of a source group's instances: the current
/// instance's new value replaces its previous one in the sum (an exact update for the whole
/// numbers gauges carry), or in the maximum (found again over the instances when the one that
/// held it goes down). A source of one directory is plain `set`.
struct GaugeCombiner {
    let cells: FamilyCells
    let combine: MetricFeed.Combine
    /// The current instance's values of this family, by series slot.
    let mine: GaugeValues
    let family: MetricFamilyID
    let source: SourceAggregation
    let alone: Bool

    init(_ family: MetricFamilyID, _ combine: MetricFeed.Combine, _ cells: FamilyCells, _ s: SourceAggregation) {
        self.cells = cells
        self.combine = combine
        self.family = family
        source = s
        mine = s.current.gaugeValues(family, slots: cells.slotCount)
        alone = s.instances.count == 1
    }

    @inline(__always)
    func set(_ slot: Int32, _ value: Double, _ mine: UnsafeMutableBufferPointer<Double>) {
        let i = Int(slot)
        let previous = mine[i]
        mine[i] = value
        if alone {
            cells.set(slot, value)
            return
        }
        switch combine {
        case .sum:
            cells.add(slot, previous.isNaN ? value : value - previous)
        case .max:
            let held = cells.values[i]
            if value >= held || previous.isNaN && held.isNaN {
                cells.set(slot, value)
            } else if previous == held {
                // This instance held the maximum and went down: the others' values decide.
                cells.set(slot, othersMax(i, atLeast: value))
            }
        }
    }

    /// The largest of `value` and the other instances' values of series `i` (rare: when the
    /// instance that held a maximum lowers it).
    @inline(never)
    private func othersMax(_ i: Int, atLeast value: Double) -> Double {
        var m = value
        for o in source.instances where o !== source.current {
            if let g = o.existingGaugeValues(family), i < g.values.count, !g.values[i].isNaN { m = Swift.max(m, g.values[i]) }
        }
        return m
    }
}
