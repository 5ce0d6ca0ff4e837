import Foundation
import OrchLog
import OrchMetrics
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
        let fast = Aggregator(registry: fastRegistry, catalog: try MetricCatalog(registry: fastRegistry), trackedKeys: 600)
        let plain = Aggregator(registry: plainRegistry, catalog: try MetricCatalog(registry: plainRegistry), trackedKeys: 600)
        fast.internLimit = internLimit
        plain.internLimit = internLimit
        let fastSource = try fast.source("equivalence"), plainSource = try plain.source("equivalence")
        let source = try #require(try LogDirectory.sources(at: path).first)
        let reader = SourceReader(source: source)
        var blocks = 0
        var stale = 0.0, lost = 0.0
        try reader.pollBlocks { block in
            blocks += 1
            try fast.ingest(block, into: fastSource)
            try PerEventReference.ingest(block, plain, plainSource)
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
        var ts: UInt64 = 1_700_000_000_000_000_000
        for i in 0..<events {
            ts += rng.next() % 2_000_000
            let event: Event
            switch rng.next() % 16 {
            case 0: event = .invocationStarted(agent: pick(agentLabels), invocationID: UInt64(i))
            case 1: event = .invocationFinished(agent: pick(agentLabels), outcome: pick(InvocationOutcome.allCases), durationNs: latency(),
                                                queueWaitNs: latency(), invocationID: UInt64(i), queue: rng.next() % 2 == 0 ? queue : .none)
            case 2: event = .queueSample(queue: queue, depth: rng.next() % 100, capacity: 100)
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
            case 12: event = .toolCall(tool: pick(tools), outcome: pick(ToolOutcome.allCases), latencyNs: latency(), fallbackUsed: rng.next() % 2 == 0)
            case 13: event = .breakerTransition(tool: pick(tools), from: pick(BreakerState.allCases), to: pick(BreakerState.allCases))
            case 14: event = .llmRequest(provider: pick(providers), model: pick(models), key: pick(agentLabels), outcome: pick(LLMOutcome.allCases),
                                         inputTokens: tokens(), outputTokens: tokens(), latencyNs: latency(), rateLimitWaitNs: latency())
            default:
                event = rng.next() % 2 == 0
                    ? .rateLimiterSample(limiter: pick(providers), available: rng.next() % 10, capacity: 10, waiting: rng.next() % 5,
                                         inflight: rng.next() % 4, concurrencyLimit: 4)
                    : .keyRotation(provider: pick(providers), from: pick(agentLabels), to: pick(agentLabels), reason: pick(reasons))
            }
            log.emit(event, at: ts)
        }
    }
}

/// The per-event algorithm the aggregator replaced: each event in row order, every update
/// through the registry's public calls, durations as `Double` seconds.
private enum PerEventReference {
    static func ingest(_ block: DecodedBlock, _ a: Aggregator, _ s: SourceAggregation) throws {
        s.beginBlock(block.stringTable)
        let events = block.events
        for e in events { try ingest(e, a, s) }
        a.registry.add(s.own.ingested, Double(events.count))
        if let last = events.last { s.lastEventTs = max(s.lastEventTs, last.timestamp) }
    }

