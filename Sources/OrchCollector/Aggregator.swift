import OrchLog
import OrchMetrics
import OrchPricing

/// Turns decoded blocks into metric updates, as the catalog's metric feeds declare them
/// (`MetricFeed`, compiled per event type into a `FeedPlan`). For each event it finds a
/// *bundle* — every series that event's key values touch, created together on first sight
/// (all outcomes of a counter start at 0, so ratios exist before the first failure) — with one
/// lookup keyed by the event type and its interned label ids.
///
/// A block is applied type by type, straight from its columns (`Aggregator+Apply.swift`): the
/// bundles of a run of events first, then one tight loop per feed. Each metric family is fed
/// by one event type only (the catalog checks it), so every series sees its updates in the
/// order the events were written, and the result is the same as applying the events one by
/// one. Only the state tracker sees two types (reads and writes), and gets them merged in row
/// order.
///
/// Not thread-safe: the collector calls it with its registry lock held.
final class Aggregator {
    let registry: MetricRegistry
    let catalog: MetricCatalog
    @exclusivity(unchecked) private var sources: [String: SourceAggregation] = [:]
    // Unchecked: mutated only by the ingest thread under the collector's lock, one call at a time.
    @exclusivity(unchecked) var tracker: StateTracker
    @exclusivity(unchecked) private var removalGeneration: UInt64 = 0
    /// Most distinct label values interned per source (sources made after a change get it).
    @exclusivity(unchecked) var internLimit = SourceAggregation.defaultInternLimit
    /// Per feed of every plan (`feedBase[type] + i`): its histogram's integer bucket search.
    let buckets: [IntegerBuckets?]
    /// Where each type's feeds start in `buckets` and `hot`.
    let feedBase: [Int]
    /// The feeds' cells: fetched at the start of each block and after each series creation.
    @exclusivity(unchecked) var hot: [FamilyCells] = []
    /// Per state read / state write of the current block: the tracker's verdict.
    @exclusivity(unchecked) var stale: [Bool] = []
    @exclusivity(unchecked) var lost: [Bool] = []
    /// Per event of the run being applied: its bundle.
    @exclusivity(unchecked) var bundleOf: [Int32] = []
    /// Per type code: the next event of that type `applyInRowOrder` applies.
    @exclusivity(unchecked) var nextOfType: [Int] = []
    /// The state tracker's fields, found by name once.
    let trackedFields: TrackedFields
    /// Prices LLM requests, then tallies them per invocation (passes after the feeds).
    let spend: LLMSpend
    let invocations: InvocationTracker
    /// Exemplars of the latency histograms, recorded after their feeds' loops.
    let exemplars: ExemplarStore

    init(registry: MetricRegistry, catalog: MetricCatalog, trackedKeys: Int, pricing: PriceTable = PriceTable(), trackedInvocations: Int = 100_000) {
        self.registry = registry
        self.catalog = catalog
        spend = LLMSpend(pricing: pricing, registry: registry, catalog: catalog)
        invocations = InvocationTracker(capacity: trackedInvocations, registry: registry, catalog: catalog)
        tracker = StateTracker(capacity: trackedKeys)
        exemplars = ExemplarStore(registry: registry, catalog: catalog, invocations: invocations)
        invocations.tracesWanted = exemplars.any
        var base: [Int] = [], buckets: [IntegerBuckets?] = []
        for plan in catalog.plans {
            base.append(buckets.count)
            for feed in plan?.feeds ?? [] {
                guard feed.record.kind == .observe else {
                    buckets.append(nil)
                    continue
                }
                buckets.append(registry.integerBuckets(feed.family, value: feed.seconds ? Aggregator.seconds : Aggregator.plain))
            }
        }
        self.buckets = buckets
        feedBase = base
        trackedFields = TrackedFields()
        nextOfType = [Int](repeating: 0, count: catalog.plans.count)
        hot = fetchCells()
    }

