import Foundation
import OrchLog
import OrchMetrics
import OrchPricing
import OrchTestSupport
import Testing
@testable import OrchCollector

/// The aggregator applies blocks column by column, type by type, with integer bucket searches
/// and direct cell updates. These tests hold it to the plain algorithm — every event in row
/// order through `MetricRegistry.increment`/`set`/`observe` with `Double` values — on logs
/// built to hit what the fast path could get wrong: durations and token counts exactly at
/// bucket bounds (le is inclusive), interleaved state reads and writes (stale reads, lost
/// updates), series created mid-block, and the intern limit reached mid-block.
@Suite struct AggregatorEquivalenceTests {
    @Test func columnarIngestMatchesPerEventIngestByteForByte() throws {
        let dir = TempDir("equivalence")
        defer { dir.remove() }
        try writeLog(dir.sub("a"), seed: 1, agents: 6, events: 30_000)
        try compare(dir.sub("a"), internLimit: SourceAggregation.defaultInternLimit)
    }

    @Test func internLimitReachedMidBlockMatchesRowOrder() throws {
        let dir = TempDir("equivalence-intern")
        defer { dir.remove() }
        // 200 agents against a limit of 60 label values: the limit is reached inside a block,
        // so which values keep their own series depends on the order they are seen.
        try writeLog(dir.sub("b"), seed: 2, agents: 200, events: 12_000)
        try compare(dir.sub("b"), internLimit: 60)
    }

    @Test func nanosecondBucketsAgreeWithSecondsAtEveryBound() throws {
        let bounds = [MetricCatalog.invocationBuckets, MetricCatalog.waitBuckets, MetricCatalog.storeBuckets,
                      MetricCatalog.toolBuckets, MetricCatalog.genAIDurationBuckets, MetricFamily.defaultBuckets]
        for (i, b) in bounds.enumerated() {
            try checkBuckets(b, name: "seconds_\(i)", value: Aggregator.seconds)
        }
        try checkBuckets(MetricCatalog.attemptBuckets, name: "attempts", value: Aggregator.plain)
        try checkBuckets(MetricCatalog.genAITokenBuckets, name: "tokens", value: Aggregator.plain)
        try checkBuckets([-5, -1, 0, 1e-12, 0.5, 2], name: "odd", value: Aggregator.seconds)
    }

    // MARK: Helpers

