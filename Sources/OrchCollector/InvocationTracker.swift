import Foundation
import OrchLog
import OrchMetrics

/// Per-invocation fan-out: from an invocation's `invocation_started` to its
/// `invocation_finished`, the `llm_request`s and `tool_call`s carrying its `invocation_id` are
/// tallied (calls, tokens by type, cost); when it finishes, the tally is observed into
/// `orch_invocation_llm_calls`, `orch_invocation_tool_calls`, `orch_invocation_tokens{type}` and
/// `orch_invocation_cost_usd` by the finishing event's `agent`. Events of an invocation that
/// is not open (never started, already finished, or evicted) are not tallied.
///
/// Bounded by `--invocations.tracked`: open invocations sit in two generations of half the
/// bound each; when the current one fills, the older one is dropped and its invocations are
/// counted in `orchlog_collector_invocations_untracked_total` (they never finish in the
/// histograms). A pass of its own after the feeds, over the block's rows of the four types in
/// row order. Not thread-safe: the aggregator calls it with the collector's lock held.
final class InvocationTracker {
    struct Key: Hashable {
        /// The source's salt (`SourceAggregation.salt`): one tracker serves every source.
        let source: UInt64
        let id: UInt64
    }

    /// One open invocation's calls so far.
    struct Tally: Equatable {
        var llmCalls: UInt32 = 0, toolCalls: UInt32 = 0
        /// input, output, cache_read, cache_write, reasoning.
        var tokens: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var usd = 0.0
        /// Some of its tokens had no price: its cost is not observed.
        var unpriced = false
        /// Its `invocation_started`'s `trace_id` (for the exemplars of its calls and duration).
        var trace = TraceID.none

        static func == (a: Tally, b: Tally) -> Bool {
            a.llmCalls == b.llmCalls && a.toolCalls == b.toolCalls && a.tokens == b.tokens && a.usd.bitPattern == b.usd.bitPattern && a.unpriced == b.unpriced
                && a.trace == b.trace
        }
    }

    let capacity: Int
    /// The open invocations, by (source salt, invocation id): the current generation and the
    /// one before.
    @exclusivity(unchecked) private var current = PairKeyTable<Tally>()
    @exclusivity(unchecked) private var previous = PairKeyTable<Tally>()
    let registry: MetricRegistry
    let catalog: MetricCatalog
    let fields: Fields
    /// Integer bucket searches of the call and token histograms.
    private let callBuckets, tokenBuckets: IntegerBuckets
    /// The histograms' cells: fetched per block and after each series creation.
    @exclusivity(unchecked) private var cells: (llm: FamilyCells, tool: FamilyCells, tokens: FamilyCells)
    /// Per source salt and agent id: the four histograms' series slots (tokens: five, by type;
    /// -1 where the family is not exported). Plain integers: no array, nothing to retain.
    private struct Series {
        let llm, tool: Int32
        let tokens: (Int32, Int32, Int32, Int32, Int32)
        let cost: Int32
    }
    @exclusivity(unchecked) private var series = PairKeyTable<Series>()
    @exclusivity(unchecked) private var untracked: [UInt64: SeriesHandle] = [:]
    @exclusivity(unchecked) private var generation: UInt64 = 0

    /// The slots read, found by name once.
    struct Fields {
        let startedID, finishedID, finishedAgent, llmID, toolID: Int
        let tokens: [Int]

        init() {
            let slot = schemaSlot
            startedID = slot(.invocationStarted, "invocation_id")
            finishedID = slot(.invocationFinished, "invocation_id")
            finishedAgent = slot(.invocationFinished, "agent")
            llmID = slot(.llmRequest, "invocation_id")
            toolID = slot(.toolCall, "invocation_id")
            tokens = MetricCatalog.tokenTypes.map { slot(.llmRequest, $0.1) }
        }
    }

    init(capacity: Int, registry: MetricRegistry, catalog: MetricCatalog) {
        self.capacity = max(2, capacity)
        self.registry = registry
        self.catalog = catalog
        fields = Fields()
        callBuckets = registry.integerBuckets(catalog.invocationLLMCalls, value: Aggregator.plain)
        tokenBuckets = registry.integerBuckets(catalog.invocationTokens, value: Aggregator.plain)
        cells = (registry.cells(catalog.invocationLLMCalls), registry.cells(catalog.invocationToolCalls), registry.cells(catalog.invocationTokens))
    }