    /// The cells of every feed's family (see `FamilyCells`: valid until the registry next
    /// creates or removes a series), checked against the type the feed's record assumes.
    func fetchCells() -> [FamilyCells] {
        var cells: [FamilyCells] = []
        cells.reserveCapacity(buckets.count)
        for plan in catalog.plans {
            for feed in plan?.feeds ?? [] {
                let c = registry.cells(feed.family)
                precondition(c.type == feed.familyType, "\(registry.family(feed.family).name) is a \(c.type), its feed expects a \(feed.familyType)")
                cells.append(c)
            }
        }
        return cells
    }

    /// The per-source aggregation state, created on first use.
    func source(_ name: String) throws -> SourceAggregation {
        if let s = sources[name] { return s }
        let s = try SourceAggregation(name: name, salt: fnv1a(name, seed: 0x9E37_79B9_7F4A_7C15), aggregator: self)
        sources[name] = s
        try makeKeylessBundles(s)
        return s
    }

    /// Forgets a source's series (TTL expiry).
    func remove(source name: String) {
        sources[name] = nil
        _ = registry.removeSeries(whereLabel: "source", equals: name)
    }

    /// The tracker's state, for checkpoints.
    var trackerState: StateTracker {
        get { tracker }
        set { tracker = newValue }
    }

    /// Number of keys the state tracker holds.
    var trackedKeys: Int { tracker.count }

    /// Aggregates one block of `source`.
    /// - Throws: `CollectorError` only on a catalog/registry mismatch (a programming error).
    func ingest(_ block: DecodedBlock, into s: SourceAggregation, instance: InstanceAggregation? = nil) throws {
        if let instance { s.current = instance }
        if registry.removalGeneration != removalGeneration {
            // Series were removed: cached handles may point at reused slots.
            removalGeneration = registry.removalGeneration
            for (_, other) in sources {
                try other.clearCaches(self)
                try makeKeylessBundles(other)
            }
        }
        let columns = block.columns
        s.beginBlock(columns.stringTable)
        hot = fetchCells()
        exemplars.beginBlock()
        try columns.withView { v in
            try apply(v, s, strings: columns.stringTable.count)
            try spend.ingest(v, s)
            try spend.rowCosts.withUnsafeBufferPointer { try invocations.ingest(v, s, costs: $0) }
            if let row = v.rowTypes.lastIndex(where: { $0 != 0 }) {
                s.current.lastEventTs = max(s.current.lastEventTs, v.timestamps[row])
            }
        }
        registry.add(s.own.ingested, Double(columns.knownCount))
        s.own.countUnknown(columns, in: registry)
    }

    /// Records problems the reader of `instance` reported.
    func problem(_ p: LogProblem, instance: InstanceAggregation) {
        let h = instance.own
        switch p.kind {
        case .missingData: registry.add(h.lost, Double(p.lostEvents))
        case .corrupt, .badSegment, .tornTail: registry.increment(h.decodeErrors)
        case .restarted: break  // not an error: the new log is read from its start (logged)
        }
    }

    /// Makes the bundle of every type whose feeds have no key labels (`events_dropped`: the
    /// writer's drops start at 0 for every reason, so `increase()` sees the first drop).
    private func makeKeylessBundles(_ s: SourceAggregation) throws {
        s.beginBlock(StringTable())
        for case let plan? in catalog.plans where plan.components.isEmpty {
            let key = BundleKey(type: UInt64(plan.type.rawValue), 0, 0, 0, 0)
            if s.bundle(key) == nil { _ = try makeBundle(s, plan, key, components: [], texts: []) }
        }
    }

    /// Makes the bundle of `plan` for key `components` (their values: interned ids or codes)
    /// whose label texts are `texts` (nil for a code); returns its index.
    @inline(never)
    func makeBundle(_ s: SourceAggregation, _ plan: FeedPlan, _ key: BundleKey, components: [UInt64], texts: [String?]) throws -> Int {
        var made: [Int32] = []
        made.reserveCapacity(plan.bundleSize)
        for feed in plan.feeds {
            if let each = feed.each {
                let first = made.count
                for name in each.names { made.append(try series(s, feed, components, texts, each: name)) }
                // `unknown`: made when first seen (`makeUnknown`), perhaps for another bundle, or
                // restored from a checkpoint.
                if let known = s.unknownSlots[SourceAggregation.unknownKey(feed.family, first: made[first])] {
                    made.append(known)
                } else if let restored = try existing(s, feed, components, texts, each: "unknown") {
                    s.addUnknown(restored, family: feed.family, first: made[first], type: plan.type, offset: feed.offset, width: feed.width)
                    made.append(restored)
                } else {
                    made.append(-1)
                }
            } else {
                made.append(try series(s, feed, components, texts, each: nil))
            }
        }
        return s.addBundle(key, made)
    }

