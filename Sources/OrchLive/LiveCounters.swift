import OrchLog
import OrchPricing
import OrchReference
import Synchronization

/// What a live run did, counted by the components as they emit, from many threads (one
/// mutex: a few hundred updates per invocation at most). Every count that has an event behind
/// it equals the number of such events in the log.
final class LiveCounters: Sendable {
    struct Counts {
        var arrived = 0, resubmitted = 0
        var success = 0, failure = 0, rejected = 0, timeout = 0
        var fallbackServed = 0
        var failureReasons: [String: Int] = [:]
        var queueRejections = 0, maxQueueDepth = 0
        var queueWaitTotalNs: UInt64 = 0, durationTotalNs: UInt64 = 0
        var started = 0, running = 0, maxBusy = 0
        var busyTimeNs: Double = 0
        var reads = 0, readsFromCache = 0, readFailures = 0
        var writes = 0, committed = 0, conflicts = 0, writeTimeouts = 0, writeErrors = 0
        var storeWrites = 0, storeWriteTimeouts = 0
        var flushes = 0, flushTimeouts = 0, flushErrors = 0, flushedRecords = 0, maxPending = 0
        var toolCalls = 0, toolTimeouts = 0, toolErrors = 0, toolShortCircuited = 0, toolFallbacks = 0
        var breakerTransitions = 0, breakerOpens = 0
        var llmRequests = 0, llmRateLimited = 0, llmErrors = 0, llmTimeouts = 0
        var tokensInput = 0, tokensOutput = 0, maxInflight = 0
        var tokensCacheRead = 0, tokensCacheWrite = 0, tokensReasoning = 0
        /// Priced with the run's pricing file, request by request in the order counted.
        var costUSD = 0.0
        var unpricedTokens = 0, providerLimitEvents = 0, queueEnqueued = 0
        /// Per-invocation fan-out (the summary's `fanout`).
        var book = FanOutBook()
        var keyRotations = 0, maxWaiting = 0
        var rateLimitWaitTotalNs: UInt64 = 0
        var events: UInt64 = 0

        /// Counts one state write attempt by its outcome.
        mutating func countWrite(_ outcome: WriteOutcome) {
            writes += 1
            switch outcome {
            case .committed: committed += 1
            case .conflict: conflicts += 1
            case .timeout: writeTimeouts += 1
            case .error: writeErrors += 1
            }
        }
    }

    private let counts = Mutex(Counts())
    /// LLM prices (`--pricing.file`).
    let pricing: PriceTable

    init(pricing: PriceTable = PriceTable()) {
        self.pricing = pricing
    }

    /// Counts one `llm_request` of `caller` priced at `provider`/`model`: tokens by type, cost,
    /// the invocation's tally.
    func countLLM(provider: String, model: String, _ usage: TokenUsage, reasoning: UInt64, invocation: UInt64) {
        let (usd, unpriced) = pricing.cost(provider: provider, model: model, usage)
        update {
            $0.tokensCacheRead += Int(usage.cacheRead)
            $0.tokensCacheWrite += Int(usage.cacheWrite)
            $0.tokensReasoning += Int(reasoning)
            $0.costUSD += usd
            $0.unpricedTokens += Int(unpriced)
            $0.book.llm(invocation, usage, reasoning: reasoning, usd: usd)
        }
    }

    /// Updates the counts under the lock.
    @inline(__always)
    func update(_ body: (inout Counts) -> Void) {
        counts.withLock { body(&$0) }
    }

    /// A copy of the counts now.
    var snapshot: Counts { counts.withLock { $0 } }
}
