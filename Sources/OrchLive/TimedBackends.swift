import OrchLog
import OrchPricing
import OrchReference
import Synchronization

/// The live run's LLM and tools: over real HTTP (`httpLLM`, `httpTools`: reference-backends
/// or the URLs given) when set — as `LiveRunner` always sets them — else in-process: each
/// call takes the scenario world's latency (log-normal, ÷ K of wall-clock time, the agent's
/// thread given back while it waits) and fails at the world's error rate, with no rate
/// limits, quota cuts or hangs (what unit-level uses of the orchestrator get).
///
/// Every call is logged as the simulated orchestrator logs it (`llm_request`, `tool_call`).
final class TimedBackends: Sendable {
    private let world: WorldConfig
    private let config: OrchestratorConfig
    private let clock: LiveClock
    private let log: EventLog?
    private let counters: LiveCounters
    private let rng: Mutex<RandomSource>
    private let provider: Label
    private let model: Label
    private let keys: [Label]
    private let tools: [Label]
    /// The tools over real HTTP (reference-backends or `--tool-url`); nil: in-process timed tools.
    let httpTools: LiveToolClient?
    /// The LLM over real HTTP (reference-backends or `--llm-url`); nil: in-process timed LLM.
    let httpLLM: LiveLLMClient?
    private let nextKey = Atomic<Int>(0)
    private let inflight = Atomic<Int>(0)

    init(world: WorldConfig, config: OrchestratorConfig, clock: LiveClock, log: EventLog?, counters: LiveCounters, seed: UInt64,
         toolURL: String?, llmURL: String?, llmKeys: [String]) {
        httpLLM = llmURL.map { LiveLLMClient(url: $0, apiKeys: llmKeys, world: world, config: config, clock: clock, log: log, counters: counters) }
        httpTools = toolURL.map { LiveToolClient(baseURL: $0, tools: world.tools, config: config, clock: clock, log: log, counters: counters) }
        self.world = world
        self.config = config
        self.clock = clock
        self.log = log
        self.counters = counters
        rng = Mutex(RandomSource(seed: seed))
        func label(_ s: String) -> Label { log?.label(s) ?? Label(id: 0) }
        provider = label(world.llm.provider)
        model = label(world.llm.model)
        let keyCount = config.components.rateLimiter ? max(1, min(config.llmKeys, world.llm.keys.count)) : 1
        keys = world.llm.keys.prefix(keyCount).map { label($0.alias) }
        tools = world.tools.map { label($0.name) }
    }

    /// The tool's index by name.
    func toolIndex(_ name: String) -> Int? { world.tools.firstIndex { $0.name == name } }

    /// Concurrency limit of the keys in use (the summary's `llm.concurrency_limit`).
    var concurrencyLimit: Int { httpLLM?.concurrencyLimit ?? world.llm.keys.prefix(keys.count).reduce(0) { $0 + $1.concurrency } }

    /// One LLM request: nil when it succeeded, else how it failed. With the rate limiter on, an error is
    /// retried (up to 3 attempts, backing off 0.5 s, 1 s of scenario time), as the
    /// simulated limiter does; without it, an error fails the request.
    func llm(input: Int, output: Int, caller: LiveCaller = .none) async -> LLMOutcome? {
        if let httpLLM { return await httpLLM.request(input: input, output: output, caller: caller) }
        let attempts = config.components.rateLimiter ? min(3, max(1, config.limiterAttempts)) : 1
        for attempt in 1...attempts {
            if await llmAttempt(input: input, output: output, caller: caller) { return nil }
            if attempt < attempts { await clock.sleep(simulatedSeconds: 0.5 * Double(1 << (attempt - 1))) }
        }
        return .error
    }

    private func llmAttempt(input: Int, output: Int, caller: LiveCaller) async -> Bool {
        let k = nextKey.wrappingAdd(1, ordering: .relaxed).oldValue % keys.count
        let p = world.llm
        let median = p.baseLatencySeconds + Double(input) * p.secondsPerInputToken + Double(output) * p.secondsPerOutputToken
        let (latencyNs, failed) = rng.withLock { r in
            (r.latency(LatencyDistribution(medianSeconds: median * world.latencyScale, sigma: p.latencySigma)), r.chance(p.errorRate))
        }
        let n = inflight.wrappingAdd(1, ordering: .relaxed).newValue
        counters.update { $0.maxInflight = max($0.maxInflight, n) }
        let start = clock.nowNs()
        await clock.sleep(simulatedSeconds: Double(failed ? latencyNs / 3 : latencyNs) / 1e9)
        inflight.wrappingSubtract(1, ordering: .relaxed)
        let now = clock.nowNs()
        counters.update {
            $0.llmRequests += 1
            if failed { $0.llmErrors += 1 } else { $0.tokensInput += input; $0.tokensOutput += output }
        }
        let usage = TokenUsage(input: failed ? 0 : UInt64(input), output: failed ? 0 : UInt64(output))
        counters.countLLM(provider: world.llm.provider, model: world.llm.model, usage, reasoning: 0, invocation: caller.invocation)
        log?.emit(.llmRequest(provider: provider, model: model, key: keys[k], outcome: failed ? .error : .success,
                              inputTokens: usage.input, outputTokens: usage.output,
                              latencyNs: now - start, rateLimitWaitNs: 0, invocationID: caller.invocation, agent: caller.agent), at: now)
        return !failed
    }

    /// How a tool call ended for the invocation.
    enum ToolResult: Sendable { case ok, fallback, failed }

    /// One call of tool `index`; with breakers on, an error is answered by the fallback.
    func tool(_ index: Int, caller: LiveCaller = .none) async -> ToolResult {
        if let httpTools { return await httpTools.call(index, caller: caller) }
        let t = world.tools[index]
        let (latencyNs, failed) = rng.withLock { r in (r.latency(t.latency.scaled(world.latencyScale)), r.chance(t.errorRate)) }
        let start = clock.nowNs()
        await clock.sleep(simulatedSeconds: Double(latencyNs) / 1e9)
        let fallback = failed && config.components.circuitBreakers
        if fallback { await clock.sleep(simulatedSeconds: t.fallbackSeconds) }
        let now = clock.nowNs()
        counters.update {
            $0.toolCalls += 1
            if failed { $0.toolErrors += 1 }
            if fallback { $0.toolFallbacks += 1 }
            $0.book.tool(caller.invocation)
        }
        log?.emit(.toolCall(tool: tools[index], outcome: failed ? .error : .success, latencyNs: now - start, fallbackUsed: fallback,
                            invocationID: caller.invocation, agent: caller.agent), at: now)
        return failed ? (fallback ? .fallback : .failed) : .ok
    }
}
