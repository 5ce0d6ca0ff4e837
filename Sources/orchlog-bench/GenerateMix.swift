import OrchLog

/// The `orchlog generate` event mix, step for step: the same seed gives the same events as
/// `orchlog generate --seed S` (OrchCLI's `SyntheticMix`, which this target cannot import:
/// its dependencies in Package.swift do not include OrchCLI). Instead of emitting into a
/// log, each step appends its events to an array, so a benchmark can pre-generate a corpus
/// and time only the writer.
///
/// Labels are interned through `intern`, always in the same order, so a corpus generated
/// against one interner can be replayed into a fresh `EventLog` (see `EventCorpus`).
struct GenerateMix {
    private var rng: SplitMix64
    private let agents: [Label], tools: [Label], providers: [Label], models: [[Label]], keys: [[Label]]
    private let shards: [Label], accounts: [Label]
    private let queue: Label, pool: Label, limiters: [Label], reasons: [Label]
    private var versions: [UInt64]
    private var invocation: UInt64 = 0
    private var breakerOpen: [Bool]

    init(seed: UInt64, intern: (String) -> Label) {
        rng = SplitMix64(seed: seed)
        agents = ["support", "billing", "triage", "research"].map(intern)
        tools = ["crm", "search", "calculator", "email"].map(intern)
        providers = ["openai", "anthropic"].map(intern)
        models = [["gpt-4o", "gpt-4o-mini"].map(intern), ["claude-sonnet", "claude-haiku"].map(intern)]
        keys = [["oa-key-1", "oa-key-2"].map(intern), ["an-key-1", "an-key-2"].map(intern)]
        shards = (0..<8).map { intern("shard-\($0)") }
        accounts = (0..<500).map { intern("account:\($0)") }
        queue = intern("requests")
        pool = intern("agents")
        limiters = ["openai", "anthropic"].map(intern)
        reasons = ["queue_full", "rate_limited", "key_exhausted"].map(intern)
        versions = [UInt64](repeating: 1, count: 500)
        breakerOpen = [false, false, false, false]
    }

    private mutating func chance(_ p: Double) -> Bool { rng.unit() < p }

    private mutating func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }

    private mutating func latency(medianMs: Double) -> UInt64 {
        let x = medianMs * (0.5 + rng.unit()) * (1 + 3 * rng.unit() * rng.unit() * rng.unit())
        return medianMs >= 100 ? UInt64(x) * 1_000_000 : UInt64(x * 1000) * 1000
    }

    /// Appends one invocation's events (about 10) and, now and then, component samples.
    mutating func step(into out: inout [Event]) {
        invocation += 1
        let agent = pick(agents)
        out.append(.invocationStarted(agent: agent, invocationID: invocation))
        let account = Int(rng.next() % UInt64(accounts.count))
        let shard = shards[account % shards.count]
        out.append(.stateRead(shard: shard, key: accounts[account], version: versions[account], source: chance(0.8) ? .cache : .store, latencyNs: latency(medianMs: 2)))
        var failed = false
        for _ in 0..<(1 + Int(rng.next() % 2)) {
            let p = Int(rng.next() % 2)
            let limited = chance(0.05)
            let input = 200 + rng.next() % 1800
            let output = limited ? 0 : 50 + rng.next() % 450
            out.append(.llmRequest(provider: providers[p], model: pick(models[p]), key: pick(keys[p]), outcome: limited ? .rateLimited : (chance(0.01) ? .error : .success),
                                   inputTokens: input, outputTokens: output, latencyNs: latency(medianMs: 900), rateLimitWaitNs: chance(0.2) ? latency(medianMs: 50) : 0))
        }
        let t = Int(rng.next() % UInt64(tools.count))
        let toolOutcome: ToolOutcome = breakerOpen[t] ? .shortCircuited : (chance(0.03) ? .timeout : (chance(0.02) ? .error : .success))
        out.append(.toolCall(tool: tools[t], outcome: toolOutcome, latencyNs: toolOutcome == .timeout ? 30_000_000_000 : latency(medianMs: 120), fallbackUsed: toolOutcome != .success))
        if toolOutcome == .timeout { failed = chance(0.5) }
        let base = versions[account]
        if chance(0.04) {
            out.append(.stateWrite(shard: shard, key: accounts[account], baseVersion: base, newVersion: base, outcome: .conflict, latencyNs: latency(medianMs: 4), attempt: 1))
            versions[account] += 1
            out.append(.stateWrite(shard: shard, key: accounts[account], baseVersion: versions[account], newVersion: versions[account] + 1, outcome: .committed, latencyNs: latency(medianMs: 4), attempt: 2))
        } else {
            let timedOut = chance(0.01)
            out.append(.stateWrite(shard: shard, key: accounts[account], baseVersion: base, newVersion: timedOut ? base : base + 1, outcome: timedOut ? .timeout : .committed, latencyNs: latency(medianMs: 4), attempt: 1))
            failed = failed || timedOut
        }
        if !failed || versions[account] == base { versions[account] += 1 }
        let outcome: InvocationOutcome = failed ? (chance(0.5) ? .timeout : .failure) : (chance(0.02) ? .failure : .success)
        out.append(.invocationFinished(agent: agent, outcome: outcome, durationNs: latency(medianMs: 4000), queueWaitNs: latency(medianMs: 30), invocationID: invocation, queue: queue))

        if invocation % 20 == 0 {
            out.append(.queueSample(queue: queue, depth: rng.next() % 200, capacity: 1000))
            out.append(.workerPoolSample(pool: pool, busy: 4 + rng.next() % 7, size: 10))
            let l = Int(rng.next() % 2)
            out.append(.rateLimiterSample(limiter: limiters[l], available: rng.next() % 60, capacity: 60, waiting: rng.next() % 5, inflight: 5 + rng.next() % 15, concurrencyLimit: 20))
        }
        if invocation % 50 == 0 {
            out.append(.memoryFlush(shard: pick(shards), pending: rng.next() % 40, latencyNs: latency(medianMs: 15), outcome: chance(0.02) ? .timeout : .success))
        }
        if chance(0.004) {
            out.append(.queueRejection(queue: queue, reason: reasons[0], retryAfterNs: 2_000_000_000))
            out.append(.invocationFinished(agent: agent, outcome: .rejected, durationNs: 0, queueWaitNs: 0, invocationID: 0, queue: queue))
        }
        if chance(0.002) {
            let b = Int(rng.next() % UInt64(tools.count))
            let from: BreakerState = breakerOpen[b] ? .open : .closed
            breakerOpen[b].toggle()
            out.append(.breakerTransition(tool: tools[b], from: from, to: breakerOpen[b] ? .open : (from == .open ? .halfOpen : .closed)))
            if !breakerOpen[b] && from == .open { out.append(.breakerTransition(tool: tools[b], from: .halfOpen, to: .closed)) }
        }
        if chance(0.002) {
            let p = Int(rng.next() % 2)
            out.append(.keyRotation(provider: providers[p], from: keys[p][0], to: keys[p][1], reason: reasons[1]))
        }
    }
}
