import OrchLog

/// A seeded generator of a realistic event mix: invocations with their state reads and
/// writes, LLM and tool calls, plus periodic queue, pool and limiter samples and occasional
/// rejections, flushes, breaker transitions and key rotations.
public struct SyntheticMix {
    /// What was emitted, for `--summary-json`.
    public struct Summary: Sendable {
        public var events = 0
        public var byType: [EventType: Int] = [:]
        public var invocationsByOutcome: [InvocationOutcome: Int] = [:]
        public var inputTokens: UInt64 = 0
        public var outputTokens: UInt64 = 0

        /// The summary as JSON (keys: events, by_type, invocations_by_outcome, llm_tokens).
        public func json() -> String {
            let types = EventType.allCases.filter { byType[$0] != nil }.map { "\"\($0.name)\":\(byType[$0]!)" }
            let outcomes = InvocationOutcome.allCases.map { "\"\($0.name)\":\(invocationsByOutcome[$0] ?? 0)" }
            return "{\"events\":\(events),\"by_type\":{\(types.joined(separator: ","))},\"invocations_by_outcome\":{\(outcomes.joined(separator: ","))},\"llm_tokens\":{\"input\":\(inputTokens),\"output\":\(outputTokens)}}\n"
        }
    }

    private var rng: SplitMix64
    /// The current step's events, handed to the sink at the end of `step`.
    private var pending: [Event] = []
    private let agents: [Label], tools: [Label], providers: [Label], models: [[Label]], keys: [[Label]]
    private let shards: [Label], accounts: [Label]
    private let queue: Label, pool: Label, limiters: [Label], reasons: [Label]
    private var versions: [UInt64]
    private var invocation: UInt64 = 0
    private var breakerOpen: [Bool]
    public private(set) var summary = Summary()

    /// A mix seeded with `seed`; label values are interned with `intern` (e.g. `log.label`),
    /// always in the same order, so the same seed gives the same events.
    public init(seed: UInt64, intern: (String) -> Label) {
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

    private mutating func emit(_ e: Event) {
        pending.append(e)
        summary.events += 1
        summary.byType[e.type, default: 0] += 1
    }

    private mutating func chance(_ p: Double) -> Bool { rng.unit() < p }

    private mutating func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }

    /// Latency in ns: skewed around `medianMs`, at the resolution clients usually report —
    /// milliseconds for calls that take 100 ms or more, microseconds below.
    private mutating func latency(medianMs: Double) -> UInt64 {
        let x = medianMs * (0.5 + rng.unit()) * (1 + 3 * rng.unit() * rng.unit() * rng.unit())
        return medianMs >= 100 ? UInt64(x) * 1_000_000 : UInt64(x * 1000) * 1000
    }

    /// Hands one invocation's events (about 10) and, now and then, component samples to
    /// `sink`, in order.
    public mutating func step(_ sink: (Event) -> Void) {
        pending.removeAll(keepingCapacity: true)
        generateStep()
        for e in pending { sink(e) }
    }

