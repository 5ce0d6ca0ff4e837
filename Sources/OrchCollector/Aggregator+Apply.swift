import OrchLog
import OrchMetrics

/// Applying a block's columns to the registry: one tight loop per event type, updating the
/// families' cells directly (no per-event handle checks), histogram buckets found on the
/// integer field (nanoseconds, counts) against precomputed integer bounds. Each update is
/// the one `MetricRegistry.add`/`set`/`observe` would make, in the same order per series.
extension Aggregator {
    /// Every type, a bit per type code.
    static let allTypes: UInt16 = EventType.allCases.reduce(0) { $0 | 1 << $1.rawValue }

    /// Applies a block (`ingest`). Each family is fed by one event type, so applying type by
    /// type keeps the order of every series' updates; the state tracker, fed by reads and
    /// writes, runs first over both merged in row order and leaves its verdicts in
    /// `stale`/`lost`.
    func apply(_ v: BlockColumnsView, _ s: SourceAggregation, strings: Int) throws {
        stale.removeAll(keepingCapacity: true)
        stale.append(contentsOf: repeatElement(false, count: v.count(.stateRead)))
        lost.removeAll(keepingCapacity: true)
        lost.append(contentsOf: repeatElement(false, count: v.count(.stateWrite)))
        if s.internedCount < s.internLimit && s.internedCount + strings > s.internLimit {
            // The block's new label values may reach the intern limit, and which of them
            // still get an id depends on the order they are seen: apply in row order. (Once
            // the limit is reached, every new value is "__overflow__" whatever the order.)
            try applyInRowOrder(v, s, types: Self.allTypes)
        } else {
            track(v, s, reads: 0..<v.count(.stateRead), writes: 0..<v.count(.stateWrite))
            for type in EventType.allCases where v.count(type) > 0 {
                try apply(type, 0..<v.count(type), v, s)
            }
        }
    }

    /// Runs the state tracker over reads `reads` and writes `writes` (indices among the
    /// block's events of each type), merged in row order; records which reads were stale
    /// and which writes lost an update.
    func track(_ v: BlockColumnsView, _ s: SourceAggregation, reads: Range<Int>, writes: Range<Int>) {
        let readRows = v.rows(.stateRead), writeRows = v.rows(.stateWrite)
        let readShard = v.label(.stateRead, 0), readKey = v.label(.stateRead, 1)
        let readVersion = v.number(.stateRead, 0), readLatency = v.number(.stateRead, 2)
        let writeShard = v.label(.stateWrite, 0), writeKey = v.label(.stateWrite, 1)
        let writeBase = v.number(.stateWrite, 0), writeNew = v.number(.stateWrite, 1), writeOutcome = v.number(.stateWrite, 2)
        stale.withUnsafeMutableBufferPointer { stale in
            lost.withUnsafeMutableBufferPointer { lost in
                var r = reads.lowerBound, w = writes.lowerBound
                while r < reads.upperBound || w < writes.upperBound {
                    if w == writes.upperBound || (r < reads.upperBound && readRows[r] < writeRows[w]) {
                        let shard = UInt32(truncatingIfNeeded: readShard[r])
                        let ts = v.timestamps[Int(readRows[r])], latency = readLatency[r]
                        let start = ts >= latency ? ts - latency : 0
                        stale[r] = tracker.read(key: s.keyHash(UInt32(truncatingIfNeeded: readKey[r]), shard: shard),
                                                version: readVersion[r], startedAt: start)
                        r &+= 1
                    } else {
                        if min(writeOutcome[w], 3) == UInt64(WriteOutcome.committed.rawValue) {
                            let shard = UInt32(truncatingIfNeeded: writeShard[w])
                            lost[w] = tracker.committed(key: s.keyHash(UInt32(truncatingIfNeeded: writeKey[w]), shard: shard),
                                                        base: writeBase[w], new: writeNew[w], at: v.timestamps[Int(writeRows[w])])
                        }
                        w &+= 1
                    }
                }
            }
        }
    }

    /// Nanoseconds as the seconds a histogram records.
    @inline(__always)
    static func seconds(_ ns: UInt64) -> Double { double(ns) * 1e-9 }

    /// A count as the value a histogram records.
    @inline(__always)
    static func plain(_ n: UInt64) -> Double { double(n) }

    /// `Double(n)`: the same correctly rounded value, by the one-instruction signed
    /// conversion when the top bit is clear.
    @inline(__always)
    static func double(_ n: UInt64) -> Double {
        Int64(bitPattern: n) >= 0 ? Double(Int64(bitPattern: n)) : Double(n)
    }

