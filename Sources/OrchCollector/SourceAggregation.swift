import OrchLog
import OrchMetrics

/// What the aggregator keeps per source — the series `source` label, one source directory or
/// a group of them (`--source.group`, a two-level root): interned label values, the current
/// block's string mapping, handle bundles, and its instances (one per directory: their own
/// read state, collector metrics and gauge values, `InstanceAggregation`).
final class SourceAggregation {
    let name: String
    /// Mixed into state-key hashes so equal keys of different sources stay apart.
    let salt: UInt64
    /// Most distinct label values interned per source by default; more map to "__overflow__".
    static let defaultInternLimit = 200_000
    /// Most distinct label values interned for this source (their ids are below it); more
    /// map to "__overflow__", whose id is the limit itself.
    let internLimit: Int
    private let overflowID: UInt32

    @exclusivity(unchecked) private var internIDs: [String: UInt32] = [:]
    @exclusivity(unchecked) private var internStrings: [String] = []
    @exclusivity(unchecked) private var blockStrings = StringTable()
    /// The block's `invocation_started` trace ids (`startedTraces`), once parsed.
    @exclusivity(unchecked) private var blockTraces: [TraceID] = []
    @exclusivity(unchecked) private var blockTracesParsed = false
    // Unchecked: only the collector's ingest thread touches a SourceAggregation, with the
    // registry lock held, and no access to these overlaps another (they are read per label).
    /// Per block string: its interned id, `UInt32.max` until first asked for. Raw memory,
    /// reallocated only by `beginBlock`, so the aggregator's loops read it through `ids`.
    private var blockIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: 0)
    private var blockIDCapacity = 0
    private var blockIDCount = 0
    @exclusivity(unchecked) private var blockHashes: [UInt64] = []
    @exclusivity(unchecked) private var bundles: [BundleKey: Int] = [:]
    /// Direct-mapped cache of `bundles` (4,096 slots; `BundleKey.empty` = empty).
    private let cacheKeys = UnsafeMutablePointer<BundleKey>.allocate(capacity: SourceAggregation.cacheSize)
    private let cacheValues = UnsafeMutablePointer<Int32>.allocate(capacity: SourceAggregation.cacheSize)
    private static let cacheSize = 4096
    /// The series slots of every bundle, back to back (a bundle is the index of its first; the
    /// families are known from the bundle's feed plan). -1 for a series not made yet (the
    /// `unknown` value of an `each` label, made when first seen).
    @exclusivity(unchecked) private(set) var slots: [Int32] = []
    /// The `unknown` series made for an `each` label, by (family, the series of the label's
    /// first value): a bundle made later, or another bundle with the same series, gets it.
    @exclusivity(unchecked) private(set) var unknownSlots: [UInt64: Int32] = [:]
    /// The source's directories, in the order first seen, and the one whose block is being
    /// applied (the first until `ingest` says otherwise).
    @exclusivity(unchecked) private(set) var instances: [InstanceAggregation] = []
    @exclusivity(unchecked) var current: InstanceAggregation
    /// Whether `orchlog_collector_*` series carry `instance_dir` (`--metrics.per-instance`).
    let perInstance: Bool

    /// The current instance's collector metrics.
    var own: OwnHandles { current.own }

    struct OwnHandles {
        let ingested, decodeErrors, lost, lag, lastEvent: SeriesHandle
        /// `orchlog_collector_unknown_events_total` with reason `type` and `field`.
        let unknownTypes, unknownFields: SeriesHandle

        /// Counts the block's events of types the reader does not know (skipped) and events of
        /// known types carrying fields it does not know (aggregated without them).
        func countUnknown(_ columns: BlockColumns, in registry: MetricRegistry) {
            if columns.skippedUnknown > 0 { registry.add(unknownTypes, Double(columns.skippedUnknown)) }
            if columns.unknownFieldEvents > 0 { registry.add(unknownFields, Double(columns.unknownFieldEvents)) }
        }
    }

    init(name: String, salt: UInt64, aggregator: Aggregator) throws {
        self.name = name
        self.salt = salt
        internLimit = aggregator.internLimit
        // Interned ids (and the overflow id) are 24-bit parts of a bundle key.
        precondition(internLimit < 1 << 24 - 1, "intern limit past the bundle key's 24 bits")
        overflowID = UInt32(internLimit)
        cacheKeys.initialize(repeating: .empty, count: Self.cacheSize)
        cacheValues.initialize(repeating: 0, count: Self.cacheSize)
        perInstance = aggregator.catalog.perInstance
        current = InstanceAggregation(name: name, path: "", own: try Self.makeOwn(name, instance: name, aggregator))
        instances = [current]
    }

    /// The instance of directory `name` at `path`, made on first use (the first directory
    /// takes over the instance the source was made with).
    func instance(name dir: String, path: String, _ a: Aggregator) throws -> InstanceAggregation {
        if let found = instances.first(where: { $0.path == path }) { return found }
        if instances.count == 1, instances[0].path.isEmpty {
            let first = InstanceAggregation(name: dir, path: path, own: try Self.makeOwn(name, instance: dir, a))
            first.lastEventTs = instances[0].lastEventTs
            instances = [first]
            current = first
            return first
        }
        let made = InstanceAggregation(name: dir, path: path, own: try Self.makeOwn(name, instance: dir, a))
        instances.append(made)
        return made
    }

    /// Forgets directory `path` (gone past the TTL while others of the group remain).
    func removeInstance(path: String) {
        instances.removeAll { $0.path == path }
        if current.path == path, let first = instances.first { current = first }
    }

    deinit {
        cacheKeys.deallocate()
        cacheValues.deallocate()
        blockIDs.deallocate()
    }

    func clearCaches(_ a: Aggregator) throws {
        bundles.removeAll()
        slots.removeAll()
        unknownSlots.removeAll()
        cacheKeys.update(repeating: .empty, count: Self.cacheSize)
        for i in instances { i.replaceOwn(try Self.makeOwn(name, instance: i.name, a)) }
    }

    /// Distinct label values interned so far.
    var internedCount: Int { internStrings.count }

    /// The bundle (index of its first handle) stored under `key`, if made.
    @inline(__always)
    func bundle(_ key: BundleKey) -> Int? {
        lookups.bundle(key) ?? bundleMiss(key)
    }

    /// Raw views of the block's interned ids and the bundle cache, for the aggregator's
    /// loops (valid until the next `beginBlock`); their misses go to `id` and `bundle`.
    struct Lookups {
        let ids: UnsafePointer<UInt32>
        let idCount: Int
        let cacheKeys: UnsafePointer<BundleKey>
        let cacheValues: UnsafePointer<Int32>

        /// The interned id of block string `index`, if already asked for.
        @inline(__always)
        func id(_ index: UInt32) -> UInt32? {
            let i = Int(index)
            guard i < idCount else { return nil }
            let cached = ids[i]
            return cached == UInt32.max ? nil : cached
        }

        /// The bundle under `key` if the direct-mapped cache holds it.
        @inline(__always)
        func bundle(_ key: BundleKey) -> Int? {
            // Most events hit the cache without hashing the key for the dictionary.
            let slot = SourceAggregation.cacheSlot(key)
            return cacheKeys[slot] == key ? Int(cacheValues[slot]) : nil
        }
    }

    var lookups: Lookups {
        Lookups(ids: UnsafePointer(blockIDs), idCount: blockIDCount, cacheKeys: UnsafePointer(cacheKeys), cacheValues: UnsafePointer(cacheValues))
    }

    @inline(__always)
    static func cacheSlot(_ key: BundleKey) -> Int {
        Int(truncatingIfNeeded: ((key.hi ^ key.lo &* 0xC2B2_AE3D_27D4_EB4F) &* 0x9E37_79B9_7F4A_7C15) >> 52)
    }

    /// The bundle under `key` when the cache does not hold it (and caches it).
    @inline(never)
    func bundleMiss(_ key: BundleKey) -> Int? {
        let slot = Self.cacheSlot(key)
        guard let found = bundles[key] else { return nil }
        cacheKeys[slot] = key
        cacheValues[slot] = Int32(found)
        return found
    }

    /// Stores a new bundle of series `made` (slots, -1 for one not made yet) under `key`;
    /// returns its index.
    func addBundle(_ key: BundleKey, _ made: [Int32]) -> Int {
        let index = slots.count
        slots.append(contentsOf: made)
        bundles[key] = index
        return index
    }

    /// The key of `unknownSlots` for `family`'s series whose first value has slot `first`.
    static func unknownKey(_ family: MetricFamilyID, first: Int32) -> UInt64 {
        UInt64(family.index) << 32 | UInt64(UInt32(bitPattern: first))
    }

    /// Records the `unknown` series `slot` of an `each` label whose first value's series is
    /// `first` (at `offset` in bundles of `type`), and fills it into every bundle of `type`
    /// that has that first series at `offset` (at `offset + width - 1`). Rare: once per label
    /// set that meets an unknown code.
    func addUnknown(_ slot: Int32, family: MetricFamilyID, first: Int32, type: EventType, offset: Int, width: Int) {
        unknownSlots[Self.unknownKey(family, first: first)] = slot
        let typeBits = UInt64(type.rawValue)
        for (key, b) in bundles where key.hi >> 48 == typeBits && slots[b + offset] == first {
            slots[b + offset + width - 1] = slot
        }
    }

    func beginBlock(_ strings: StringTable) {
        blockStrings = strings
        if strings.count > blockIDCapacity {
            blockIDs.deallocate()
            blockIDCapacity = Swift.max(strings.count, 2 * blockIDCapacity)
            blockIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: blockIDCapacity)
        }
        blockIDCount = strings.count
        blockIDs.initialize(repeating: UInt32.max, count: blockIDCount)
        blockHashes.removeAll(keepingCapacity: true)
        blockHashes.append(contentsOf: repeatElement(0, count: strings.count))
        blockTracesParsed = false
    }

    /// The interned id of block string `index`.
    @inline(__always)
    func id(_ index: UInt32) -> UInt32 {
        let i = Int(index)
        guard i < blockIDCount else { return overflowID }
        let cached = blockIDs[i]
        if cached != UInt32.max { return cached }
        return intern(i)
    }

    @inline(never)
    private func intern(_ i: Int) -> UInt32 {
        let text = blockStrings.string(i)
        let id: UInt32
        if let found = internIDs[text] {
            id = found
        } else if internStrings.count < internLimit {
            id = UInt32(internStrings.count)
            internIDs[text] = id
            internStrings.append(text)
        } else {
            id = overflowID
        }
        blockIDs[i] = id
        return id
    }

    /// The text of block string `index` as interned (overflow past the limit).
    func text(_ index: UInt32, empty: String? = nil) -> String {
        let id = self.id(index)
        let t = id == overflowID ? MetricRegistry.overflowLabelValue : internStrings[Int(id)]
        if let empty, t.isEmpty { return empty }
        return t
    }

    /// `invocation_started`'s `trace_id`: its two number slots, and the label slot of the
    /// label form that blocks written before the binary form carry.
    private static let traceField = EventSchema.of(.invocationStarted).field(named: "trace_id")!

    /// Per `invocation_started` of the block (`v`), its W3C trace id, `none` where it has
    /// none: the binary form's two words, or in a block written before it, the label form's
    /// string read in place (never interned: one per invocation), parsed once per block for
    /// every pass that asks.
    func startedTraces(_ v: BlockColumnsView) -> [TraceID] {
        if blockTracesParsed { return blockTraces }
        blockTracesParsed = true
        blockTraces.removeAll(keepingCapacity: true)
        let field = Self.traceField
        let hi = v.number(.invocationStarted, field.slot), lo = v.number(.invocationStarted, field.slot + 1)
        var missing = false
        for k in 0..<hi.count {
            let id = TraceID(hi: hi[k], lo: lo[k])
            blockTraces.append(id)
            if !id.isSome { missing = true }
        }
        guard missing, let former = field.formerLabelSlot else { return blockTraces }
        let labels = v.label(.invocationStarted, former)
        blockTraces.withUnsafeMutableBufferPointer { out in
            blockStrings.withStorage { bytes, starts, ends in
                var notOne = UInt64.max  // the last string that was not one (the block's "", typically)
                for k in 0..<labels.count where !out[k].isSome {
                    let label = labels[k]
                    guard label < UInt64(ends.count), label != notOne else { continue }
                    let i = Int(label)
                    let id = TraceID(UnsafeBufferPointer(rebasing: bytes[starts[i]..<ends[i]]))
                    if id.isSome { out[k] = id } else { notOne = label }
                }
            }
        }
        return blockTraces
    }

    /// A 64-bit identity of (source, shard, key) for the state tracker, from the strings of
    /// block strings `keyIndex` and `shardIndex` — never from interned ids, which depend on
    /// the order a process first sees labels and so would not match a checkpoint's keys.
    @inline(__always)
    func keyHash(_ keyIndex: UInt32, shard shardIndex: UInt32) -> UInt64 {
        stringHash(keyIndex) ^ salt ^ (stringHash(shardIndex) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// FNV-1a of block string `index` (cached for the block); 0 for an index out of range.
    @inline(__always)
    private func stringHash(_ index: UInt32) -> UInt64 {
        let i = Int(index)
        guard i < blockHashes.count else { return 0 }
        var h = blockHashes[i]
        if h == 0 {
            h = blockStrings.withBytes(i) { fnv1a($0) } | 1
            blockHashes[i] = h
        }
        return h
    }

    private static func makeOwn(_ name: String, instance: String, _ a: Aggregator) throws -> OwnHandles {
        let r = a.registry, c = a.catalog
        let values = c.perInstance ? [name, instance] : [name]
        func h(_ f: MetricFamilyID, _ more: String...) throws -> SeriesHandle {
            do { return try r.series(f, labelValues: values + more) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        return OwnHandles(ingested: try h(c.eventsIngested), decodeErrors: try h(c.decodeErrors), lost: try h(c.eventsLost),
                          lag: try h(c.lag), lastEvent: try h(c.lastEvent),
                          unknownTypes: try h(c.unknownEvents, "type"), unknownFields: try h(c.unknownEvents, "field"))
    }
}
