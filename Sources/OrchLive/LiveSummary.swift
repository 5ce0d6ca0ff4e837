import OrchReference

/// The summary of a live run: the simulated mode's shape, with `mode` "live", the store's
/// name and the lost updates the store itself counted.
enum LiveSummary {
    static func make(_ o: LiveOrchestrator, truth: StoreTruth, wallSeconds: Double, interrupted: Bool) -> RunSummary {
        let c = o.counters.snapshot
        var s = RunSummary(components: o.config.components.description)
        s.mode = "live"
        s.simulatedSeconds = wallSeconds * o.clock.speed
        s.wallSeconds = wallSeconds
        s.interrupted = interrupted
        let total = c.success + c.failure + c.rejected + c.timeout
        let finishedStarted = c.started - c.running
        s.invocations.arrived = c.arrived
        s.invocations.resubmitted = c.resubmitted
        s.invocations.total = total
        s.invocations.success = c.success
        s.invocations.failure = c.failure
        s.invocations.rejected = c.rejected
        s.invocations.timeout = c.timeout
        s.invocations.queuedAtEnd = o.queue.depth
        s.invocations.runningAtEnd = c.running
        s.invocations.fallbackServed = c.fallbackServed
        s.invocations.meanDurationSeconds = finishedStarted <= 0 ? 0 : Double(c.durationTotalNs) / 1e9 / Double(finishedStarted)
        s.successRate = total == 0 ? 1 : Double(c.success) / Double(total)
        s.failureReasons = c.failureReasons

        s.queue.maxDepth = max(c.maxQueueDepth, o.queue.maxDepth)
        s.queue.depthAtEnd = o.queue.depth
        s.queue.capacity = o.queue.capacity ?? 0
        s.queue.rejections = c.queueRejections
        s.queue.meanWaitSeconds = c.started == 0 ? 0 : Double(c.queueWaitTotalNs) / 1e9 / Double(c.started)

        s.pool.size = o.config.poolSize
        s.pool.maxBusy = c.maxBusy
        s.pool.utilization = c.busyTimeNs / max(1e-9, wallSeconds * 1e9) / Double(max(1, o.config.poolSize))

        s.state.shards = o.state.shardCount
        s.state.reads = c.reads
        s.state.readsFromCache = c.readsFromCache
        s.state.readFailures = c.readFailures
        s.state.writes = c.writes
        s.state.committed = c.committed
        s.state.conflicts = c.conflicts
        s.state.timeouts = c.writeTimeouts
        s.state.errors = c.writeErrors
        s.state.lostUpdates = Int(truth.lostUpdates)
        s.state.timeoutRate = c.writes == 0 ? 0 : Double(c.writeTimeouts) / Double(c.writes)
        s.state.store = o.state.store.kind

        s.memory.writes = c.storeWrites
        s.memory.timeouts = c.storeWriteTimeouts
        s.memory.flushes = c.flushes
        s.memory.flushTimeouts = c.flushTimeouts
        s.memory.flushErrors = c.flushErrors
        s.memory.flushedRecords = c.flushedRecords
        s.memory.maxPending = c.maxPending

        s.tools.calls = c.toolCalls
        s.tools.timeouts = c.toolTimeouts
        s.tools.errors = c.toolErrors
        s.tools.shortCircuited = c.toolShortCircuited
        s.tools.fallbacks = c.toolFallbacks
        s.tools.breakerTransitions = c.breakerTransitions
        s.tools.breakerOpens = c.breakerOpens

        s.llm.requests = c.llmRequests
        s.llm.rateLimited = c.llmRateLimited
        s.llm.errors = c.llmErrors
        s.llm.timeouts = c.llmTimeouts
        s.llm.rateLimitedRate = c.llmRequests == 0 ? 0 : Double(c.llmRateLimited) / Double(c.llmRequests)
        s.llm.maxInflight = c.maxInflight
        s.llm.concurrencyLimit = o.backends.concurrencyLimit
        s.llm.tokensInput = c.tokensInput
        s.llm.tokensOutput = c.tokensOutput
        s.llm.keyRotations = c.keyRotations
        s.llm.maxWaiting = c.maxWaiting
        s.llm.meanRateLimitWaitSeconds = c.llmRequests == 0 ? 0 : Double(c.rateLimitWaitTotalNs) / 1e9 / Double(c.llmRequests)
        s.llm.tokens.input = c.tokensInput
        s.llm.tokens.output = c.tokensOutput
        s.llm.tokens.cacheRead = c.tokensCacheRead
        s.llm.tokens.cacheWrite = c.tokensCacheWrite
        s.llm.tokens.reasoning = c.tokensReasoning
        s.llm.costUsd = c.costUSD
        s.llm.unpricedTokens = c.unpricedTokens
        s.llm.providerLimitEvents = c.providerLimitEvents
        s.queue.enqueued = c.queueEnqueued
        s.fanout = c.book.fanout
        return s
    }
}
