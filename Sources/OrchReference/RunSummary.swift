import Foundation

/// What a run did: the orchestrator's own account, including the ground truth on lost
/// updates and stale reads that the collector's detection from the log is checked against.
/// Encoded as JSON with snake_case keys (`--summary-json`). Every count that stands for
/// events equals the number of such events in the log.
public struct RunSummary: Codable, Sendable, Equatable {
    /// Invocations by outcome.
    public struct Invocations: Codable, Sendable, Equatable {
        /// Arrivals (first submissions).
        public var arrived: Int
        /// Failed invocations their callers sent again (each counted as a new invocation).
        public var resubmitted: Int
        /// Finished with an outcome (`invocation_finished` events).
        public var total: Int
        public var success: Int
        public var failure: Int
        /// Callers that gave up after repeated rejections.
        public var rejected: Int
        public var timeout: Int
        /// Still queued, or running, when the run ended (no outcome yet).
        public var queuedAtEnd: Int
        public var runningAtEnd: Int
        /// Successful tool fallbacks that let an invocation carry on.
        public var fallbackServed: Int
        /// Mean run time of the invocations that started (s), queue wait excluded.
        public var meanDurationSeconds: Double
    }

    /// The request queue.
    public struct Queue: Codable, Sendable, Equatable {
        public var maxDepth: Int
        public var depthAtEnd: Int
        /// 0: unbounded.
        public var capacity: Int
        /// `queue_rejection` events.
        public var rejections: Int
        public var meanWaitSeconds: Double
        /// Requests accepted into the queue (the sum of `queue_sample` `enqueued`).
        public var enqueued = 0
    }

    /// The worker pool of agent instances.
    public struct Pool: Codable, Sendable, Equatable {
        public var size: Int
        public var maxBusy: Int
        /// Mean busy fraction over the run.
        public var utilization: Double
    }

    /// The state layer: reads and writes of versioned records, and the ground truth on consistency.
    public struct State: Codable, Sendable, Equatable {
        public var shards: Int
        /// `state_read` events (successful reads).
        public var reads: Int
        public var readsFromCache: Int
        public var readFailures: Int
        /// `state_write` events (every attempt), and by outcome.
        public var writes: Int
        public var committed: Int
        public var conflicts: Int
        public var timeouts: Int
        public var errors: Int
        /// Committed writes whose base version was older than the newest committed one.
        public var lostUpdates: Int
        /// Reads that returned a version older than one committed before the read started.
        public var staleReads: Int
        /// timeouts / writes.
        public var timeoutRate: Double
        /// Live mode: the state store ("redis", "postgres"); nil in simulated runs. Live, the
        /// store's own ground truth gives `lostUpdates`: writes that reported success minus
        /// versions actually advanced, counted atomically in the store.
        public var store: String? = nil
    }

    /// The backing store under the state layer.
    public struct Memory: Codable, Sendable, Equatable {
        /// Write operations on the backing store (write-through writes and flushes).
        public var writes: Int
        public var timeouts: Int
        /// `memory_flush` events, and by outcome.
        public var flushes: Int
        public var flushTimeouts: Int
        public var flushErrors: Int
        public var flushedRecords: Int
        /// Most dirty records awaiting a flush at once.
        public var maxPending: Int
    }

    /// Tool calls and circuit breakers.
    public struct Tools: Codable, Sendable, Equatable {
        /// `tool_call` events, and by outcome.
        public var calls: Int
        public var timeouts: Int
        public var errors: Int
        public var shortCircuited: Int
        /// Calls answered by the fallback (`fallback_used`).
        public var fallbacks: Int
        /// `breaker_transition` events, and those to open.
        public var breakerTransitions: Int
        public var breakerOpens: Int
    }

    /// LLM requests and the rate limiter.
    public struct LLM: Codable, Sendable, Equatable {
        /// `llm_request` events (every attempt), and by outcome.
        public var requests: Int
        public var rateLimited: Int
        public var errors: Int
        public var timeouts: Int
        public var rateLimitedRate: Double
        /// Most requests in flight at once (past the limiter; without it, every outstanding request).
        public var maxInflight: Int
        /// The concurrency limit of the keys in use.
        public var concurrencyLimit: Int
        /// Most requests waiting in the limiter at once (0 without it).
        public var maxWaiting: Int
        public var tokensInput: Int
        public var tokensOutput: Int
        /// `key_rotation` events.
        public var keyRotations: Int
        public var meanRateLimitWaitSeconds: Double
        /// Tokens by type (input: prompt tokens neither read from nor written to the cache;
        /// reasoning: a part of output), over every request.
        public var tokens = Tokens()
        /// What the requests cost, priced with the run's pricing file (deploy/pricing.yml by
        /// default) request by request, and the tokens it has no price for.
        public var costUsd = 0.0
        public var unpricedTokens = 0
        /// `llm_provider_limits` events.
        public var providerLimitEvents = 0
    }

    /// Tokens by type.
    public struct Tokens: Codable, Sendable, Equatable {
        public var input = 0, output = 0, cacheRead = 0, cacheWrite = 0, reasoning = 0
        public init() {}

        public mutating func add(_ o: Tokens) {
            input += o.input
            output += o.output
            cacheRead += o.cacheRead
            cacheWrite += o.cacheWrite
            reasoning += o.reasoning
        }
    }