    /// Applies the events of the types in `types` (a bit per type code) in row order: each
    /// run of rows of one type in one go.
    func applyInRowOrder(_ v: BlockColumnsView, _ s: SourceAggregation, types: UInt16) throws {
        var next = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        try withUnsafeMutableBytes(of: &next) { nextBytes in
            let next = nextBytes.bindMemory(to: Int.self)
            let rowTypes = v.rowTypes
            var row = 0
            while row < rowTypes.count {
                let t = rowTypes[row]
                guard types >> t & 1 != 0 else {
                    row &+= 1
                    continue
                }
                // The run: rows of type t up to the next row of another type in `types`.
                var count = 1
                var end = row &+ 1
                while end < rowTypes.count {
                    let u = rowTypes[end]
                    if u == t {
                        count &+= 1
                    } else if types >> u & 1 != 0 {
                        break
                    }
                    end &+= 1
                }
                let first = next[Int(t)]
                let type = EventType(rawValue: t)!
                if type == .stateRead { track(v, s, reads: first..<first &+ count, writes: 0..<0) }
                if type == .stateWrite { track(v, s, reads: 0..<0, writes: first..<first &+ count) }
                try apply(type, first..<first &+ count, v, s)
                next[Int(t)] = first &+ count
                row = end
            }
        }
    }

    /// Applies events `range` (indices among the block's events of `type`).
    func apply(_ type: EventType, _ range: Range<Int>, _ v: BlockColumnsView, _ s: SourceAggregation) throws {
        var k = range.lowerBound
        while k < range.upperBound {
            // Cells move when a series is created, so a pass stops at the first event whose
            // bundle is missing, and they are fetched anew after `createBundles`.
            let cells = hot
            k = s.slots.withUnsafeBufferPointer { slots in
                stale.withUnsafeBufferPointer { stale in
                    lost.withUnsafeBufferPointer { lost in
                        pass(type, k..<range.upperBound, v, s, slots, cells, stale: stale, lost: lost)
                    }
                }
            }
            if k < range.upperBound {
                try createBundles(type, k, v, s)
                hot = HotCells(registry, catalog)
            }
        }
    }

    /// Makes the bundles event `k` of `type` needs (the slow path of `pass`).
    @inline(never)
    private func createBundles(_ type: EventType, _ k: Int, _ v: BlockColumnsView, _ s: SourceAggregation) throws {
        func index(_ slot: Int) -> UInt32 { UInt32(truncatingIfNeeded: v.label(type, slot)[k]) }
        func id(_ slot: Int) -> UInt32 { s.id(index(slot)) }
        func text(_ slot: Int) -> String { s.text(index(slot)) }
        switch type {
        case .invocationStarted, .queueSample, .workerPoolSample, .stateRead, .stateWrite, .memoryFlush, .toolCall, .rateLimiterSample:
            _ = try ensureBundle(s, type, id(0), 0, 0) { [text(0)] }
        case .invocationFinished:
            _ = try ensureBundle(s, type, id(0), id(1), 0) { [text(0), s.text(index(1), empty: "default")] }
        case .queueRejection:
            _ = try ensureBundle(s, type, id(0), id(1), 0) { [text(0), text(1)] }
        case .breakerTransition:
            _ = try ensureBundle(s, type, id(0), 0, 0) { [text(0)] }
            let from = Int(min(v.number(type, 0)[k], 4)), to = Int(min(v.number(type, 1)[k], 4))
            _ = try ensureBundle(s, type, id(0), UInt32(1 + from), UInt32(1 + to), transition: true) {
                [text(0), BreakerState.names[from], BreakerState.names[to]]
            }
        case .llmRequest:
            _ = try ensureBundle(s, type, id(0), id(1), id(2)) { [text(0), text(1), text(2)] }
        case .keyRotation:
            _ = try ensureBundle(s, type, id(0), id(3), 0) { [text(0), text(3)] }
        case .eventsDropped:
            _ = try ensureBundle(s, type, 0, 0, 0) { [] }
        }
    }