    private func fetchCells() {
        cells = (registry.cells(catalog.invocationLLMCalls), registry.cells(catalog.invocationToolCalls), registry.cells(catalog.invocationTokens))
    }

    /// Invocations open now.
    var count: Int { current.count + previous.count }

    /// Exemplars want the open invocations' trace ids (`ExemplarStore`): track even when no
    /// fan-out family is exported.
    @exclusivity(unchecked) var tracesWanted = false

    /// Whether any of the families is exported, or exemplars want trace ids (else the pass is
    /// skipped).
    var active: Bool {
        tracesWanted || [catalog.invocationLLMCalls, catalog.invocationToolCalls, catalog.invocationTokens, catalog.invocationCost].contains { registry.isExported($0) }
    }

    /// Tallies the block's rows of source `s`; `costs` holds each `llm_request`'s cost and
    /// whether all its tokens were priced, in order (from `LLMSpend`).
    func ingest(_ v: BlockColumnsView, _ s: SourceAggregation, costs: UnsafeBufferPointer<(Double, Bool)>) throws {
        let started = v.count(.invocationStarted), finished = v.count(.invocationFinished)
        guard started + finished + v.count(.llmRequest) + v.count(.toolCall) > 0, active else { return }
        if registry.removalGeneration != generation {
            generation = registry.removalGeneration
            series = PairKeyTable()
            untracked.removeAll()
        }
        fetchCells()
        let f = fields
        let startedIDs = v.number(.invocationStarted, f.startedID)
        let traces = s.startedTraces(v)
        let finishedIDs = v.number(.invocationFinished, f.finishedID), agents = v.label(.invocationFinished, f.finishedAgent)
        let llmIDs = v.number(.llmRequest, f.llmID), toolIDs = v.number(.toolCall, f.toolID)
        let tokenColumns = (v.number(.llmRequest, f.tokens[0]), v.number(.llmRequest, f.tokens[1]), v.number(.llmRequest, f.tokens[2]),
                            v.number(.llmRequest, f.tokens[3]), v.number(.llmRequest, f.tokens[4]))
        let startedCode = UInt16(EventType.invocationStarted.rawValue), finishedCode = UInt16(EventType.invocationFinished.rawValue)
        let llmCode = UInt16(EventType.llmRequest.rawValue), toolCode = UInt16(EventType.toolCall.rawValue)
        var si = 0, fi = 0, li = 0, ti = 0
        var o = observing()
        // The generations as locals: the loop then retains neither table per event.
        var cur = current, prev = previous
        let half = capacity / 2
        // The block's rows in order; each type's columns are read at its own cursor (a type's
        // rows ascend, so its k-th row in the block is its k-th column entry).
        for type in v.rowTypes {
            switch type {
            case startedCode:
                if cur.count < half {
                    cur.set(s.salt, startedIDs[si], Tally(trace: traces[si]))
                } else {
                    if rotateAndOpen(s.salt, startedIDs[si], trace: traces[si], s) { o = observing() }
                    (cur, prev) = (current, previous)
                }
                si &+= 1
            case llmCode:
                let id = llmIDs[li]
                if id != 0 {
                    update(cur, prev, s.salt, id) { t in
                        t.llmCalls &+= 1
                        t.tokens.0 &+= tokenColumns.0[li]
                        t.tokens.1 &+= tokenColumns.1[li]
                        t.tokens.2 &+= tokenColumns.2[li]
                        t.tokens.3 &+= tokenColumns.3[li]
                        t.tokens.4 &+= tokenColumns.4[li]
                        let (usd, priced) = li < costs.count ? costs[li] : (0, false)
                        t.usd += usd
                        if !priced { t.unpriced = true }
                    }
                }
                li &+= 1
            case toolCode:
                let id = toolIDs[ti]
                if id != 0 { update(cur, prev, s.salt, id) { $0.toolCalls &+= 1 } }
                ti &+= 1
            case finishedCode:
                let id = finishedIDs[fi]
                if let t = cur.remove(s.salt, id) ?? prev.remove(s.salt, id) {
                    try observe(t, agent: UInt32(truncatingIfNeeded: agents[fi]), s, &o)
                }
                fi &+= 1
            default:
                break
            }
        }
    }

