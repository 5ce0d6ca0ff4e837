/// A named, reproducible run: the orchestrator's configuration, the world and the workload,
/// plus the faults it injects. Names are a contract (CLI, tests, `make demo`).
public struct Scenario: Sendable {
    /// The scenario's name (`--scenario`).
    public let name: String
    /// One line: what it shows.
    public let summary: String
    /// Invocations per day unless `--invocations-per-day` says otherwise.
    public let defaultInvocationsPerDay: Double
    /// Simulated seconds unless `--duration` says otherwise.
    public let defaultDurationSeconds: Double
    private let kind: Kind

    private enum Kind: Sendable {
        case pilot, naive, hardened, benchmark
        case fault(@Sendable (_ fromNs: UInt64, _ toNs: UInt64) -> Fault)
        /// Hardened, with the limiter configured for `configuredRPM` per key while the
        /// provider's keys allow `providerRPM`.
        case limiterAbove(configuredRPM: Double, providerRPM: Double)
    }

    /// Whether the scenario injects a fault (`--fault-start` and `--fault-duration` apply).
    public var injectsFault: Bool {
        if case .fault = kind { return true }
        return false
    }

    /// Whether `--live` can run it: its fault (if any) can be injected on the real backends
    /// and its configuration exists there (the live limiter follows the provider's headers,
    /// so it cannot be misconfigured).
    public var runsLive: Bool {
        switch kind {
        case .pilot, .naive, .hardened, .benchmark: true
        case .fault(let make): make(0, 1).injectableLive
        case .limiterAbove: false
        }
    }