    private static func seconds(_ ns: UInt64) -> Double { Double(ns) * 1e-9 }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private static func ingest(_ e: RawEvent, _ a: Aggregator, _ s: SourceAggregation) throws {
        let r = a.registry
        func bundle(_ x: UInt32, _ y: UInt32, _ z: UInt32, transition: Bool = false, _ labels: () -> [String]) throws -> Int {
            try a.ensureBundle(s, e.type, x, y, z, transition: transition, labels)
        }
        func h(_ i: Int) -> SeriesHandle { s.handles[i] }
        switch e.type {
        case .invocationStarted:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            r.increment(h(b))
        case .invocationFinished:
            let b = try bundle(s.id(e.l0), s.id(e.l1), 0) { [s.text(e.l0), s.text(e.l1, empty: "default")] }
            let outcome = Int(min(e.n0, 3))
            r.increment(h(b + outcome))
            if outcome != Int(InvocationOutcome.rejected.rawValue) {
                r.observe(h(b + 4), seconds(e.n1))
                r.observe(h(b + 5), seconds(e.n2))
            }
        case .queueSample:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            r.set(h(b), Double(e.n0))
            r.set(h(b + 1), Double(e.n1))
        case .queueRejection:
            let b = try bundle(s.id(e.l0), s.id(e.l1), 0) { [s.text(e.l0), s.text(e.l1)] }
            r.increment(h(b))
        case .workerPoolSample:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            r.set(h(b), Double(e.n0))
            r.set(h(b + 1), Double(e.n1))
        case .stateRead:
            let shard = s.id(e.l0)
            let b = try bundle(shard, 0, 0) { [s.text(e.l0)] }
            r.increment(h(b + Int(min(e.n1, 1))))
            r.observe(h(b + 2), seconds(e.n2))
            let start = e.timestamp >= e.n2 ? e.timestamp - e.n2 : 0
            if a.tracker.read(key: s.keyHash(e.l1, shard: e.l0), version: e.n0, startedAt: start) { r.increment(h(b + 3)) }
        case .stateWrite:
            let shard = s.id(e.l0)
            let b = try bundle(shard, 0, 0) { [s.text(e.l0)] }
            let outcome = Int(min(e.n2, 3))
            r.increment(h(b + outcome))
            r.observe(h(b + 4), seconds(e.n3))
            if e.n4 > 1 { r.increment(h(b + 6)) }
            if outcome == Int(WriteOutcome.committed.rawValue) {
                r.observe(h(b + 5), Double(max(e.n4, 1)))
                if a.tracker.committed(key: s.keyHash(e.l1, shard: e.l0), base: e.n0, new: e.n1, at: e.timestamp) { r.increment(h(b + 7)) }
            }
        case .memoryFlush:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            r.set(h(b), Double(e.n0))
            r.observe(h(b + 1), seconds(e.n1))
            r.increment(h(b + 2 + Int(min(e.n2, 2))))
        case .toolCall:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            r.increment(h(b + Int(min(e.n0, 3))))
            r.observe(h(b + 4), seconds(e.n1))
            if e.n2 != 0 { r.increment(h(b + 5)) }
        case .breakerTransition:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            let to = Int(min(e.n1, 4))
            for state in 0..<5 { r.set(h(b + state), state == to ? 1 : 0) }
            let from = Int(min(e.n0, 4))
            let t = try bundle(s.id(e.l0), UInt32(1 + from), UInt32(1 + to), transition: true) {
                [s.text(e.l0), BreakerState.names[from], BreakerState.names[to]]
            }
            r.increment(h(t))
        case .llmRequest:
            let b = try bundle(s.id(e.l0), s.id(e.l1), s.id(e.l2)) { [s.text(e.l0), s.text(e.l1), s.text(e.l2)] }
            let outcome = Int(min(e.n0, 3))
            r.increment(h(b + outcome))
            r.add(h(b + 4), Double(e.n1))
            r.add(h(b + 5), Double(e.n2))
            r.observe(h(b + 6), seconds(e.n3))
            r.observe(h(b + 7), seconds(e.n4))
            if e.n1 > 0 { r.observe(h(b + 8), Double(e.n1)) }
            if e.n2 > 0 { r.observe(h(b + 9), Double(e.n2)) }
            r.observe(h(b + 10 + outcome), seconds(e.n3))
        case .rateLimiterSample:
            let b = try bundle(s.id(e.l0), 0, 0) { [s.text(e.l0)] }
            r.set(h(b), Double(e.n3))
            r.set(h(b + 1), Double(e.n4))
            r.set(h(b + 2), Double(e.n0))
            r.set(h(b + 3), Double(e.n1))
            r.set(h(b + 4), Double(e.n2))
        case .keyRotation:
            let b = try bundle(s.id(e.l0), s.id(e.l3), 0) { [s.text(e.l0), s.text(e.l3)] }
            r.increment(h(b))
        case .eventsDropped:
            let b = try bundle(0, 0, 0) { [] }
            r.add(h(b + Int(min(e.n1, 2))), Double(e.n0))
        }
    }
}