    /// Feeds `bounds` observations of `value(n)` for n at, around and between every bound's
    /// integer threshold, through `observe` and through the integer path; the bucket counts
    /// and sums must be equal after every observation.
    private func checkBuckets(_ bounds: [Double], name: String, value: @escaping (UInt64) -> Double) throws {
        let registry = MetricRegistry()
        let plain = try registry.registerHistogram(name: "plain_\(name)", help: "", buckets: bounds)
        let fast = try registry.registerHistogram(name: "fast_\(name)", help: "", buckets: bounds)
        let a = try registry.series(plain, labelValues: []), b = try registry.series(fast, labelValues: [])
        let search = registry.integerBuckets(fast, value: value)
        var ns: [UInt64] = [0, 1, 2, UInt64.max, UInt64.max - 1, 1 << 63]
        for bound in bounds where bound >= 0 && bound < 1e18 {
            for scale in [1.0, 1e9] {
                let center = UInt64(min(bound * scale, 1.8e19))
                for d in 0..<5 { ns += [center &+ UInt64(d), center &- UInt64(d)] }
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { ns.append(UInt64.random(in: 0...100_000_000_000, using: &rng)) }
        for n in ns {
            registry.observe(a, value(n))
            registry.cells(fast).observe(b.slot, bucket: search.bucket(n), value: value(n))
            #expect(registry.cumulativeBucketCounts(a) == registry.cumulativeBucketCounts(b), "\(name): n = \(n)")
            #expect(registry.value(a).bitPattern == registry.value(b).bitPattern, "\(name): n = \(n)")
        }
    }

    /// Ingests every block of the log in `path` with the aggregator and with the per-event
    /// reference, each into its own registry, and compares the rendered registries.
    private func compare(_ path: String, internLimit: Int) throws {
        let fastRegistry = MetricRegistry(clock: { 1_700_000_000 }), plainRegistry = MetricRegistry(clock: { 1_700_000_000 })
        // m1 priced in full, m2 without a cache_write price, m3 not at all.
        let pricing = PriceTable(prices: ["openai": ["m1": .init(input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5),
                                                     "m2": .init(input: 0.15, output: 0.6, cacheRead: 0.075)],
                                          "anthropic": ["m1": .init(input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75)]])
        let fast = Aggregator(registry: fastRegistry, catalog: try MetricCatalog(registry: fastRegistry), trackedKeys: 600, pricing: pricing)
        let plain = Aggregator(registry: plainRegistry, catalog: try MetricCatalog(registry: plainRegistry), trackedKeys: 600, pricing: pricing)
        fast.internLimit = internLimit
        plain.internLimit = internLimit
        let fastSource = try fast.source("equivalence"), plainSource = try plain.source("equivalence")
        let reference = PerEventReference(plain, plainSource)
        let source = try #require(try LogDirectory.sources(at: path).first)
        let reader = SourceReader(source: source)
        var blocks = 0
        var stale = 0.0, lost = 0.0
        try reader.pollBlocks { block in
            blocks += 1
            try fast.ingest(block, into: fastSource)
            try reference.ingest(block)
        }
        #expect(blocks > 20, "many blocks")
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            var a: [UInt8] = [], b: [UInt8] = []
            fastRegistry.render(format: format, into: &a)
            plainRegistry.render(format: format, into: &b)
            let fastText = String(decoding: a, as: UTF8.self), plainText = String(decoding: b, as: UTF8.self)
            #expect(fastText == plainText, "\(format)")
            if fastText != plainText {
                let diff = zip(fastText.split(separator: "\n"), plainText.split(separator: "\n")).first { $0 != $1 }
                Issue.record("first difference: \(String(describing: diff))")
            }
            for line in plainText.split(separator: "\n") {
                if line.hasPrefix("orch_state_stale_reads_total{"), let v = Double(line.split(separator: " ").last!) { stale += v }
                if line.hasPrefix("orch_state_lost_updates_total{"), let v = Double(line.split(separator: " ").last!) { lost += v }
            }
        }
        #expect(stale > 0 && lost > 0, "the log exercises the state tracker (stale \(stale), lost \(lost))")
        var unknownLines: [UInt8] = []
        fastRegistry.render(format: .prometheusText, into: &unknownLines)
        let unknownSeries = String(decoding: unknownLines, as: UTF8.self).split(separator: "\n").filter { $0.contains("\"unknown\"") && !$0.hasPrefix("#") }
        #expect(unknownSeries.count > 20, "the log exercises unknown enumeration codes (\(unknownSeries.count) series)")
        // Key hashes include the shard's interned id, which depends on the order label values
        // are first seen (type by type here, row by row there): compare the entries themselves.
        func entries(_ a: Aggregator) -> [[UInt64]] {
            a.trackerState.allEntries().map { [$0.1.version, $0.1.committedAt, $0.1.previousVersion, $0.1.previousAt] }
                .sorted { $0.lexicographicallyPrecedes($1) }
        }
        #expect(fast.trackedKeys == plain.trackedKeys)
        #expect(entries(fast) == entries(plain))
    }

    /// A seeded log of every event type, in small blocks, with durations and token counts at,
    /// just below and just above bucket bounds, and state keys few enough to conflict.
    private func writeLog(_ path: String, seed: UInt64, agents: Int, events: Int) throws {
        var options = EventLogOptions()
        options.fsync = .never
        options.blockSize = 4 << 10
        let log = try EventLog(directory: path, options: options)
        defer { log.close() }
        var rng = HTTPTestRNG(seed: seed)
        let agentLabels = (0..<agents).map { log.label("agent-\($0)") }
        let tools = ["crm", "search"].map(log.label), shards = (0..<4).map { log.label("shard-\($0)") }
        let keys = (0..<40).map { log.label("account:\($0)") }
        let providers = ["openai", "anthropic"].map(log.label), models = ["m1", "m2", "m3"].map(log.label)
        let queue = log.label("requests"), reasons = ["full", "limited"].map(log.label)
        // Bounds of every histogram, in ns, and counts, with neighbours.
        let edges: [UInt64] = (MetricCatalog.storeBuckets + MetricCatalog.invocationBuckets + MetricCatalog.waitBuckets
            + MetricCatalog.toolBuckets + MetricCatalog.genAIDurationBuckets).flatMap { b -> [UInt64] in
                let ns = UInt64(b * 1e9)
                return [ns - 1, ns, ns + 1]
            }
        let counts: [UInt64] = MetricCatalog.genAITokenBuckets.flatMap { b in [UInt64(b) - 1, UInt64(b), UInt64(b) + 1] } + [0]
        func latency() -> UInt64 { rng.next() % 3 == 0 ? edges[Int(rng.next() % UInt64(edges.count))] : rng.next() % 3_000_000_000 }
        func tokens() -> UInt64 { rng.next() % 2 == 0 ? counts[Int(rng.next() % UInt64(counts.count))] : rng.next() % 100_000 }
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        var versions = [UInt64](repeating: 1, count: keys.count * shards.count)
        // Invocations started and not finished: calls and finishes name one of them (or none, or
        // one never started), never one already finished (see `PerEventReference.traces`).
        var open: [UInt64] = []
        func invocation(_ i: Int) -> UInt64 {
            switch rng.next() % 4 {
            case 0: return 0
            case 1: return UInt64(i)  // never started
            default: return open.isEmpty ? 0 : open[Int(rng.next() % UInt64(open.count))]
            }
        }
        func traceID() -> TraceID {
            switch rng.next() % 5 {
            case 0, 1: return .none
            default: return TraceID(hi: rng.next(), lo: rng.next() | 1)
            }
        }
        var ts: UInt64 = 1_700_000_000_000_000_000
        for i in 0..<events {
            ts += rng.next() % 2_000_000
            let event: Event
            switch rng.next() % 16 {
            case 0:
                event = .invocationStarted(agent: pick(agentLabels), invocationID: UInt64(i), traceID: traceID())
                open.append(UInt64(i))
            case 1:
                var id = UInt64(i)
                if !open.isEmpty, rng.next() % 3 != 0 { id = open.remove(at: Int(rng.next() % UInt64(open.count))) }
                event = .invocationFinished(agent: pick(agentLabels), outcome: pick(InvocationOutcome.allCases), durationNs: latency(),
                                            queueWaitNs: latency(), invocationID: id, queue: rng.next() % 2 == 0 ? queue : .none)
            case 2: event = rng.next() % 4 == 0
                ? .llmProviderLimits(provider: pick(providers), model: pick(models), key: pick(agentLabels), remainingRequests: rng.next() % 500,
                                     remainingTokens: tokens(), resetRequestsNs: latency(), resetTokensNs: latency())
                : .queueSample(queue: queue, depth: rng.next() % 100, capacity: 100, oldestAgeNs: latency(), enqueued: rng.next() % 50)
            case 3: event = .queueRejection(queue: queue, reason: pick(reasons), retryAfterNs: latency())
            case 4: event = .workerPoolSample(pool: pick(agentLabels), busy: rng.next() % 8, size: 8)
            case 5, 6, 7:
                let k = Int(rng.next() % UInt64(keys.count)), s = Int(rng.next() % UInt64(shards.count))
                // Often an old version: a read that may be stale.
                let v = versions[s * keys.count + k] - (rng.next() % 2 == 0 ? min(1, versions[s * keys.count + k]) : 0)
                event = .stateRead(shard: shards[s], key: keys[k], version: v, source: pick(ReadSource.allCases), latencyNs: latency() % 5_000_000)
            case 8, 9, 10:
                let k = Int(rng.next() % UInt64(keys.count)), s = Int(rng.next() % UInt64(shards.count))
                let current = versions[s * keys.count + k]
                // Sometimes from a stale base: a lost update.
                let base = rng.next() % 4 == 0 ? current - min(1, current) : current
                let outcome = pick(WriteOutcome.allCases)
                if outcome == .committed { versions[s * keys.count + k] = current + 1 }
                event = .stateWrite(shard: shards[s], key: keys[k], baseVersion: base, newVersion: current + 1, outcome: outcome,
                                    latencyNs: latency(), attempt: rng.next() % 15)
            case 11: event = .memoryFlush(shard: pick(shards), pending: rng.next() % 50, latencyNs: latency(), outcome: pick(FlushOutcome.allCases))
            case 12: event = .toolCall(tool: pick(tools), outcome: pick(ToolOutcome.allCases), latencyNs: latency(), fallbackUsed: rng.next() % 2 == 0,
                                       invocationID: invocation(i), agent: pick(agentLabels))
            case 13: event = .breakerTransition(tool: pick(tools), from: pick(BreakerState.allCases), to: pick(BreakerState.allCases))
            case 14:
                let outcome = pick(LLMOutcome.allCases), streamed = rng.next() % 2 == 0
                event = .llmRequest(provider: pick(providers), model: pick(models), key: pick(agentLabels), outcome: outcome,
                                    inputTokens: tokens(), outputTokens: tokens(), latencyNs: latency(), rateLimitWaitNs: latency(),
                                    invocationID: invocation(i), agent: pick(agentLabels), cacheReadTokens: rng.next() % 3 == 0 ? tokens() : 0,
                                    cacheWriteTokens: rng.next() % 4 == 0 ? tokens() : 0, reasoningTokens: rng.next() % 3 == 0 ? tokens() : 0,
                                    streamed: streamed, timeToFirstChunkNs: streamed ? latency() : 0,
                                    rateLimitType: outcome == .rateLimited ? pick(RateLimitType.allCases) : .unspecified,
                                    origin: outcome == .rateLimited ? pick(RateLimitOrigin.allCases) : .unspecified)
            default:
                event = rng.next() % 2 == 0
                    ? .rateLimiterSample(limiter: pick(providers), available: rng.next() % 10, capacity: 10, waiting: rng.next() % 5,
                                         inflight: rng.next() % 4, concurrencyLimit: 4)
                    : .keyRotation(provider: pick(providers), from: pick(agentLabels), to: pick(agentLabels), reason: pick(reasons))
            }
            // Now and then an enumeration code this collector does not know (a newer writer's
            // value): counted under `unknown`, never as a known value.
            var raw = event.raw(seq: 0, timestamp: ts)
            var unknown = false
            for field in EventSchema.of(raw.type).fields {
                if case .enumeration = field.kind, rng.next() % 25 == 0 {
                    raw.setNumber(field.slot, 9 + rng.next() % 3)
                    unknown = true
                }
            }
            if unknown { log.emit(raw: raw) } else { log.emit(event, at: ts) }
        }
    }
}

/// The per-event algorithm, written out by hand and independent of the metric feeds table:
/// each event in row order, every series named by its family and label values, every update
/// through the registry's public calls, durations as `Double` seconds. On the first sight of
/// a combination of key labels it makes all the series the collector's contract says start at
/// 0 together (every outcome, every breaker state), in that order.
private final class PerEventReference {
    let a: Aggregator
    let s: SourceAggregation
    private var seen: Set<[String]> = []
    /// Tools whose breaker reported a state this collector does not know.
    private var unknownState: Set<String> = []
    /// The trace id of every started invocation not finished yet (valid W3C ids only).
    private var traces: [UInt64: String] = [:]
    private var strings = StringTable()
    private let exemplarLabels = ["invocation_id", "trace_id"]

