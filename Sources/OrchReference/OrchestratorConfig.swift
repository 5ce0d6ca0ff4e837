/// Which protections are on. Each can be switched off (naive mode) so the same code shows
/// the failure and the fix.
public struct Components: Sendable, Equatable, CustomStringConvertible {
    /// Request queue with a capacity: past it callers get a rejection with a retry-after
    /// (off: an unbounded queue).
    public var boundedQueue: Bool
    /// Versioned compare-and-set on state writes, retry with the fresh value on conflict
    /// (off: read-modify-write, last writer wins; agent instances also cache reads for a while).
    public var optimisticConcurrency: Bool
    /// Sharded state with an async write-back cache over the backing store
    /// (off: one unsharded store, every write synchronous).
    public var writeBackCache: Bool
    /// A circuit breaker, a short timeout and a fallback on every tool
    /// (off: a long timeout, no breaker, a tool failure fails the invocation).
    public var circuitBreakers: Bool
    /// Token-bucket LLM request queue per API key with a concurrency limit, key rotation,
    /// retry-after honouring backoff and backpressure to callers
    /// (off: one key, fire every request, retry 429s after a fixed short delay).
    public var rateLimiter: Bool

    /// Components switched individually.
    public init(boundedQueue: Bool, optimisticConcurrency: Bool, writeBackCache: Bool, circuitBreakers: Bool, rateLimiter: Bool) {
        self.boundedQueue = boundedQueue
        self.optimisticConcurrency = optimisticConcurrency
        self.writeBackCache = writeBackCache
        self.circuitBreakers = circuitBreakers
        self.rateLimiter = rateLimiter
    }

    /// Every protection on.
    public static let all = Components(boundedQueue: true, optimisticConcurrency: true, writeBackCache: true, circuitBreakers: true, rateLimiter: true)
    /// Every protection off.
    public static let none = Components(boundedQueue: false, optimisticConcurrency: false, writeBackCache: false, circuitBreakers: false, rateLimiter: false)

    /// Names accepted by `set(_:to:)` and the CLI's `--naive`/`--protect`.
    public static let names = ["queue", "occ", "cache", "breaker", "limiter"]

    /// Switches the named component (`queue`, `occ`, `cache`, `breaker`, `limiter`, or `all`).
    /// - Returns: false for an unknown name.
    public mutating func set(_ name: String, to on: Bool) -> Bool {
        switch name {
        case "queue": boundedQueue = on
        case "occ": optimisticConcurrency = on
        case "cache": writeBackCache = on
        case "breaker": circuitBreakers = on
        case "limiter": rateLimiter = on
        case "all": self = on ? .all : .none
        default: return false
        }
        return true
    }

    /// The components that are on, e.g. "queue,occ" ("none" when none).
    public var description: String {
        let on = [boundedQueue, optimisticConcurrency, writeBackCache, circuitBreakers, rateLimiter]
        let names = zip(Components.names, on).filter(\.1).map(\.0)
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}

/// The orchestrator's own configuration: sizing and the settings of each component.
public struct OrchestratorConfig: Sendable, Equatable {
    /// Which protections are on.
    public var components: Components

    // Request queue and callers.
    /// Agent instances (workers).
    public var poolSize = 10
    /// Queue capacity when bounded.
    public var queueCapacity = 400
    /// Bounds of the retry-after given to rejected callers (s).
    public var minRetryAfterSeconds = 2.0
    public var maxRetryAfterSeconds = 60.0
    /// Attempts a caller makes before giving up (rejected outcome).
    public var callerAttempts = 5
    /// Times a caller resubmits an invocation that failed or timed out (as job queues retry
    /// failed jobs), each after `callerRetryDelaySeconds`.
    public var callerResubmissions = 2
    public var callerRetryDelaySeconds = 30.0
    /// An invocation running longer than this (s) is abandoned as timed out.
    public var invocationDeadlineSeconds = 600.0

    // State.
    /// Shards when the write-back cache is on (one otherwise).
    public var shards = 8
    /// Cached records per shard.
    public var cacheCapacityPerShard = 150
    /// Dirty records per shard before writers wait for a flush.
    public var maxDirtyPerShard = 32
    /// A shard flushes this long after its first dirty record (s).
    public var flushIntervalSeconds = 0.25
    /// Records per flush at most (a flush that times out halves the shard's batch size; each
    /// successful one grows it back).
    public var maxFlushBatch = 32
    /// Deadline of a flush (s).
    public var flushTimeoutSeconds = 10.0
    /// Deadline of a state write, including any wait for the write-back buffer (s).
    public var writeTimeoutSeconds = 2.0
    /// Deadline of a store read (s).
    public var readTimeoutSeconds = 2.0
    /// Without optimistic concurrency: how long agent instances reuse a value they read (s).
    public var naiveReadCacheSeconds = 30.0
    /// Write attempts under optimistic concurrency (conflicts retried with the fresh value).
    public var writeAttempts = 6

    // Tools.
    /// Tool timeout without breakers (s).
    public var naiveToolTimeoutSeconds = 30.0
    /// Tool timeout with breakers (s).
    public var toolTimeoutSeconds = 5.0
    /// Every tool's breaker settings.
    public var breaker = BreakerConfig()

    // LLM.
    /// Keys the client uses (the first N of the provider's) with the limiter on; one without.
    public var llmKeys = 16
    /// The client's buckets run at this fraction of the provider's limits.
    public var limiterHeadroom = 0.9
    /// The requests per minute per key the simulated client's limiter is configured for
    /// (before the headroom); nil: the provider's real limit. Set above it, the limiter is
    /// misconfigured (a tier the keys do not have) and the provider answers the excess with 429.
    public var limiterKeyRPM: Double?
    /// With the limiter: requests waiting past this make the request queue push back.
    public var limiterBackpressureWaiting = 200
    /// With the limiter: attempts per request (429s and errors).
    public var limiterAttempts = 8
    /// Without the limiter: retries after a 429, each after a fixed delay.
    public var naiveRetries = 3
    public var naiveRetryDelaySeconds = 2.0
    /// Deadline of one LLM request (s).
    public var llmTimeoutSeconds = 60.0

    /// Seconds between queue, pool and limiter samples.
    public var sampleIntervalSeconds = 5.0

    /// The defaults (pilot sizing) with `components`.
    public init(components: Components) {
        self.components = components
    }
}