    @inline(__always)
    private func update(_ current: PairKeyTable<Tally>, _ previous: PairKeyTable<Tally>, _ salt: UInt64, _ id: UInt64, _ body: (inout Tally) -> Void) {
        if !current.update(salt, id, body) { _ = previous.update(salt, id, body) }
    }

    /// Opens invocation `id` when the current generation is full (`ingest` opens the others
    /// itself): the older generation is dropped, the current one becomes it, and `id` opens a
    /// new one. Returns whether a series was made (the cells may have moved).
    private func rotateAndOpen(_ salt: UInt64, _ id: UInt64, trace: TraceID, _ s: SourceAggregation) -> Bool {
        var made = false
        if previous.count > 0, let (h, new) = untrackedHandle(s) {
            // Unfinished invocations of every source are dropped; counted under this one's.
            registry.add(h, Double(previous.count))
            made = new
        }
        previous = current
        current = PairKeyTable(capacity: min(capacity / 2, 1 << 16))
        current.set(salt, id, Tally(trace: trace))
        return made
    }

    /// The trace id of open invocation `id` of the source with salt `salt` (`none`: not open,
    /// or started without one).
    func trace(_ salt: UInt64, _ id: UInt64) -> TraceID {
        (current.get(salt, id) ?? previous.get(salt, id))?.trace ?? .none
    }

    /// The open invocations (for tests and checkpoints).
    var openEntries: [Key: Tally] {
        var out: [Key: Tally] = [:]
        for g in [previous, current] { for (salt, id, t) in g.entries() { out[Key(source: salt, id: id)] = t } }
        return out
    }

    private func untrackedHandle(_ s: SourceAggregation) -> (SeriesHandle, made: Bool)? {
        if let h = untracked[s.salt] { return (h, false) }
        guard registry.isExported(catalog.invocationsUntracked), let h = try? registry.series(catalog.invocationsUntracked, labelValues: [s.name]) else { return nil }
        untracked[s.salt] = h
        fetchCells()  // a series was made: the cells may have moved
        return (h, true)
    }

    /// What `observe` reads, copied out of the tracker once per block so that the per-finish
    /// path retains nothing (bucket tables, cells: plain values and raw pointers).
    private struct Observing {
        let calls, tokens: IntegerBuckets
        let cells: (llm: FamilyCells, tool: FamilyCells, tokens: FamilyCells, cost: FamilyCells)
    }

    private func observe(_ t: Tally, agent: UInt32, _ s: SourceAggregation, _ o: inout Observing) throws {
        let id = s.id(agent)
        let h: Series
        if let found = series.get(s.salt, UInt64(id)) {
            h = found
        } else {
            h = try makeSeries(agent, id, s)
            o = observing()  // a series was made: the cells may have moved
        }
        // Counts: integer bucket searches straight into the cells (as the feeds observe).
        @inline(__always) func count(_ c: FamilyCells, _ slot: Int32, _ b: IntegerBuckets, _ n: UInt64) {
            if slot >= 0 { c.observe(slot, bucket: b.bucket(n), value: Aggregator.plain(n)) }
        }
        count(o.cells.llm, h.llm, o.calls, UInt64(t.llmCalls))
        count(o.cells.tool, h.tool, o.calls, UInt64(t.toolCalls))
        count(o.cells.tokens, h.tokens.0, o.tokens, t.tokens.0)
        count(o.cells.tokens, h.tokens.1, o.tokens, t.tokens.1)
        count(o.cells.tokens, h.tokens.2, o.tokens, t.tokens.2)
        count(o.cells.tokens, h.tokens.3, o.tokens, t.tokens.3)
        count(o.cells.tokens, h.tokens.4, o.tokens, t.tokens.4)
        if h.cost >= 0, !t.unpriced, !t.usd.isNaN {
            o.cells.cost.observe(h.cost, bucket: Self.costBucket(t.usd), value: t.usd)
        }
    }

    /// The bucket of a cost in `MetricCatalog.costBuckets` (first bound ≥ usd, else +Inf), as
    /// `MetricRegistry.observe` picks it.
    @inline(__always)
    static func costBucket(_ usd: Double) -> Int {
        let bounds = MetricCatalog.costBuckets
        for i in 0..<bounds.count where usd <= bounds[i] { return i }
        return bounds.count
    }