    init(_ a: Aggregator, _ s: SourceAggregation) {
        self.a = a
        self.s = s
    }

    func ingest(_ block: DecodedBlock) throws {
        s.beginBlock(block.stringTable)
        strings = block.stringTable
        let events = block.events
        for e in events { try ingest(e) }
        // Pricing is its own pass in both (LLMSpendTests hold it to hand-computed values).
        try block.columns.withView { v in
            try a.spend.ingest(v, s)
            try a.spend.rowCosts.withUnsafeBufferPointer { try a.invocations.ingest(v, s, costs: $0) }
        }
        a.registry.add(s.own.ingested, Double(events.count))
        if let last = events.last { s.current.lastEventTs = max(s.current.lastEventTs, last.timestamp) }
    }

    private func seconds(_ ns: UInt64) -> Double { Double(ns) * 1e-9 }

    private func number(_ e: RawEvent, _ field: String) throws -> UInt64 {
        e.number(try #require(EventSchema.of(e.type).field(named: field)).slot)
    }

    /// Observes `value` into `series` and, when the event names its invocation, makes that the
    /// bucket's exemplar: the invocation id, its trace id while started and not finished, the
    /// event's time to the millisecond.
    private func observe(_ series: SeriesHandle, _ value: Double, _ e: RawEvent) throws {
        a.registry.observe(series, value)
        let id = try number(e, "invocation_id")
        guard id != 0 else { return }
        let exemplar = try #require(Exemplar(labelNames: exemplarLabels, labelValues: [String(id), traces[id] ?? ""], value: value,
                                             timestamp: Double(e.timestamp / 1_000_000) / 1000))
        #expect(a.registry.setExemplar(series, exemplar))
    }

