import OrchLog
import OrchMetrics

/// Turns decoded blocks into metric updates. For each event it finds a *bundle* — every
/// series handle that event's label values touch, created together on first sight (all
/// outcomes of a counter start at 0, so ratios exist before the first failure) — with one
/// lookup keyed by the event type and its interned label ids.
///
/// A block is applied type by type, straight from its columns (`Aggregator+Apply.swift`):
/// each metric family is fed by one event type only, so every series sees its updates in
/// the order the events were written, and the result is the same as applying the events
/// one by one. Only the state tracker sees two types (reads and writes), and gets them
/// merged in row order.
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
    /// Bucket searches on integers for the histograms, built once from the catalog.
    let buckets: HistogramBuckets
    /// The families' cells: fetched at the start of each block and after each series creation.
    @exclusivity(unchecked) var hot: HotCells
    /// Per state read / state write of the current block: the tracker's verdict.
    @exclusivity(unchecked) var stale: [Bool] = []
    @exclusivity(unchecked) var lost: [Bool] = []

    init(registry: MetricRegistry, catalog: MetricCatalog, trackedKeys: Int) {
        self.registry = registry
        self.catalog = catalog
        tracker = StateTracker(capacity: trackedKeys)
        buckets = HistogramBuckets(registry, catalog)
        hot = HotCells(registry, catalog)
    }

    /// The per-source aggregation state, created on first use.
    func source(_ name: String) throws -> SourceAggregation {
        if let s = sources[name] { return s }
        let s = try SourceAggregation(name: name, salt: fnv1a(name, seed: 0x9E37_79B9_7F4A_7C15), aggregator: self)
        sources[name] = s
        // Writer drops start at 0 for every reason, so `increase()` sees the first drop.
        s.beginBlock(StringTable())
        _ = try ensureBundle(s, .eventsDropped, 0, 0, 0) { [] }
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
    func ingest(_ block: DecodedBlock, into s: SourceAggregation) throws {
        if registry.removalGeneration != removalGeneration {
            // Series were removed: cached handles may point at reused slots.
            removalGeneration = registry.removalGeneration
            for (_, other) in sources {
                try other.clearCaches(self)
                _ = try ensureBundle(other, .eventsDropped, 0, 0, 0) { [] }
            }
        }
        let columns = block.columns
        s.beginBlock(columns.stringTable)
        hot = HotCells(registry, catalog)
        try columns.withView { v in
            try apply(v, s, strings: columns.stringTable.count)
            if let row = v.rowTypes.lastIndex(where: { $0 != 0 }) {
                s.lastEventTs = max(s.lastEventTs, v.timestamps[row])
            }
        }
        registry.add(s.own.ingested, Double(columns.knownCount))
        s.own.countUnknown(columns, in: registry)
    }

    /// Records problems the reader reported.
    func problem(_ p: LogProblem, source s: SourceAggregation) {
        let h = s.own
        switch p.kind {
        case .missingData: registry.add(h.lost, Double(p.lostEvents))
        case .corrupt, .badSegment, .tornTail: registry.increment(h.decodeErrors)
        case .restarted: break  // not an error: the new log is read from its start (logged)
        }
    }

    /// The bundle key of (type, interned ids); `transition` tells breaker transitions from
    /// breaker states.
    @inline(__always)
    static func key(_ type: EventType, _ a: UInt32, _ b: UInt32, _ c: UInt32, transition: Bool = false) -> UInt64 {
        UInt64(type.rawValue) << 58 | (transition ? 1 << 57 : 0) | UInt64(a & 0x7FFFF) << 38 | UInt64(b & 0x7FFFF) << 19 | UInt64(c & 0x7FFFF)
    }

    /// The bundle of handles for (type, ids), created with `labels()` on first sight.
    func ensureBundle(_ s: SourceAggregation, _ type: EventType, _ a: UInt32, _ b: UInt32, _ c: UInt32,
                      transition: Bool = false, _ labels: () -> [String]) throws -> Int {
        let key = Self.key(type, a, b, c, transition: transition)
        if let found = s.bundle(key) { return found }
        return try makeBundle(s, type, key, transition, labels())
    }

    @inline(never)
    private func makeBundle(_ s: SourceAggregation, _ type: EventType, _ key: UInt64, _ transition: Bool, _ labels: [String]) throws -> Int {
        let c = catalog
        let src = s.name
        var made: [SeriesHandle] = []
        func add(_ family: MetricFamilyID, _ values: [String]) throws {
            do {
                made.append(try registry.series(family, labelValues: [src] + values))
            } catch {
                throw CollectorError(.invalidArgument, "\(error)")
            }
        }
        switch type {
        case .invocationStarted:
            try add(c.invocationsStarted, labels)
        case .invocationFinished:
            for o in InvocationOutcome.names { try add(c.invocations, [labels[0], o]) }
            try add(c.invocationDuration, [labels[0]])
            try add(c.queueWait, [labels[1]])
        case .queueSample:
            try add(c.queueDepth, labels)
            try add(c.queueCapacity, labels)
        case .queueRejection:
            try add(c.queueRejections, labels)
        case .workerPoolSample:
            try add(c.workersBusy, labels)
            try add(c.workers, labels)
        case .stateRead:
            for r in ReadSource.names { try add(c.stateReads, [labels[0], r]) }
            try add(c.stateReadDuration, labels)
            try add(c.staleReads, labels)
        case .stateWrite:
            for o in WriteOutcome.names { try add(c.stateWrites, [labels[0], o]) }
            try add(c.stateWriteDuration, labels)
            try add(c.stateWriteAttempts, labels)
            try add(c.stateWriteRetries, labels)
            try add(c.lostUpdates, labels)
        case .memoryFlush:
            try add(c.writebackPending, labels)
            try add(c.flushDuration, labels)
            for o in FlushOutcome.names { try add(c.flushes, [labels[0], o]) }
        case .toolCall:
            for o in ToolOutcome.names { try add(c.toolCalls, [labels[0], o]) }
            try add(c.toolDuration, labels)
            try add(c.toolFallbacks, labels)
        case .breakerTransition:
            if transition {
                try add(c.breakerTransitions, labels)
            } else {
                for state in BreakerState.names { try add(c.breakerState, [labels[0], state]) }
            }
        case .llmRequest:
            let (provider, model, key) = (labels[0], labels[1], labels[2])
            for o in LLMOutcome.names { try add(c.llmRequests, [provider, model, key, o]) }
            try add(c.llmTokens, [provider, model, "input"])
            try add(c.llmTokens, [provider, model, "output"])
            try add(c.llmDuration, [provider, model])
            try add(c.llmRateLimitWait, [provider, model])
            try add(c.genAITokens, ["chat", provider, model, "input"])
            try add(c.genAITokens, ["chat", provider, model, "output"])
            for o in LLMOutcome.names { try add(c.genAIDuration, ["chat", provider, model, o == "success" ? "" : o]) }
        case .rateLimiterSample:
            for f in [c.llmInflight, c.llmConcurrencyLimit, c.llmAvailable, c.llmCapacity, c.llmWaiting] { try add(f, labels) }
        case .keyRotation:
            try add(c.keyRotations, labels)
        case .eventsDropped:
            for r in DropReason.names { try add(c.eventsDropped, [r]) }
        }
        return s.addBundle(key, made)
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
