import OrchLog
import OrchMetrics

/// Exemplars of the latency histograms whose families carry them
/// (`MetricCatalog.exemplarFamilies`: `orch_invocation_duration_seconds`,
/// `gen_ai_client_operation_duration_seconds`, `orch_tool_call_duration_seconds`): each bucket
/// of each series keeps the most recent observation that fell into it and named its invocation
/// — `{invocation_id="…",trace_id="…"}`, the observed seconds, the event's time (to the
/// millisecond) — rendered in OpenMetrics output only. The drill-down from one is
/// `orchlog tail --invocation ID` (docs/runbooks.md).
///
/// `trace_id` is the invocation's `invocation_started` field: known while the invocation is
/// open in the `InvocationTracker` (started and not yet finished, within
/// `--invocations.tracked`), or when it started in the same block. The tracker is read as it
/// was before the block, so an event that follows its invocation's finish within one block
/// still gets the trace id (an orchestrator rarely logs calls after the finish). An event
/// without an `invocation_id` (0) makes no exemplar and leaves the bucket's previous one.
///
/// A pass per feed and block, after the feed's own loop (the feed loops themselves are not
/// touched: a family without exemplars costs one array read per block). Events are walked
/// newest first and each bucket is noted once per pass — the invocation id, trace id, observed
/// value and time, in 40 bytes — and the exemplars themselves are made only when the registry
/// is rendered in OpenMetrics (`ExemplarSource`), one per bucket noted since the last
/// rendering. Exemplars live in the registry and are not checkpointed: after a restart a
/// bucket has none until its next observation. Not thread-safe: the aggregator calls it, and
/// the registry renders, with the collector's lock held.
final class ExemplarStore: ExemplarSource {
    /// A bucket's latest observation that named its invocation, until it is made an exemplar.
    struct Noted {
        let id: UInt64
        let trace: TraceID
        /// The observed field (nanoseconds, or a count).
        let n: UInt64
        /// The event's time, in milliseconds since the epoch.
        let ms: UInt64
    }

    /// The exemplar's label names, in order of importance (`Exemplar` drops from the end to
    /// stay within 128 characters).
    static let labels = Exemplar.Labels(["invocation_id", "trace_id"])!

    let registry: MetricRegistry
    let invocations: InvocationTracker
    /// Per feed of every plan (`Aggregator.feedBase[type] + i`): the number slot of its event
    /// type's `invocation_id` when the feed's family carries exemplars, else -1.
    let idSlots: [Int]
    /// Whether any feed makes exemplars.
    let any: Bool
    /// Per feed: per slot and bucket, the pass that last filled it (`pass`).
    @exclusivity(unchecked) private var filled: [[UInt32]]
    /// Per feed: by slot × bucket stride + bucket, the observations noted since the last flush.
    @exclusivity(unchecked) private var noted: [[Int: Noted]]
    /// Per feed: its family, whether it observes nanoseconds as seconds, its bucket stride.
    private let families: [(family: MetricFamilyID, seconds: Bool, stride: Int)]
    /// The registry's removal generation the noted slots belong to (a removed slot may be reused).
    @exclusivity(unchecked) private var generation: UInt64 = 0
    @exclusivity(unchecked) private var pass: UInt32 = 0
    /// This block's `invocation_started` trace ids by invocation id, made when first needed.
    @exclusivity(unchecked) private var blockTraces = PairKeyTable<TraceID>()
    @exclusivity(unchecked) private var blockTracesMade = false
    let startedID = schemaSlot(.invocationStarted, "invocation_id")

    init(registry: MetricRegistry, catalog: MetricCatalog, invocations: InvocationTracker) {
        self.registry = registry
        self.invocations = invocations
        var slots: [Int] = []
        var families: [(family: MetricFamilyID, seconds: Bool, stride: Int)] = []
        for case let plan? in catalog.plans {
            for feed in plan.feeds {
                let id = EventSchema.of(plan.type).field(named: "invocation_id")
                slots.append(feed.record.kind == .observe && registry.carriesExemplars(feed.family) && registry.isExported(feed.family) ? id?.slot ?? -1 : -1)
                families.append((feed.family, feed.seconds, registry.cells(feed.family).bucketStride))
            }
        }
        idSlots = slots
        self.families = families
        any = slots.contains { $0 >= 0 }
        filled = Array(repeating: [], count: slots.count)
        noted = Array(repeating: [:], count: slots.count)
        generation = registry.removalGeneration
        if any { registry.exemplarSource = self }
    }

