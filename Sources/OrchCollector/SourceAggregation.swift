import OrchLog
import OrchMetrics

/// What the aggregator keeps per source: interned label values, the current block's string
/// mapping, handle bundles, and the source's own collector metrics.
final class SourceAggregation {
    let name: String
    /// Mixed into state-key hashes so equal keys of different sources stay apart.
    let salt: UInt64
    /// Most distinct label values interned per source; more map to "__overflow__".
    static let internLimit = 200_000
    private static let overflowID = UInt32(internLimit)

    private var internIDs: [String: UInt32] = [:]
    private var internStrings: [String] = []
    private var blockStrings: [String] = []
    private var blockIDs: [UInt32] = []
    private var blockHashes: [UInt64] = []
    var bundles: [UInt64: Int] = [:]
    /// Direct-mapped cache of `bundles` (4,096 slots; key UInt64.max = empty).
    var cacheKeys = [UInt64](repeating: UInt64.max, count: 4096)
    var cacheValues = [Int32](repeating: 0, count: 4096)
    var handles: [SeriesHandle] = []
    var lastEventTs: UInt64 = 0
    var caughtUp = true
    private(set) var own: OwnHandles

    struct OwnHandles {
        let ingested, decodeErrors, lost, lag, lastEvent: SeriesHandle
    }

    init(name: String, salt: UInt64, aggregator: Aggregator) throws {
        self.name = name
        self.salt = salt
        own = try Self.makeOwn(name, aggregator)
    }

    func clearCaches(_ a: Aggregator) throws {
        bundles.removeAll()
        handles.removeAll()
        for i in cacheKeys.indices { cacheKeys[i] = UInt64.max }
        own = try Self.makeOwn(name, a)
    }

    func beginBlock(_ strings: [String]) {
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
        guard i < blockIDs.count else { return Self.overflowID }
        let cached = blockIDs[i]
        if cached != UInt32.max { return cached }
        return intern(i)
    }

    @inline(never)
    private func intern(_ i: Int) -> UInt32 {
        let text = blockStrings[i]
        let id: UInt32
        if let found = internIDs[text] {
            id = found
        } else if internStrings.count < Self.internLimit {
            id = UInt32(internStrings.count)
            internIDs[text] = id
            internStrings.append(text)
        } else {
            id = Self.overflowID
        }
        blockIDs[i] = id
        return id
    }

    /// The text of block string `index` as interned (overflow past the limit).
    func text(_ index: UInt32, empty: String? = nil) -> String {
        let id = self.id(index)
        let t = id == Self.overflowID ? MetricRegistry.overflowLabelValue : internStrings[Int(id)]
        if let empty, t.isEmpty { return empty }
        return t
    }

    /// A 64-bit identity of (source, shard, key) for the state tracker.
    @inline(__always)
    func keyHash(_ keyIndex: UInt32, shard: UInt32) -> UInt64 {
        let i = Int(keyIndex)
        guard i < blockHashes.count else { return salt }
        var h = blockHashes[i]
        if h == 0 {
            h = fnv1a(Array(blockStrings[i].utf8)) | 1
            blockHashes[i] = h
        }
        return h ^ salt ^ (UInt64(shard) &* 0x9E37_79B9_7F4A_7C15)
    }

    private static func makeOwn(_ name: String, _ a: Aggregator) throws -> OwnHandles {
        let r = a.registry, c = a.catalog
        func h(_ f: MetricFamilyID) throws -> SeriesHandle {
            do { return try r.series(f, labelValues: [name]) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        return OwnHandles(ingested: try h(c.eventsIngested), decodeErrors: try h(c.decodeErrors), lost: try h(c.eventsLost),
                          lag: try h(c.lag), lastEvent: try h(c.lastEvent))
    }
}
