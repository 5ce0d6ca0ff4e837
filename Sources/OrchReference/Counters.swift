import OrchPricing

/// What a run did, counted by the components as they emit (one thread: plain fields).
/// Every count that has an event behind it equals the number of such events in the log.
final class Counters {
    // Invocations (invocation_finished events by outcome).
    var arrived = 0
    var resubmitted = 0
    var success = 0, failure = 0, rejected = 0, timeout = 0
    var fallbackServed = 0
    var failureReasons: [String: Int] = [:]
    // Queue.
    var queueRejections = 0
    var maxQueueDepth = 0
    var queueWaitTotalNs: UInt64 = 0
    var durationTotalNs: UInt64 = 0
    var started = 0
    // State (state_read / state_write events).
    var reads = 0, readsFromCache = 0, readFailures = 0
    var writes = 0, committed = 0, conflicts = 0, writeTimeouts = 0, writeErrors = 0
    var lostUpdates = 0, staleReads = 0
    // Backing store writes (write-through writes and flushes).
    var storeWrites = 0, storeWriteTimeouts = 0
    var flushes = 0, flushTimeouts = 0, flushErrors = 0, flushedRecords = 0, maxPending = 0
    // Tools (tool_call events).
    var toolCalls = 0, toolTimeouts = 0, toolErrors = 0, toolShortCircuited = 0, toolFallbacks = 0
    var breakerOpens = 0, breakerTransitions = 0
    // LLM (llm_request events).
    var llmRequests = 0, llmRateLimited = 0, llmErrors = 0, llmTimeouts = 0
    var tokensInput = 0, tokensOutput = 0
    var tokensCacheRead = 0, tokensCacheWrite = 0, tokensReasoning = 0
    /// Priced with the run's price table, request by request in emit order.
    var costUSD = 0.0
    var unpricedTokens = 0
    var providerLimitEvents = 0
    var queueEnqueued = 0
    /// Per agent: fan-out, tokens and cost of its finished invocations.
    var book = FanOutBook()
    var maxInflight = 0, maxWaiting = 0
    var keyRotations = 0
    var rateLimitWaitTotalNs: UInt64 = 0
    // Pool.
    var maxBusy = 0
    var busyTimeNs: Double = 0

    func fail(_ reason: String) {
        failureReasons[reason, default: 0] += 1
    }
}