    /// Per agent, over its invocations that started and finished: how many, their LLM and
    /// tool calls (every attempt, tied by invocation id), tokens and cost — the sums and counts
    /// of the collector's `orch_invocation_*` histograms.
    public struct FanOut: Codable, Sendable, Equatable {
        public var invocations = 0, llmCalls = 0, toolCalls = 0
        /// The most LLM calls one invocation made.
        public var llmCallsMax = 0
        public var tokens = Tokens()
        public var costUsd = 0.0
        public init() {}
    }

    /// The scenario's name, the log's source directory name ("" without a log), the seed and
    /// the mean arrival rate of the run.
    public var scenario: String = ""
    public var source: String = ""
    public var seed: UInt64 = 0
    public var invocationsPerDay: Double = 0
    /// "simulated" (discrete-event, simulated time) or "live" (real threads, wall-clock time,
    /// real state store).
    public var mode: String = "simulated"
    /// The protections on ("none" for a fully naive run).
    public var components: String
    /// Simulated time covered, and the wall-clock time it took (s).
    public var simulatedSeconds: Double
    public var wallSeconds: Double
    /// Stopped before the planned duration (Ctrl-C).
    public var interrupted: Bool
    public var invocations: Invocations
    /// success / total (1 when nothing finished).
    public var successRate: Double
    /// Failed or timed-out invocations by cause.
    public var failureReasons: [String: Int]
    public var queue: Queue
    public var pool: Pool
    public var state: State
    public var memory: Memory
    public var tools: Tools
    public var llm: LLM
    /// Events handed to the log.
    public var events: UInt64
    /// Per agent: fan-out, tokens and cost of its finished invocations.
    public var fanout: [String: FanOut] = [:]

    init(orchestrator o: Orchestrator, simulatedSeconds: Double, wallSeconds: Double, interrupted: Bool) {
        let c = o.counters
        let total = c.success + c.failure + c.rejected + c.timeout
        components = o.config.components.description
        self.simulatedSeconds = simulatedSeconds
        self.wallSeconds = wallSeconds
        self.interrupted = interrupted
        invocations = Invocations(arrived: c.arrived, resubmitted: c.resubmitted, total: total, success: c.success, failure: c.failure, rejected: c.rejected,
                                  timeout: c.timeout, queuedAtEnd: o.queueDepth, runningAtEnd: o.runningCount, fallbackServed: c.fallbackServed,
                                  meanDurationSeconds: c.started - o.runningCount <= 0 ? 0 : Double(c.durationTotalNs) / 1e9 / Double(c.started - o.runningCount))
        successRate = total == 0 ? 1 : Double(c.success) / Double(total)
        failureReasons = c.failureReasons
        queue = Queue(maxDepth: c.maxQueueDepth, depthAtEnd: o.queueDepth, capacity: o.config.components.boundedQueue ? o.config.queueCapacity : 0,
                      rejections: c.queueRejections, meanWaitSeconds: c.started == 0 ? 0 : Double(c.queueWaitTotalNs) / 1e9 / Double(c.started))
        let span = max(1e-9, simulatedSeconds * 1e9)
        pool = Pool(size: o.config.poolSize, maxBusy: c.maxBusy, utilization: c.busyTimeNs / span / Double(max(1, o.config.poolSize)))
        state = State(shards: o.state.shardCount, reads: c.reads, readsFromCache: c.readsFromCache, readFailures: c.readFailures, writes: c.writes,
                      committed: c.committed, conflicts: c.conflicts, timeouts: c.writeTimeouts, errors: c.writeErrors,
                      lostUpdates: c.lostUpdates, staleReads: c.staleReads,
                      timeoutRate: c.writes == 0 ? 0 : Double(c.writeTimeouts) / Double(c.writes))
        memory = Memory(writes: c.storeWrites, timeouts: c.storeWriteTimeouts, flushes: c.flushes, flushTimeouts: c.flushTimeouts,
                        flushErrors: c.flushErrors, flushedRecords: c.flushedRecords, maxPending: c.maxPending)
        tools = Tools(calls: c.toolCalls, timeouts: c.toolTimeouts, errors: c.toolErrors, shortCircuited: c.toolShortCircuited,
                      fallbacks: c.toolFallbacks, breakerTransitions: c.breakerTransitions, breakerOpens: c.breakerOpens)
        llm = LLM(requests: c.llmRequests, rateLimited: c.llmRateLimited, errors: c.llmErrors, timeouts: c.llmTimeouts,
                  rateLimitedRate: c.llmRequests == 0 ? 0 : Double(c.llmRateLimited) / Double(c.llmRequests),
                  maxInflight: c.maxInflight, concurrencyLimit: o.llm.concurrencyLimit, maxWaiting: c.maxWaiting, tokensInput: c.tokensInput, tokensOutput: c.tokensOutput,
                  keyRotations: c.keyRotations,
                  meanRateLimitWaitSeconds: c.llmRequests == 0 ? 0 : Double(c.rateLimitWaitTotalNs) / 1e9 / Double(c.llmRequests))
        llm.tokens.input = c.tokensInput
        llm.tokens.output = c.tokensOutput
        llm.tokens.cacheRead = c.tokensCacheRead
        llm.tokens.cacheWrite = c.tokensCacheWrite
        llm.tokens.reasoning = c.tokensReasoning
        llm.costUsd = c.costUSD
        llm.unpricedTokens = c.unpricedTokens
        llm.providerLimitEvents = c.providerLimitEvents
        queue.enqueued = c.queueEnqueued
        fanout = c.book.fanout
        events = o.telemetry.emitted
    }

    /// The summary as JSON (snake_case keys, sorted, pretty-printed).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Decodes a summary written by `json()`.
    public static func decode(_ data: Data) throws -> RunSummary {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RunSummary.self, from: data)
    }
}