    /// Makes an exemplar of every bucket's latest noted observation (`ExemplarSource`).
    func flushExemplars(into registry: MetricRegistry) {
        defer { generation = registry.removalGeneration }
        let current = registry.removalGeneration == generation
        for i in noted.indices where !noted[i].isEmpty {
            // When series were removed since these were noted, their slots may hold others now:
            // the notes are dropped (the buckets get exemplars again with their next observations).
            if current {
                let (family, seconds, stride) = families[i]
                for (cell, o) in noted[i] {
                    guard let exemplar = Exemplar(Self.labels, values: [String(o.id), o.trace.isSome ? o.trace.hex : ""],
                                                  value: seconds ? Aggregator.seconds(o.n) : Aggregator.plain(o.n), timestamp: Double(o.ms) / 1000) else { continue }
                    registry.setExemplar(family: family, slot: Int32(cell / stride), bucket: cell % stride, exemplar)
                }
            }
            noted[i].removeAll(keepingCapacity: true)
        }
    }

    /// Forgets the previous block's trace ids.
    func beginBlock() {
        blockTracesMade = false
    }

    /// Notes, per bucket, the latest observation naming its invocation of feed `index` (a
    /// histogram) over events `range` of `type`, which the feed's loop just counted: the same
    /// condition, series and bucket.
    @inline(never)
    func record(feed index: Int, _ feed: FeedPlan.Feed, cells: FamilyCells, buckets: IntegerBuckets, _ type: EventType, _ range: Range<Int>,
                _ v: BlockColumnsView, _ s: SourceAggregation, bundles: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>,
                flags: UnsafeBufferPointer<Bool>) {
        let ids = v.number(type, idSlots[index]), values = v.number(type, feed.record.slot), rows = v.rows(type)
        let condition = feed.condition
        let test = condition.kind == .always || condition.kind == .flagged ? ids : v.number(type, condition.slot)
        let codes = feed.each.map { v.number(type, $0.slot) }, known = UInt64(feed.each?.names.count ?? 0)
        let stride = cells.bucketStride, lower = range.lowerBound
        if registry.removalGeneration != generation { flushExemplars(into: registry) }  // drops what the removal made stale
        pass &+= 1
        if pass == 0 {
            for i in filled.indices { filled[i] = [] }
            pass = 1
        }
        var marks: [UInt32] = []
        swap(&marks, &filled[index])  // uniquely referenced while it is written
        defer { swap(&marks, &filled[index]) }
        if marks.count < cells.slotCount * stride { marks.append(contentsOf: repeatElement(0, count: cells.slotCount * stride - marks.count)) }
        for k in range.reversed() {
            let id = ids[k]
            guard id != 0 else { continue }
            switch condition.kind {
            case .always: break
            case .nonzero: if test[k] == 0 { continue }
            case .greater: if test[k] <= condition.value { continue }
            case .equals: if test[k] != condition.value { continue }
            case .notEquals: if test[k] == condition.value { continue }
            case .flagged: if !flags[k] { continue }
            }
            var b = Int(bundles[k - lower]) + feed.offset
            if let codes { b += Int(min(codes[k], known)) }
            let slot = slots[b]
            let n = max(values[k], feed.record.atLeast)
            let bucket = buckets.bucket(n)
            let cell = Int(slot) * stride + bucket
            guard slot >= 0, cell < marks.count, marks[cell] != pass else { continue }
            marks[cell] = pass
            let ms = v.timestamps[Int(rows[k])] / 1_000_000
            // A source group's instances are read one after the other: an older block of
            // another directory must not replace a newer note (see `setExemplar`).
            if let held = noted[index][cell], held.ms > ms { continue }
            noted[index][cell] = Noted(id: id, trace: trace(id, v, s), n: n, ms: ms)
        }
    }

    /// The trace id of invocation `id`: the tracker's (an open invocation), else this block's
    /// `invocation_started` of that id.
    private func trace(_ id: UInt64, _ v: BlockColumnsView, _ s: SourceAggregation) -> TraceID {
        let tracked = invocations.trace(s.salt, id)
        if tracked.isSome { return tracked }
        if !blockTracesMade {
            blockTracesMade = true
            let ids = v.number(.invocationStarted, startedID), traces = s.startedTraces(v)
            let some = traces.reduce(0) { $0 + ($1.isSome ? 1 : 0) }
            let table = PairKeyTable<TraceID>(capacity: some)
            if some > 0 { for k in traces.indices where traces[k].isSome { table.set(0, ids[k], traces[k]) } }
            blockTraces = table
        }
        return blockTraces.get(0, id) ?? .none
    }
}