    /// Makes the `unknown` series of `feed`'s `each` label in bundle `bundle`.
    @inline(never)
    func makeUnknown(_ s: SourceAggregation, _ plan: FeedPlan, _ feed: FeedPlan.Feed, bundle: Int, components: [UInt64], texts: [String?]) throws {
        let slot = try series(s, feed, components, texts, each: "unknown")
        s.addUnknown(slot, family: feed.family, first: s.slots[bundle + feed.offset], type: plan.type, offset: feed.offset, width: feed.width)
    }

    /// The series of `feed` for the key, with `each` as the `each` label's value.
    private func series(_ s: SourceAggregation, _ feed: FeedPlan.Feed, _ components: [UInt64], _ texts: [String?], each: String?) throws -> Int32 {
        do {
            return try registry.series(feed.family, labelValues: labelValues(s, feed, components, texts, each: each)).slot
        } catch {
            throw CollectorError(.invalidArgument, "\(error)")
        }
    }

    /// The series `series` would return if it exists, without making it.
    private func existing(_ s: SourceAggregation, _ feed: FeedPlan.Feed, _ components: [UInt64], _ texts: [String?], each: String?) throws -> Int32? {
        registry.existingSeries(feed.family, labelValues: labelValues(s, feed, components, texts, each: each))?.slot
    }

    private func labelValues(_ s: SourceAggregation, _ feed: FeedPlan.Feed, _ components: [UInt64], _ texts: [String?], each: String?) -> [String] {
        var values = [s.name]
        for label in feed.labels {
            switch label {
            case .text(let c, let empty):
                let t = texts[c] ?? ""
                values.append(t.isEmpty ? empty ?? t : t)
            case .constant(let v): values.append(v)
            case .name(let c, let names): values.append(components[c] < names.count ? names[Int(components[c])] : "unknown")
            case .each: values.append(each ?? "")
            }
        }
        return values
    }
}

/// The slot of `type`'s field `name`, which the schema has (the collector's own field names:
/// a missing one is a programming error, caught by every test that ingests).
func schemaSlot(_ type: EventType, _ name: String) -> Int {
    guard let f = EventSchema.of(type).field(named: name) else { preconditionFailure("\(type.name) has no field \(name)") }
    return f.slot
}

/// The fields the state tracker reads, found in the schema by name.
struct TrackedFields {
    let readShard, readKey, readVersion, readLatency: Int
    let writeShard, writeKey, writeBase, writeNew, writeOutcome: Int
    let committed: UInt64

    init() {
        let slot = schemaSlot
        readShard = slot(.stateRead, "shard")
        readKey = slot(.stateRead, "key")
        readVersion = slot(.stateRead, "version")
        readLatency = slot(.stateRead, "latency_ns")
        writeShard = slot(.stateWrite, "shard")
        writeKey = slot(.stateWrite, "key")
        writeBase = slot(.stateWrite, "base_version")
        writeNew = slot(.stateWrite, "new_version")
        writeOutcome = slot(.stateWrite, "outcome")
        committed = UInt64(WriteOutcome.committed.rawValue)
    }
}

/// FNV-1a, 64-bit, of a string's UTF-8 bytes (read in place: no copy of a native string).
@inline(__always)
func fnv1a(_ text: String, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var text = text
    return text.withUTF8 { fnv1a($0, seed: seed) }
}

/// FNV-1a, 64-bit, of `bytes`.
@inline(__always)
func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var h = seed
    for b in bytes {
        h ^= UInt64(b)
        h &*= 0x0000_0100_0000_01B3
    }
    return h
}
