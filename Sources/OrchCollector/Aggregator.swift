import OrchLog
import OrchMetrics

/// Turns decoded blocks into metric updates. For each event it finds a *bundle* — every
/// series handle that event's label values touch, created together on first sight (all
/// outcomes of a counter start at 0, so ratios exist before the first failure) — with one
/// dictionary lookup keyed by the event type and its interned label ids.
///
/// Not thread-safe: the collector calls it with its registry lock held.
final class Aggregator {
    let registry: MetricRegistry
    let catalog: MetricCatalog
    private var sources: [String: SourceAggregation] = [:]
    private var tracker: StateTracker
    private var removalGeneration: UInt64 = 0

    init(registry: MetricRegistry, catalog: MetricCatalog, trackedKeys: Int) {
        self.registry = registry
        self.catalog = catalog
        tracker = StateTracker(capacity: trackedKeys)
    }

    /// The per-source aggregation state, created on first use.
    func source(_ name: String) throws -> SourceAggregation {
        if let s = sources[name] { return s }
        let s = try SourceAggregation(name: name, salt: fnv1a(Array(name.utf8), seed: 0x9E37_79B9_7F4A_7C15), aggregator: self)
        sources[name] = s
        // Writer drops start at 0 for every reason, so `increase()` sees the first drop.
        s.beginBlock([])
        _ = try bundle(s, .eventsDropped, 0, 0, 0) { [] }
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
                _ = try bundle(other, .eventsDropped, 0, 0, 0) { [] }
            }
        }
        s.beginBlock(block.strings)
        for e in block.events { try ingest(e, s) }
        registry.add(s.own.ingested, Double(block.events.count))
        if let last = block.events.last { s.lastEventTs = max(s.lastEventTs, last.timestamp) }
    }

    /// Records problems the reader reported.
    func problem(_ p: LogProblem, source s: SourceAggregation) {
        let h = s.own
        switch p.kind {
        case .missingData: registry.add(h.lost, Double(p.lostEvents))
        case .corrupt, .badSegment, .tornTail: registry.increment(h.decodeErrors)
        }
    }

    @inline(__always)
    private func seconds(_ ns: UInt64) -> Double { Double(ns) * 1e-9 }

    private func ingest(_ e: RawEvent, _ s: SourceAggregation) throws {
        switch e.type {
        case .invocationStarted:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            registry.increment(s.handles[b])
        case .invocationFinished:
            let b = try bundle(s, e.type, s.id(e.l0), s.id(e.l1), 0) { [s.text(e.l0), s.text(e.l1, empty: "default")] }
            let outcome = Int(min(e.n0, 3))
            registry.increment(s.handles[b + outcome])
            if outcome != Int(InvocationOutcome.rejected.rawValue) {
                registry.observe(s.handles[b + 4], seconds(e.n1))
                registry.observe(s.handles[b + 5], seconds(e.n2))
            }
        case .queueSample:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            registry.set(s.handles[b], Double(e.n0))
            registry.set(s.handles[b + 1], Double(e.n1))
        case .queueRejection:
            let b = try bundle(s, e.type, s.id(e.l0), s.id(e.l1), 0) { [s.text(e.l0), s.text(e.l1)] }
            registry.increment(s.handles[b])
        case .workerPoolSample:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            registry.set(s.handles[b], Double(e.n0))
            registry.set(s.handles[b + 1], Double(e.n1))
        case .stateRead:
            let shard = s.id(e.l0)
            let b = try bundle(s, e.type, shard, 0, 0) { [s.text(e.l0)] }
            registry.increment(s.handles[b + Int(min(e.n1, 1))])
            registry.observe(s.handles[b + 2], seconds(e.n2))
            let start = e.timestamp >= e.n2 ? e.timestamp - e.n2 : 0
            if tracker.read(key: s.keyHash(e.l1, shard: shard), version: e.n0, startedAt: start) {
                registry.increment(s.handles[b + 3])
            }
        case .stateWrite:
            let shard = s.id(e.l0)
            let b = try bundle(s, e.type, shard, 0, 0) { [s.text(e.l0)] }
            let outcome = Int(min(e.n2, 3))
            registry.increment(s.handles[b + outcome])
            registry.observe(s.handles[b + 4], seconds(e.n3))
            if e.n4 > 1 { registry.increment(s.handles[b + 6]) }
            if outcome == Int(WriteOutcome.committed.rawValue) {
                registry.observe(s.handles[b + 5], Double(max(e.n4, 1)))
                if tracker.committed(key: s.keyHash(e.l1, shard: shard), base: e.n0, new: e.n1, at: e.timestamp) {
                    registry.increment(s.handles[b + 7])
                }
            }
        case .memoryFlush:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            registry.set(s.handles[b], Double(e.n0))
            registry.observe(s.handles[b + 1], seconds(e.n1))
            registry.increment(s.handles[b + 2 + Int(min(e.n2, 2))])
        case .toolCall:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            registry.increment(s.handles[b + Int(min(e.n0, 3))])
            registry.observe(s.handles[b + 4], seconds(e.n1))
            if e.n2 != 0 { registry.increment(s.handles[b + 5]) }
        case .breakerTransition:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            let to = Int(min(e.n1, 4))
            for state in 0..<5 { registry.set(s.handles[b + state], state == to ? 1 : 0) }
            let from = Int(min(e.n0, 4))
            let t = try bundle(s, e.type, s.id(e.l0), UInt32(1 + from), UInt32(1 + to), transition: true) {
                [s.text(e.l0), BreakerState.names[from], BreakerState.names[to]]
            }
            registry.increment(s.handles[t])
        case .llmRequest:
            let b = try bundle(s, e.type, s.id(e.l0), s.id(e.l1), s.id(e.l2)) { [s.text(e.l0), s.text(e.l1), s.text(e.l2)] }
            let outcome = Int(min(e.n0, 3))
            registry.increment(s.handles[b + outcome])
            registry.add(s.handles[b + 4], Double(e.n1))
            registry.add(s.handles[b + 5], Double(e.n2))
            registry.observe(s.handles[b + 6], seconds(e.n3))
            registry.observe(s.handles[b + 7], seconds(e.n4))
            if e.n1 > 0 { registry.observe(s.handles[b + 8], Double(e.n1)) }
            if e.n2 > 0 { registry.observe(s.handles[b + 9], Double(e.n2)) }
            registry.observe(s.handles[b + 10 + outcome], seconds(e.n3))
        case .rateLimiterSample:
            let b = try bundle(s, e.type, s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            registry.set(s.handles[b], Double(e.n3))
            registry.set(s.handles[b + 1], Double(e.n4))
            registry.set(s.handles[b + 2], Double(e.n0))
            registry.set(s.handles[b + 3], Double(e.n1))
            registry.set(s.handles[b + 4], Double(e.n2))
        case .keyRotation:
            let b = try bundle(s, e.type, s.id(e.l0), s.id(e.l3), 0) { [s.text(e.l0), s.text(e.l3)] }
            registry.increment(s.handles[b])
        case .eventsDropped:
            let b = try bundle(s, e.type, 0, 0, 0) { [] }
            registry.add(s.handles[b + Int(min(e.n1, 2))], Double(e.n0))
        }
    }

    /// The bundle of handles for (type, ids), created with `labels()` on first sight.
    @inline(__always)
    private func bundle(_ s: SourceAggregation, _ type: EventType, _ a: UInt32, _ b: UInt32, _ c: UInt32,
                        transition: Bool = false, _ labels: () -> [String]) throws -> Int {
        let key = UInt64(type.rawValue) << 58 | (transition ? 1 << 57 : 0) | UInt64(a & 0x7FFFF) << 38 | UInt64(b & 0x7FFFF) << 19 | UInt64(c & 0x7FFFF)
        // A direct-mapped cache in front of the dictionary: most events hit it without hashing.
        let slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52)
        if s.cacheKeys[slot] == key { return Int(s.cacheValues[slot]) }
        let found = try s.bundles[key] ?? makeBundle(s, type, key, transition, labels())
        s.cacheKeys[slot] = key
        s.cacheValues[slot] = Int32(found)
        return found
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
        let index = s.handles.count
        s.handles.append(contentsOf: made)
        s.bundles[key] = index
        return index
    }
}

/// FNV-1a, 64-bit.
@inline(__always)
func fnv1a(_ bytes: [UInt8], seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var h = seed
    for b in bytes {
        h ^= UInt64(b)
        h &*= 0x0000_0100_0000_01B3
    }
    return h
}
