import OrchLog

/// The interfaces between the orchestrator and what it calls. The reference runs them
/// against simulated implementations; a real client (HTTP to an LLM API, a CRM SDK, a
/// database driver) fits behind the same protocols. Replies are delivered by calling the
/// closure once, on the orchestrator's scheduler thread, at the (simulated) time they arrive.

/// One LLM request as the client sends it.
public struct LLMCall: Sendable, Equatable {
    /// Index of the API key in the provider's key list.
    public var key: Int
    /// Prompt tokens sent and completion tokens asked for.
    public var inputTokens: Int
    public var outputTokens: Int

    /// A call on key `key`.
    public init(key: Int, inputTokens: Int, outputTokens: Int) {
        self.key = key
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// How an LLM API answered.
public enum LLMReply: Sendable, Equatable {
    /// A completion, with what its usage and headers said.
    case success(LLMResponse)
    /// HTTP 429 with a `retry-after` (ns), the limit it names and the rate-limit headers.
    case rateLimited(retryAfterNs: UInt64, limit: RateLimitType, limits: ProviderLimits?)
    /// HTTP 5xx or a broken connection.
    case error
}

/// What an OpenAI-compatible API's `x-ratelimit-remaining-*` and `x-ratelimit-reset-*`
/// headers said of a key.
public struct ProviderLimits: Sendable, Equatable {
    public var remainingRequests, remainingTokens: UInt64
    public var resetRequestsNs, resetTokensNs: UInt64

    public init(remainingRequests: UInt64, remainingTokens: UInt64, resetRequestsNs: UInt64, resetTokensNs: UInt64) {
        self.remainingRequests = remainingRequests
        self.remainingTokens = remainingTokens
        self.resetRequestsNs = resetRequestsNs
        self.resetTokensNs = resetTokensNs
    }
}

/// A completion's usage beyond the tokens asked for, its streaming and its headers.
public struct LLMResponse: Sendable, Equatable {
    /// Of the prompt's tokens, those read from and written to the provider's prompt cache.
    public var cacheReadTokens = 0, cacheWriteTokens = 0
    /// Of the completion's tokens, those spent on reasoning.
    public var reasoningTokens = 0
    /// Streamed: time from sending to the first chunk (0: not streamed).
    public var timeToFirstChunkNs: UInt64 = 0
    public var limits: ProviderLimits?

    public init(cacheReadTokens: Int = 0, cacheWriteTokens: Int = 0, reasoningTokens: Int = 0, timeToFirstChunkNs: UInt64 = 0, limits: ProviderLimits? = nil) {
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.timeToFirstChunkNs = timeToFirstChunkNs
        self.limits = limits
    }
}

/// An LLM API. A request that never gets a reply is the client's timeout to handle.
public protocol LLMBackend: AnyObject {
    /// The provider's name (a label value).
    var provider: String { get }
    /// Key aliases, indexable by `LLMCall.key`.
    var keyAliases: [String] { get }
    /// The documented per-key concurrency limit of the API tier.
    func concurrencyLimit(key: Int) -> Int
    func send(_ call: LLMCall, reply: @escaping (LLMReply) -> Void)
}

/// How a tool answered.
public enum ToolReply: Sendable, Equatable {
    case success
    case error
}

/// The tools agents call (CRM, billing, search, ticketing).
public protocol ToolBackend: AnyObject {
    /// Tool names, indexable by the `tool` argument.
    var toolNames: [String] { get }
    func call(tool: Int, reply: @escaping (ToolReply) -> Void)
}

/// How the backing store should apply one write.
public enum StoreWriteMode: Sendable, Equatable {
    /// Last writer wins: the store bumps the version whatever the writer had read.
    case blind
    /// Commit only if the stored version is `expected`, as `expected + 1`.
    case compareAndSet(expected: UInt64)
    /// Store `version` (a write-back flush of a version the cache already decided);
    /// older versions never overwrite newer ones.
    case put(version: UInt64)
}

/// One write of a batch.
public struct StoreWrite: Sendable, Equatable {
    /// The record (a dense key id) and how to apply the write.
    public var key: Int
    public var mode: StoreWriteMode

    /// A write of `key`.
    public init(key: Int, mode: StoreWriteMode) {
        self.key = key
        self.mode = mode
    }
}

/// The result of one write of a batch.
public enum StoreWriteResult: Sendable, Equatable {
    case committed(previous: UInt64, new: UInt64)
    case conflict(current: UInt64)
}

/// How a store operation ended.
public enum StoreReply<Value: Sendable>: Sendable {
    case ok(Value)
    /// The deadline passed first; nothing was applied.
    case timeout
    case error
}

/// The durable store under the state layer: versioned records in partitions, with a
/// throughput limit. Operations carry a deadline (propagated like a gRPC deadline): an
/// operation that cannot finish by then is not applied and answers `.timeout` at the deadline.
public protocol BackingStore: AnyObject {
    func read(partition: Int, key: Int, deadline: UInt64, reply: @escaping (StoreReply<UInt64>) -> Void)
    func write(partition: Int, items: [StoreWrite], deadline: UInt64, reply: @escaping (StoreReply<[StoreWriteResult]>) -> Void)
}