    private mutating func generateStep() {
        invocation += 1
        let agent = pick(agents)
        emit(.invocationStarted(agent: agent, invocationID: invocation))
        let account = Int(rng.next() % UInt64(accounts.count))
        let shard = shards[account % shards.count]
        emit(.stateRead(shard: shard, key: accounts[account], version: versions[account], source: chance(0.8) ? .cache : .store, latencyNs: latency(medianMs: 2),
                        invocationID: invocation))
        var failed = false
        for _ in 0..<(1 + Int(rng.next() % 2)) {
            let p = Int(rng.next() % 2)
            let limited = chance(0.05)
            let input = 200 + rng.next() % 1800
            let output = limited ? 0 : 50 + rng.next() % 450
            // Every third invocation's prompt prefix comes from the provider's cache.
            let cached = invocation % 3 == 0 && !limited ? input / 2 : 0
            emit(.llmRequest(provider: providers[p], model: pick(models[p]), key: pick(keys[p]), outcome: limited ? .rateLimited : (chance(0.01) ? .error : .success),
                             inputTokens: input - cached, outputTokens: output, latencyNs: latency(medianMs: 900), rateLimitWaitNs: chance(0.2) ? latency(medianMs: 50) : 0,
                             invocationID: invocation, agent: agent, cacheReadTokens: cached, streamed: !limited, timeToFirstChunkNs: limited ? 0 : 150_000_000,
                             rateLimitType: limited ? .requests : .unspecified, origin: limited ? .provider : .unspecified))
            summary.inputTokens += input - cached
            summary.outputTokens += output
        }
        let t = Int(rng.next() % UInt64(tools.count))
        let toolOutcome: ToolOutcome = breakerOpen[t] ? .shortCircuited : (chance(0.03) ? .timeout : (chance(0.02) ? .error : .success))
        emit(.toolCall(tool: tools[t], outcome: toolOutcome, latencyNs: toolOutcome == .timeout ? 30_000_000_000 : latency(medianMs: 120), fallbackUsed: toolOutcome != .success,
                       invocationID: invocation, agent: agent))
        if toolOutcome == .timeout { failed = chance(0.5) }
        let base = versions[account]
        if chance(0.04) {
            emit(.stateWrite(shard: shard, key: accounts[account], baseVersion: base, newVersion: base, outcome: .conflict, latencyNs: latency(medianMs: 4), attempt: 1))
            versions[account] += 1
            emit(.stateWrite(shard: shard, key: accounts[account], baseVersion: versions[account], newVersion: versions[account] + 1, outcome: .committed, latencyNs: latency(medianMs: 4), attempt: 2))
        } else {
            let timedOut = chance(0.01)
            emit(.stateWrite(shard: shard, key: accounts[account], baseVersion: base, newVersion: timedOut ? base : base + 1, outcome: timedOut ? .timeout : .committed, latencyNs: latency(medianMs: 4), attempt: 1))
            failed = failed || timedOut
        }
        if !failed || versions[account] == base { versions[account] += 1 }
        let outcome: InvocationOutcome = failed ? (chance(0.5) ? .timeout : .failure) : (chance(0.02) ? .failure : .success)
        emit(.invocationFinished(agent: agent, outcome: outcome, durationNs: latency(medianMs: 4000), queueWaitNs: latency(medianMs: 30), invocationID: invocation, queue: queue))
        summary.invocationsByOutcome[outcome, default: 0] += 1

        if invocation % 20 == 0 {
            emit(.queueSample(queue: queue, depth: rng.next() % 200, capacity: 1000))
            emit(.workerPoolSample(pool: pool, busy: 4 + rng.next() % 7, size: 10))
            let l = Int(rng.next() % 2)
            emit(.rateLimiterSample(limiter: limiters[l], available: rng.next() % 60, capacity: 60, waiting: rng.next() % 5, inflight: 5 + rng.next() % 15, concurrencyLimit: 20))
        }
        if invocation % 50 == 0 {
            emit(.memoryFlush(shard: pick(shards), pending: rng.next() % 40, latencyNs: latency(medianMs: 15), outcome: chance(0.02) ? .timeout : .success))
        }
        if chance(0.004) {
            emit(.queueRejection(queue: queue, reason: reasons[0], retryAfterNs: 2_000_000_000))
            summary.invocationsByOutcome[.rejected, default: 0] += 1
            emit(.invocationFinished(agent: agent, outcome: .rejected, durationNs: 0, queueWaitNs: 0, invocationID: 0, queue: queue))
        }
        if chance(0.002) {
            let b = Int(rng.next() % UInt64(tools.count))
            let from: BreakerState = breakerOpen[b] ? .open : .closed
            breakerOpen[b].toggle()
            emit(.breakerTransition(tool: tools[b], from: from, to: breakerOpen[b] ? .open : (from == .open ? .halfOpen : .closed)))
            if !breakerOpen[b] && from == .open { emit(.breakerTransition(tool: tools[b], from: .halfOpen, to: .closed)) }
        }
        if chance(0.002) {
            let p = Int(rng.next() % 2)
            emit(.keyRotation(provider: providers[p], from: keys[p][0], to: keys[p][1], reason: reasons[1]))
        }
    }
}

/// SplitMix64: a small, fast, seedable PRNG (deterministic across platforms).
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
