import OrchLog
import OrchMetrics

/// What the aggregator keeps per source: interned label values, the current block's string
/// mapping, handle bundles, and the source's own collector metrics.
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
    // Unchecked: only the collector's ingest thread touches a SourceAggregation, with the
    // registry lock held, and no access to these overlaps another (they are read per label).
    @exclusivity(unchecked) private var blockIDs: [UInt32] = []
    @exclusivity(unchecked) private var blockHashes: [UInt64] = []
    @exclusivity(unchecked) private var bundles: [UInt64: Int] = [:]
    /// Direct-mapped cache of `bundles` (4,096 slots; key UInt64.max = empty).
    private let cacheKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: SourceAggregation.cacheSize)
    private let cacheValues = UnsafeMutablePointer<Int32>.allocate(capacity: SourceAggregation.cacheSize)
    private static let cacheSize = 4096
    /// Handles of every bundle, back to back (a bundle is the index of its first).
    @exclusivity(unchecked) private(set) var handles: [SeriesHandle] = []
    /// `handles[i].slot`, for the hot path (families are known from the event type).
    @exclusivity(unchecked) private(set) var slots: [Int32] = []
    @exclusivity(unchecked) var lastEventTs: UInt64 = 0
    @exclusivity(unchecked) var caughtUp = true
    @exclusivity(unchecked) private(set) var own: OwnHandles

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
        overflowID = UInt32(internLimit)
        cacheKeys.initialize(repeating: UInt64.max, count: Self.cacheSize)
        cacheValues.initialize(repeating: 0, count: Self.cacheSize)
        own = try Self.makeOwn(name, aggregator)
    }

    deinit {
        cacheKeys.deallocate()
        cacheValues.deallocate()
    }

    func clearCaches(_ a: Aggregator) throws {
        bundles.removeAll()
        handles.removeAll()
        slots.removeAll()
        cacheKeys.update(repeating: UInt64.max, count: Self.cacheSize)
        own = try Self.makeOwn(name, a)
    }

    /// Distinct label values interned so far.
    var internedCount: Int { internStrings.count }

    /// The bundle (index of its first handle) stored under `key`, if made.
    @inline(__always)
    func bundle(_ key: UInt64) -> Int? {
        // A direct-mapped cache in front of the dictionary: most events hit it without hashing.
        let slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52)
        if cacheKeys[slot] == key { return Int(cacheValues[slot]) }
        return bundleMiss(key, slot)
    }

    @inline(never)
    private func bundleMiss(_ key: UInt64, _ slot: Int) -> Int? {
        guard let found = bundles[key] else { return nil }
        cacheKeys[slot] = key
        cacheValues[slot] = Int32(found)
        return found
    }

    /// Stores a new bundle of `made` handles under `key`; returns its index.
    func addBundle(_ key: UInt64, _ made: [SeriesHandle]) -> Int {
        let index = handles.count
        handles.append(contentsOf: made)
        slots.append(contentsOf: made.map(\.slot))
        bundles[key] = index
        return index
    }

    func beginBlock(_ strings: StringTable) {
        blockStrings = strings
        blockIDs.removeAll(keepingCapacity: true)
        blockIDs.append(contentsOf: repeatElement(UInt32.max, count: strings.count))
        blockHashes.removeAll(keepingCapacity: true)
        blockHashes.append(contentsOf: repeatElement(0, count: strings.count))
    }

    /// The interned id of block string `index`.
    @inline(__always)
    func id(_ index: UInt32) -> UInt32 {
        let i = Int(index)
        guard i < blockIDs.count else { return overflowID }
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

    private static func makeOwn(_ name: String, _ a: Aggregator) throws -> OwnHandles {
        let r = a.registry, c = a.catalog
        func h(_ f: MetricFamilyID, _ more: String...) throws -> SeriesHandle {
            do { return try r.series(f, labelValues: [name] + more) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        return OwnHandles(ingested: try h(c.eventsIngested), decodeErrors: try h(c.decodeErrors), lost: try h(c.eventsLost),
                          lag: try h(c.lag), lastEvent: try h(c.lastEvent),
                          unknownTypes: try h(c.unknownEvents, "type"), unknownFields: try h(c.unknownEvents, "field"))
    }
}
