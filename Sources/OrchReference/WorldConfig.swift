/// The simulated environment the orchestrator runs against: its LLM provider, tools and
/// backing store. Naive and hardened runs of a scenario share the same world; only the
/// orchestrator's configuration differs.
public struct WorldConfig: Sendable, Equatable {
    public var llm = LLMProviderConfig()
    public var tools: [ToolConfig] = ToolConfig.standard
    public var store = StoreConfig()
    /// Faults injected during the run.
    public var faults: [Fault] = []
    /// Multiplies every backend latency (0: instant backends, for measuring the
    /// orchestrator's own cost).
    public var latencyScale = 1.0

    public init() {}
}

/// One API key's limits at the simulated provider.
public struct ProviderKeyConfig: Sendable, Equatable {
    public var alias: String
    /// Requests in flight the provider serves at once; more get 429.
    public var concurrency: Int
    /// Requests per minute.
    public var rpm: Double
    /// Tokens (input + output) per minute.
    public var tpm: Double

    public init(alias: String, concurrency: Int = 20, rpm: Double = 1_000, tpm: Double = 400_000) {
        self.alias = alias
        self.concurrency = concurrency
        self.rpm = rpm
        self.tpm = tpm
    }
}

/// The simulated LLM API.
public struct LLMProviderConfig: Sendable, Equatable {
    public var provider = "openai"
    public var model = "gpt-4o"
    public var keys: [ProviderKeyConfig] = (0..<16).map { ProviderKeyConfig(alias: "key-" + String(UnicodeScalar(UInt8(97 + $0)))) }
    /// Time to first byte (s).
    public var baseLatencySeconds = 0.4
    /// Added per input token (s): prompt processing.
    public var secondsPerInputToken = 0.000_15
    /// Added per output token (s): generation.
    public var secondsPerOutputToken = 0.03
    /// Log-normal spread of the latency.
    public var latencySigma = 0.35
    /// Probability of a 5xx.
    public var errorRate = 0.002
    /// Latency of a 429 answer (s).
    public var rejectLatencySeconds = 0.05
    /// `retry-after` for a concurrency 429 (s).
    public var concurrencyRetryAfterSeconds = 1.0
    /// Burst allowance of the per-minute buckets, in seconds of the rate.
    public var burstSeconds = 10.0
    /// Share of each prompt that is a cached prefix (the system prompt and tool schemas): read
    /// from the prompt cache, or written to it on every `cacheWriteEvery`-th request of a key.
    public var promptCacheShare = 0.5
    public var cacheWriteEvery = 8
    /// Share of each completion spent on reasoning.
    public var reasoningShare = 0.2
    /// Responses are streamed (server-sent events): the first chunk comes after the prompt
    /// is processed.
    public var streamed = true
    public init() {}
}

/// A simulated tool.
public struct ToolConfig: Sendable, Equatable {
    public var name: String
    /// Requests served at once; more queue (first come, first served).
    public var servers: Int
    public var latency: LatencyDistribution
    /// Probability of an error answer.
    public var errorRate: Double
    /// What the fallback answers with, for the summary ("cached", "empty", "deferred").
    public var fallback: String
    /// Fallback latency (s).
    public var fallbackSeconds: Double

    public init(name: String, servers: Int, latency: LatencyDistribution, errorRate: Double, fallback: String, fallbackSeconds: Double = 0.002) {
        self.name = name
        self.servers = servers
        self.latency = latency
        self.errorRate = errorRate
        self.fallback = fallback
        self.fallbackSeconds = fallbackSeconds
    }

    /// CRM, billing, search and ticketing tools with production-like latencies.
    public static let standard: [ToolConfig] = [
        ToolConfig(name: "crm", servers: 6, latency: LatencyDistribution(medianSeconds: 0.7, sigma: 0.5), errorRate: 0.004, fallback: "cached_profile"),
        ToolConfig(name: "billing", servers: 4, latency: LatencyDistribution(medianSeconds: 0.9, sigma: 0.5), errorRate: 0.004, fallback: "cached_invoice"),
        ToolConfig(name: "search", servers: 8, latency: LatencyDistribution(medianSeconds: 0.4, sigma: 0.6), errorRate: 0.003, fallback: "static_faq"),
        ToolConfig(name: "ticketing", servers: 4, latency: LatencyDistribution(medianSeconds: 0.5, sigma: 0.5), errorRate: 0.004, fallback: "deferred_outbox"),
    ]
}

/// The simulated backing store (a document/vector store holding agent state and memory).
public struct StoreConfig: Sendable, Equatable {
    /// Write operations each partition serves at once.
    public var serversPerPartition = 1
    /// Reads each partition serves at once (read replicas: reads do not queue behind writes).
    public var readServersPerPartition = 2
    /// Fixed cost of a write operation (commit, index refresh), whatever its size.
    public var writeOverhead = LatencyDistribution(medianSeconds: 0.6, sigma: 0.4)
    /// Added per record written (s).
    public var secondsPerRecord = 0.02
    /// A read.
    public var readLatency = LatencyDistribution(medianSeconds: 0.02, sigma: 0.5)
    /// Probability of an error answer.
    public var errorRate = 0.0005
    public init() {}
}