    /// Applies events `range` of `type` whose bundles exist; returns the index of the first
    /// event whose bundle is missing (`range.upperBound` when all were applied).
    private func pass(_ type: EventType, _ range: Range<Int>, _ v: BlockColumnsView, _ s: SourceAggregation,
                      _ slots: UnsafeBufferPointer<Int32>, _ c: HotCells,
                      stale: UnsafeBufferPointer<Bool>, lost: UnsafeBufferPointer<Bool>) -> Int {
        @inline(__always) func label(_ column: UnsafeBufferPointer<UInt64>, _ k: Int) -> UInt32 {
            s.id(UInt32(truncatingIfNeeded: column[k]))
        }
        let h = buckets
        switch type {
        case .invocationStarted:
            let l0 = v.label(type, 0)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                c.invocationsStarted.add(slots[b], 1)
            }
        case .invocationFinished:
            let l0 = v.label(type, 0), l1 = v.label(type, 1)
            let n0 = v.number(type, 0), n1 = v.number(type, 1), n2 = v.number(type, 2)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), label(l1, k), 0)) else { return k }
                let outcome = Int(min(n0[k], 3))
                c.invocations.add(slots[b &+ outcome], 1)
                if outcome != Int(InvocationOutcome.rejected.rawValue) {
                    c.invocationDuration.observe(slots[b &+ 4], bucket: h.invocationDuration.bucket(n1[k]), value: Self.seconds(n1[k]))
                    c.queueWait.observe(slots[b &+ 5], bucket: h.queueWait.bucket(n2[k]), value: Self.seconds(n2[k]))
                }
            }
        case .queueSample, .workerPoolSample:
            // Two gauges of one label: depth and capacity, or busy workers and pool size.
            let (first, second) = type == .queueSample ? (c.queueDepth, c.queueCapacity) : (c.workersBusy, c.workers)
            let l0 = v.label(type, 0), n0 = v.number(type, 0), n1 = v.number(type, 1)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                first.set(slots[b], Self.double(n0[k]))
                second.set(slots[b &+ 1], Self.double(n1[k]))
            }
        case .queueRejection, .keyRotation:
            // One counter of two labels: (queue, reason) or (provider, reason).
            let counter = type == .queueRejection ? c.queueRejections : c.keyRotations
            let l0 = v.label(type, 0), l1 = v.label(type, type == .queueRejection ? 1 : 3)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), label(l1, k), 0)) else { return k }
                counter.add(slots[b], 1)
            }
        case .stateRead:
            let l0 = v.label(type, 0), n1 = v.number(type, 1), n2 = v.number(type, 2)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                c.stateReads.add(slots[b &+ Int(min(n1[k], 1))], 1)
                c.stateReadDuration.observe(slots[b &+ 2], bucket: h.stateReadDuration.bucket(n2[k]), value: Self.seconds(n2[k]))
                if stale[k] { c.staleReads.add(slots[b &+ 3], 1) }
            }
        case .stateWrite:
            let l0 = v.label(type, 0), n2 = v.number(type, 2), n3 = v.number(type, 3), n4 = v.number(type, 4)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                let outcome = Int(min(n2[k], 3))
                c.stateWrites.add(slots[b &+ outcome], 1)
                c.stateWriteDuration.observe(slots[b &+ 4], bucket: h.stateWriteDuration.bucket(n3[k]), value: Self.seconds(n3[k]))
                if n4[k] > 1 { c.stateWriteRetries.add(slots[b &+ 6], 1) }
                if outcome == Int(WriteOutcome.committed.rawValue) {
                    let attempts = max(n4[k], 1)
                    c.stateWriteAttempts.observe(slots[b &+ 5], bucket: h.stateWriteAttempts.bucket(attempts), value: Self.plain(attempts))
                    if lost[k] { c.lostUpdates.add(slots[b &+ 7], 1) }
                }
            }
        case .memoryFlush:
            let l0 = v.label(type, 0), n0 = v.number(type, 0), n1 = v.number(type, 1), n2 = v.number(type, 2)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                c.writebackPending.set(slots[b], Self.double(n0[k]))
                c.flushDuration.observe(slots[b &+ 1], bucket: h.flushDuration.bucket(n1[k]), value: Self.seconds(n1[k]))
                c.flushes.add(slots[b &+ 2 &+ Int(min(n2[k], 2))], 1)
            }
        case .toolCall:
            let l0 = v.label(type, 0), n0 = v.number(type, 0), n1 = v.number(type, 1), n2 = v.number(type, 2)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                c.toolCalls.add(slots[b &+ Int(min(n0[k], 3))], 1)
                c.toolDuration.observe(slots[b &+ 4], bucket: h.toolDuration.bucket(n1[k]), value: Self.seconds(n1[k]))
                if n2[k] != 0 { c.toolFallbacks.add(slots[b &+ 5], 1) }
            }
        case .breakerTransition:
            let l0 = v.label(type, 0), n0 = v.number(type, 0), n1 = v.number(type, 1)
            for k in range {
                let tool = label(l0, k)
                let from = Int(min(n0[k], 4)), to = Int(min(n1[k], 4))
                guard let b = s.bundle(Self.key(type, tool, 0, 0)),
                      let t = s.bundle(Self.key(type, tool, UInt32(1 + from), UInt32(1 + to), transition: true)) else { return k }
                for state in 0..<5 { c.breakerState.set(slots[b &+ state], state == to ? 1 : 0) }
                c.breakerTransitions.add(slots[t], 1)
            }
        case .llmRequest:
            let l0 = v.label(type, 0), l1 = v.label(type, 1), l2 = v.label(type, 2)
            let n0 = v.number(type, 0), n1 = v.number(type, 1), n2 = v.number(type, 2), n3 = v.number(type, 3), n4 = v.number(type, 4)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), label(l1, k), label(l2, k))) else { return k }
                let outcome = Int(min(n0[k], 3))
                c.llmRequests.add(slots[b &+ outcome], 1)
                c.llmTokens.add(slots[b &+ 4], Self.double(n1[k]))
                c.llmTokens.add(slots[b &+ 5], Self.double(n2[k]))
                let latency = Self.seconds(n3[k])
                let latencyBucket = h.llmDuration.bucket(n3[k])
                c.llmDuration.observe(slots[b &+ 6], bucket: latencyBucket, value: latency)
                c.llmRateLimitWait.observe(slots[b &+ 7], bucket: h.llmRateLimitWait.bucket(n4[k]), value: Self.seconds(n4[k]))
                if n1[k] > 0 { c.genAITokens.observe(slots[b &+ 8], bucket: h.genAITokens.bucket(n1[k]), value: Self.plain(n1[k])) }
                if n2[k] > 0 { c.genAITokens.observe(slots[b &+ 9], bucket: h.genAITokens.bucket(n2[k]), value: Self.plain(n2[k])) }
                let genAIBucket = h.sameLLMDuration ? latencyBucket : h.genAIDuration.bucket(n3[k])
                c.genAIDuration.observe(slots[b &+ 10 &+ outcome], bucket: genAIBucket, value: latency)
            }
        case .rateLimiterSample:
            let l0 = v.label(type, 0)
            let n0 = v.number(type, 0), n1 = v.number(type, 1), n2 = v.number(type, 2), n3 = v.number(type, 3), n4 = v.number(type, 4)
            for k in range {
                guard let b = s.bundle(Self.key(type, label(l0, k), 0, 0)) else { return k }
                c.llmInflight.set(slots[b], Self.double(n3[k]))
                c.llmConcurrencyLimit.set(slots[b &+ 1], Self.double(n4[k]))
                c.llmAvailable.set(slots[b &+ 2], Self.double(n0[k]))
                c.llmCapacity.set(slots[b &+ 3], Self.double(n1[k]))
                c.llmWaiting.set(slots[b &+ 4], Self.double(n2[k]))
            }
        case .eventsDropped:
            let n0 = v.number(type, 0), n1 = v.number(type, 1)
            for k in range {
                guard let b = s.bundle(Self.key(type, 0, 0, 0)) else { return k }
                c.eventsDropped.add(slots[b &+ Int(min(n1[k], Self.lastDropReason))], Self.double(n0[k]))
            }
        }
        return range.upperBound
    }

    /// The highest drop-reason code the `events_dropped` bundle has a series for.
    static let lastDropReason = UInt64(DropReason.names.count - 1)
}