    private func name(_ names: [String], _ code: UInt64) -> String { code < names.count ? names[Int(code)] : "unknown" }

    /// The series of `family` (by name) with these label values after `source`.
    private func h(_ family: String, _ values: [String]) throws -> SeriesHandle {
        try a.registry.series(try #require(a.registry.family(named: family)), labelValues: [s.name] + values)
    }

    /// Runs `make` the first time `key` is seen.
    private func first(_ key: [String], _ make: () throws -> Void) rethrows {
        if seen.insert(key).inserted { try make() }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func ingest(_ e: RawEvent) throws {
        let r = a.registry
        func t(_ label: UInt32) -> String { s.text(label) }
        switch e.type {
        case .invocationStarted:
            r.increment(try h("orch_invocations_started_total", [t(e.l0)]))
            // The binary form (never a label): its two number slots.
            let trace = TraceID(hi: e.n1, lo: e.n2)
            if trace.isSome { traces[e.n0] = trace.hex }
        case .invocationFinished:
            let agent = t(e.l0), queue = t(e.l1).isEmpty ? "default" : t(e.l1)
            try first(["f", agent, t(e.l1)]) {
                for o in InvocationOutcome.names { _ = try h("orch_invocations_total", [agent, o]) }
                _ = try h("orch_invocation_duration_seconds", [agent])
                _ = try h("orch_queue_wait_seconds", [queue])
            }
            r.increment(try h("orch_invocations_total", [agent, name(InvocationOutcome.names, e.n0)]))
            let id = try number(e, "invocation_id")
            defer { traces[id] = nil }
            if e.n0 != UInt64(InvocationOutcome.rejected.rawValue) {
                try observe(try h("orch_invocation_duration_seconds", [agent]), seconds(e.n1), e)
                r.observe(try h("orch_queue_wait_seconds", [queue]), seconds(e.n2))
            }
        case .queueSample:
            r.set(try h("orch_queue_depth", [t(e.l0)]), Double(e.n0))
            r.set(try h("orch_queue_capacity", [t(e.l0)]), Double(e.n1))
            r.set(try h("orch_queue_oldest_age_seconds", [t(e.l0)]), seconds(e.n2))
            r.add(try h("orch_queue_enqueued_total", [t(e.l0)]), Double(e.n3))
        case .queueRejection:
            r.increment(try h("orch_queue_rejections_total", [t(e.l0), t(e.l1)]))
        case .workerPoolSample:
            r.set(try h("orch_workers_busy", [t(e.l0)]), Double(e.n0))
            r.set(try h("orch_workers", [t(e.l0)]), Double(e.n1))
        case .stateRead:
            let shard = t(e.l0)
            try first(["r", shard]) {
                for o in ReadSource.names { _ = try h("orch_state_reads_total", [shard, o]) }
                _ = try h("orch_state_read_duration_seconds", [shard])
                _ = try h("orch_state_stale_reads_total", [shard])
            }
            r.increment(try h("orch_state_reads_total", [shard, name(ReadSource.names, e.n1)]))
            r.observe(try h("orch_state_read_duration_seconds", [shard]), seconds(e.n2))
            let start = e.timestamp >= e.n2 ? e.timestamp - e.n2 : 0
            if a.tracker.read(key: s.keyHash(e.l1, shard: e.l0), version: e.n0, startedAt: start) {
                r.increment(try h("orch_state_stale_reads_total", [shard]))
            }
        case .stateWrite:
            let shard = t(e.l0)
            try first(["w", shard]) {
                for o in WriteOutcome.names { _ = try h("orch_state_writes_total", [shard, o]) }
                _ = try h("orch_state_write_duration_seconds", [shard])
                _ = try h("orch_state_write_attempts", [shard])
                _ = try h("orch_state_write_retries_total", [shard])
                _ = try h("orch_state_lost_updates_total", [shard])
            }
            r.increment(try h("orch_state_writes_total", [shard, name(WriteOutcome.names, e.n2)]))
            r.observe(try h("orch_state_write_duration_seconds", [shard]), seconds(e.n3))
            if e.n4 > 1 { r.increment(try h("orch_state_write_retries_total", [shard])) }
            if e.n2 == UInt64(WriteOutcome.committed.rawValue) {
                r.observe(try h("orch_state_write_attempts", [shard]), Double(max(e.n4, 1)))
                if a.tracker.committed(key: s.keyHash(e.l1, shard: e.l0), base: e.n0, new: e.n1, at: e.timestamp) {
                    r.increment(try h("orch_state_lost_updates_total", [shard]))
                }
            }
        case .memoryFlush:
            let shard = t(e.l0)
            try first(["m", shard]) {
                _ = try h("orch_memory_writeback_pending", [shard])
                _ = try h("orch_memory_flush_duration_seconds", [shard])
                for o in FlushOutcome.names { _ = try h("orch_memory_flushes_total", [shard, o]) }
            }
            r.set(try h("orch_memory_writeback_pending", [shard]), Double(e.n0))
            r.observe(try h("orch_memory_flush_duration_seconds", [shard]), seconds(e.n1))
            r.increment(try h("orch_memory_flushes_total", [shard, name(FlushOutcome.names, e.n2)]))
        case .toolCall:
            let tool = t(e.l0)
            try first(["t", tool]) {
                for o in ToolOutcome.names { _ = try h("orch_tool_calls_total", [tool, o]) }
                _ = try h("orch_tool_call_duration_seconds", [tool])
                _ = try h("orch_tool_fallbacks_total", [tool])
            }
            r.increment(try h("orch_tool_calls_total", [tool, name(ToolOutcome.names, e.n0)]))
            try observe(try h("orch_tool_call_duration_seconds", [tool]), seconds(e.n1), e)
            if e.n2 != 0 { r.increment(try h("orch_tool_fallbacks_total", [tool])) }
        case .breakerTransition:
            let tool = t(e.l0)
            try first(["b", tool]) {
                for state in BreakerState.names { _ = try h("orch_circuit_breaker_state", [tool, state]) }
            }
            let to = name(BreakerState.names, e.n1)
            if to == "unknown" { unknownState.insert(tool) }
            for state in BreakerState.names + (unknownState.contains(tool) ? ["unknown"] : []) {
                r.set(try h("orch_circuit_breaker_state", [tool, state]), state == to ? 1 : 0)
            }
            r.increment(try h("orch_circuit_breaker_transitions_total", [tool, name(BreakerState.names, e.n0), to]))
        case .llmRequest:
            let (provider, model, key) = (t(e.l0), t(e.l1), t(e.l2))
            let origin = name(RateLimitOrigin.names, e.n12)
            // Token types and their number slots: input, output, cache_read, cache_write, reasoning.
            let types: [(String, UInt64)] = [("input", e.n1), ("output", e.n2), ("cache_read", e.n6), ("cache_write", e.n7), ("reasoning", e.n8)]
            try first(["l", provider, model, key, origin]) {
                for o in LLMOutcome.names { _ = try h("orch_llm_requests_total", [provider, model, key, o]) }
                for (type, _) in types { _ = try h("orch_llm_tokens_total", [provider, model, type]) }
                _ = try h("orch_llm_request_duration_seconds", [provider, model])
                _ = try h("orch_llm_ratelimit_wait_seconds", [provider, model])
                for type in RateLimitType.names { _ = try h("orch_llm_rate_limited_total", [provider, model, key, type, origin]) }
                for (type, _) in types { _ = try h("gen_ai_client_token_usage", ["chat", provider, model, type]) }
                for o in LLMOutcome.names { _ = try h("gen_ai_client_operation_duration_seconds", ["chat", provider, model, o == "success" ? "" : o]) }
                _ = try h("gen_ai_client_operation_time_to_first_chunk_seconds", ["chat", provider, model])
            }
            let outcome = name(LLMOutcome.names, e.n0)
            r.increment(try h("orch_llm_requests_total", [provider, model, key, outcome]))
            for (type, n) in types { r.add(try h("orch_llm_tokens_total", [provider, model, type]), Double(n)) }
            r.observe(try h("orch_llm_request_duration_seconds", [provider, model]), seconds(e.n3))
            r.observe(try h("orch_llm_ratelimit_wait_seconds", [provider, model]), seconds(e.n4))
            // An unknown code makes its series when first seen, the condition aside.
            if e.n11 >= UInt64(RateLimitType.names.count) { _ = try h("orch_llm_rate_limited_total", [provider, model, key, "unknown", origin]) }
            if outcome == "rate_limited" {
                r.increment(try h("orch_llm_rate_limited_total", [provider, model, key, name(RateLimitType.names, e.n11), origin]))
            }
            for (type, n) in types where n > 0 { r.observe(try h("gen_ai_client_token_usage", ["chat", provider, model, type]), Double(n)) }
            try observe(try h("gen_ai_client_operation_duration_seconds", ["chat", provider, model, outcome == "success" ? "" : outcome]), seconds(e.n3), e)
            if e.n9 != 0 { r.observe(try h("gen_ai_client_operation_time_to_first_chunk_seconds", ["chat", provider, model]), seconds(e.n10)) }
        case .rateLimiterSample:
            let limiter = t(e.l0)
            r.set(try h("orch_llm_inflight", [limiter]), Double(e.n3))
            r.set(try h("orch_llm_concurrency_limit", [limiter]), Double(e.n4))
            r.set(try h("orch_llm_ratelimit_available", [limiter]), Double(e.n0))
            r.set(try h("orch_llm_ratelimit_capacity", [limiter]), Double(e.n1))
            r.set(try h("orch_llm_ratelimit_waiting", [limiter]), Double(e.n2))
        case .keyRotation:
            r.increment(try h("orch_llm_key_rotations_total", [t(e.l0), t(e.l3)]))
        case .eventsDropped:
            r.add(try h("orch_events_dropped_total", [name(DropReason.names, e.n1)]), Double(e.n0))
        case .llmProviderLimits:
            r.set(try h("orch_llm_provider_remaining_requests", [t(e.l0), t(e.l1), t(e.l2)]), Double(e.n0))
            r.set(try h("orch_llm_provider_remaining_tokens", [t(e.l0), t(e.l1), t(e.l2)]), Double(e.n1))
        }
    }
}