    /// All scenarios, in the order `--list-scenarios` shows them.
    public static let all: [Scenario] = [
        Scenario(name: "pilot", summary: "600/day, every protection on, pilot sizing (10 agents, one API key): ≥ 98% success",
                 defaultInvocationsPerDay: 600, defaultDurationSeconds: 86_400, kind: .pilot),
        Scenario(name: "production-naive", summary: "12,000/day on pilot sizing with every protection off: the incident (lost updates, write timeouts, 429s, queue in the thousands)",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 86_400, kind: .naive),
        Scenario(name: "production-hardened", summary: "12,000/day (try 120,000) with every protection on and production sizing: ≥ 99.5% success, no lost updates",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 86_400, kind: .hardened),
        Scenario(name: "tool-outage", summary: "hardened; the CRM tool hangs for the middle third: breaker opens, fallbacks serve, breaker closes after",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .toolHang(tool: "crm")) }),
        Scenario(name: "llm-quota-cut", summary: "hardened; the provider cuts every key's quota to 10% for the middle third: 429s, key rotation, the limiter adapts and queues",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .llmQuotaCut(keys: LLMProviderConfig().keys.map(\.alias), fraction: 0.1)) }),
        Scenario(name: "hot-key-contention", summary: "hardened; 60% of invocations hit one account in the middle third: conflicts and retries rise, no lost updates",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .hotKey(share: 0.6)) }),
        Scenario(name: "memory-slowdown", summary: "hardened; the backing store runs 40× slower in the middle third: flushes slow, pending grows, write timeouts rise",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .storeSlow(factor: 40)) }),
        Scenario(name: "agent-loop", summary: "hardened; in the middle third 5% of research invocations loop (30 more think-and-search turns): LLM calls per invocation soar (simulated only)",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .agentLoop(agent: "research", share: 0.05, iterations: 30, tool: "search")) }),
        Scenario(name: "budget-burn", summary: "hardened; in the middle third the support agent's prompts carry 16× their tokens (retrieval stuffs whole documents): its spend runs at over twice the daily budget (simulated only)",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .promptBloat(agent: "support", factor: 16)) }),
        Scenario(name: "limiter-misconfigured", summary: "hardened, but the limiter is set for 1,000 requests/min per key while the keys allow 80: a steady trickle of provider 429s while the limiter's buckets stay full (simulated only)",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800, kind: .limiterAbove(configuredRPM: 1_000, providerRPM: 80)),
        Scenario(name: "queue-backlog", summary: "hardened; for the middle third only 2 of 200 agent instances take work (a bad deploy): the queue's oldest request waits many minutes (simulated only)",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 3_600,
                 kind: .fault { from, to in Fault(from: from, to: to, .poolStall(healthy: 2)) }),
        Scenario(name: "llm-slowdown", summary: "hardened; the provider answers 2× slower in the middle third: invocations miss the latency SLO, nothing fails (simulated only)",
                 defaultInvocationsPerDay: 12_000, defaultDurationSeconds: 10_800,
                 kind: .fault { from, to in Fault(from: from, to: to, .llmSlow(factor: 2)) }),
        Scenario(name: "overhead-benchmark", summary: "hardened, instant backends without quotas, a flat 1,000/s: the orchestrator's own CPU cost (compare with --no-log)",
                 defaultInvocationsPerDay: 86_400_000, defaultDurationSeconds: 60, kind: .benchmark),
    ]

    /// The scenario with this name, or nil.
    public static func named(_ name: String) -> Scenario? {
        all.first { $0.name == name }
    }

    /// The run setup at `invocationsPerDay` over `durationSeconds`. A fault scenario's fault
    /// starts `faultStartSeconds` into the run (default: a third of the duration) and lasts
    /// `faultDurationSeconds` (default: a third of the duration), ending at the run's end at the latest.
    public func setup(invocationsPerDay: Double, durationSeconds: Double,
                      faultStartSeconds: Double? = nil, faultDurationSeconds: Double? = nil) -> RunSetup {
        var world = WorldConfig()
        var workload = Workload(invocationsPerDay: invocationsPerDay)
        let config: OrchestratorConfig
        switch kind {
        case .pilot:
            config = Scenario.pilotSizing(.all)
        case .naive:
            config = Scenario.pilotSizing(.none)
        case .hardened:
            config = Scenario.productionSizing()
        case .benchmark:
            config = Scenario.productionSizing()
            world.latencyScale = 0
            world.llm.keys = world.llm.keys.map { ProviderKeyConfig(alias: $0.alias, concurrency: 100_000, rpm: 1e12, tpm: 1e15) }
            workload.hourlyProfile = Array(repeating: 1, count: 24)
        case let .limiterAbove(configured, real):
            config = { var c = Scenario.productionSizing(); c.limiterKeyRPM = configured; return c }()
            world.llm.keys = world.llm.keys.map { ProviderKeyConfig(alias: $0.alias, concurrency: $0.concurrency, rpm: real, tpm: $0.tpm) }
        case .fault(let make):
            config = Scenario.productionSizing()
            func ns(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }
            let d = ns(durationSeconds)
            let from = min(d, faultStartSeconds.map(ns) ?? d / 3)
            let length = faultDurationSeconds.map(ns) ?? d / 3
            // The defaults are exactly the middle third (d / 3 to d * 2 / 3, as before the flags).
            let to = faultStartSeconds == nil && faultDurationSeconds == nil ? d * 2 / 3 : min(d, from + length)
            world.faults = [make(from, to)]
        }
        return RunSetup(config: config, world: world, workload: workload)
    }

    /// The pilot deployment: 10 agent instances, one API key.
    public static func pilotSizing(_ components: Components) -> OrchestratorConfig {
        var c = OrchestratorConfig(components: components)
        c.poolSize = 10
        c.llmKeys = 1
        c.queueCapacity = 200
        return c
    }

    /// The production deployment: 200 agent instances, 16 API keys, eight state shards.
    public static func productionSizing() -> OrchestratorConfig {
        var c = OrchestratorConfig(components: .all)
        c.poolSize = 200
        c.llmKeys = 16
        c.shards = 8
        c.queueCapacity = 400
        return c
    }
}