/// The cells of every family the aggregator feeds, fetched together (see `FamilyCells`:
/// valid until the registry next creates or removes a series). A class, so that a pass gets
/// it by reference.
final class HotCells {
    let invocationsStarted, invocations, invocationDuration, queueWait: FamilyCells
    let queueDepth, queueCapacity, queueRejections, workersBusy, workers: FamilyCells
    let stateReads, stateReadDuration, staleReads: FamilyCells
    let stateWrites, stateWriteDuration, stateWriteAttempts, stateWriteRetries, lostUpdates: FamilyCells
    let writebackPending, flushDuration, flushes: FamilyCells
    let toolCalls, toolDuration, toolFallbacks: FamilyCells
    let breakerState, breakerTransitions: FamilyCells
    let llmRequests, llmTokens, llmDuration, llmRateLimitWait, genAITokens, genAIDuration: FamilyCells
    let llmInflight, llmConcurrencyLimit, llmAvailable, llmCapacity, llmWaiting: FamilyCells
    let keyRotations, eventsDropped: FamilyCells

    init(_ r: MetricRegistry, _ c: MetricCatalog) {
        // The catalog's types are what the updates in `pass` assume (counters are only added
        // to, gauges only set, histograms only observed): a mismatch is a programming error.
        func cells(_ f: MetricFamilyID, _ type: MetricType) -> FamilyCells {
            let cells = r.cells(f)
            precondition(cells.type == type, "\(r.family(f).name) is a \(cells.type), the aggregator expects a \(type)")
            return cells
        }
        invocationsStarted = cells(c.invocationsStarted, .counter)
        invocations = cells(c.invocations, .counter)
        invocationDuration = cells(c.invocationDuration, .histogram)
        queueWait = cells(c.queueWait, .histogram)
        queueDepth = cells(c.queueDepth, .gauge)
        queueCapacity = cells(c.queueCapacity, .gauge)
        queueRejections = cells(c.queueRejections, .counter)
        workersBusy = cells(c.workersBusy, .gauge)
        workers = cells(c.workers, .gauge)
        stateReads = cells(c.stateReads, .counter)
        stateReadDuration = cells(c.stateReadDuration, .histogram)
        staleReads = cells(c.staleReads, .counter)
        stateWrites = cells(c.stateWrites, .counter)
        stateWriteDuration = cells(c.stateWriteDuration, .histogram)
        stateWriteAttempts = cells(c.stateWriteAttempts, .histogram)
        stateWriteRetries = cells(c.stateWriteRetries, .counter)
        lostUpdates = cells(c.lostUpdates, .counter)
        writebackPending = cells(c.writebackPending, .gauge)
        flushDuration = cells(c.flushDuration, .histogram)
        flushes = cells(c.flushes, .counter)
        toolCalls = cells(c.toolCalls, .counter)
        toolDuration = cells(c.toolDuration, .histogram)
        toolFallbacks = cells(c.toolFallbacks, .counter)
        breakerState = cells(c.breakerState, .gauge)
        breakerTransitions = cells(c.breakerTransitions, .counter)
        llmRequests = cells(c.llmRequests, .counter)
        llmTokens = cells(c.llmTokens, .counter)
        llmDuration = cells(c.llmDuration, .histogram)
        llmRateLimitWait = cells(c.llmRateLimitWait, .histogram)
        genAITokens = cells(c.genAITokens, .histogram)
        genAIDuration = cells(c.genAIDuration, .histogram)
        llmInflight = cells(c.llmInflight, .gauge)
        llmConcurrencyLimit = cells(c.llmConcurrencyLimit, .gauge)
        llmAvailable = cells(c.llmAvailable, .gauge)
        llmCapacity = cells(c.llmCapacity, .gauge)
        llmWaiting = cells(c.llmWaiting, .gauge)
        keyRotations = cells(c.keyRotations, .counter)
        eventsDropped = cells(c.eventsDropped, .counter)
    }
}