    private func observing() -> Observing {
        Observing(calls: callBuckets, tokens: tokenBuckets,
                  cells: (cells.llm, cells.tool, cells.tokens, registry.cells(catalog.invocationCost)))
    }

    /// The series of block string `agent` (interned as `id`) in the four histograms, made on
    /// its first finished invocation.
    private func makeSeries(_ agent: UInt32, _ id: UInt32, _ s: SourceAggregation) throws -> Series {
        let name = s.text(agent)
        func make(_ family: MetricFamilyID, _ more: [String] = []) throws -> SeriesHandle? {
            guard registry.isExported(family) else { return nil }
            do { return try registry.series(family, labelValues: [s.name, name] + more) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        func slot(_ family: MetricFamilyID, _ more: [String] = []) throws -> Int32 { try make(family, more)?.slot ?? -1 }
        let types = MetricCatalog.tokenTypes.map(\.0)
        let tokens = (try slot(catalog.invocationTokens, [types[0]]), try slot(catalog.invocationTokens, [types[1]]),
                      try slot(catalog.invocationTokens, [types[2]]), try slot(catalog.invocationTokens, [types[3]]),
                      try slot(catalog.invocationTokens, [types[4]]))
        let h = Series(llm: try slot(catalog.invocationLLMCalls), tool: try slot(catalog.invocationToolCalls), tokens: tokens,
                       cost: try slot(catalog.invocationCost))
        series.set(s.salt, UInt64(id), h)
        fetchCells()
        return h
    }

    // MARK: checkpoints

    /// Marks the packing with trace ids (12 words per entry); without it, 10 words (before
    /// exemplars), restored with no trace ids.
    static let packedWithTraces: UInt64 = 0x4F52_4348_5452_4332  // "ORCHTRC2"

    /// Packs the open invocations: `packedWithTraces`, then per generation (the current one
    /// first) its count and per entry source salt, id, calls, five token counts, the cost's
    /// bits, the unpriced flag and the trace id's two words, as little-endian u64s.
    func packed() -> Data {
        var words: [UInt64] = [Self.packedWithTraces]
        words.reserveCapacity(1 + count * 12)
        for generation in [current, previous] {
            words.append(UInt64(generation.count))
            for (salt, id, t) in generation.entries() {
                words += [salt, id, UInt64(t.llmCalls) << 32 | UInt64(t.toolCalls), t.tokens.0, t.tokens.1, t.tokens.2, t.tokens.3, t.tokens.4,
                          t.usd.bitPattern, t.unpriced ? 1 : 0, t.trace.hi, t.trace.lo]
            }
        }
        return words.withUnsafeBytes { Data($0) }
    }

    /// Restores what `packed` wrote (nothing for an empty or malformed blob).
    func restore(_ data: Data) {
        current = PairKeyTable()
        previous = PairKeyTable()
        guard data.count % 8 == 0, data.count >= 16 else { return }
        let words = data.withUnsafeBytes { raw in (0..<data.count / 8).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) } }
        let traced = words[0] == Self.packedWithTraces
        let stride = traced ? 12 : 10
        var i = traced ? 1 : 0
        var generations: [PairKeyTable<Tally>] = []
        for _ in 0..<2 {
            guard i < words.count else { return }
            let n = Int(min(words[i], UInt64(words.count)))
            i += 1
            var g = PairKeyTable<Tally>()
            for _ in 0..<n {
                guard i + stride <= words.count else { return }
                var t = Tally()
                t.llmCalls = UInt32(truncatingIfNeeded: words[i + 2] >> 32)
                t.toolCalls = UInt32(truncatingIfNeeded: words[i + 2])
                t.tokens = (words[i + 3], words[i + 4], words[i + 5], words[i + 6], words[i + 7])
                t.usd = Double(bitPattern: words[i + 8])
                t.unpriced = words[i + 9] != 0
                if traced { t.trace = TraceID(hi: words[i + 10], lo: words[i + 11]) }
                g.set(words[i], words[i + 1], t)
                i += stride
            }
            generations.append(g)
        }
        current = generations[0]
        previous = generations[1]
    }
}