/// Integer bucket searches for the histograms, each for the conversion its observations use.
final class HistogramBuckets {
    let invocationDuration, queueWait, stateReadDuration, stateWriteDuration, stateWriteAttempts: IntegerBuckets
    let flushDuration, toolDuration, llmDuration, llmRateLimitWait, genAITokens, genAIDuration: IntegerBuckets
    /// The two LLM latency histograms (ours and the GenAI convention's) share their bounds,
    /// so one search serves both.
    let sameLLMDuration: Bool

    init(_ r: MetricRegistry, _ c: MetricCatalog) {
        func seconds(_ f: MetricFamilyID) -> IntegerBuckets { r.integerBuckets(f, value: Aggregator.seconds) }
        func plain(_ f: MetricFamilyID) -> IntegerBuckets { r.integerBuckets(f, value: Aggregator.plain) }
        invocationDuration = seconds(c.invocationDuration)
        queueWait = seconds(c.queueWait)
        stateReadDuration = seconds(c.stateReadDuration)
        stateWriteDuration = seconds(c.stateWriteDuration)
        stateWriteAttempts = plain(c.stateWriteAttempts)
        flushDuration = seconds(c.flushDuration)
        toolDuration = seconds(c.toolDuration)
        llmDuration = seconds(c.llmDuration)
        llmRateLimitWait = seconds(c.llmRateLimitWait)
        genAITokens = plain(c.genAITokens)
        genAIDuration = seconds(c.genAIDuration)
        sameLLMDuration = llmDuration == genAIDuration
    }
}
