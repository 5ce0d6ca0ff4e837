/// A summary to fill in: what a run other than the simulated orchestrator (the live mode)
/// starts from.
extension RunSummary {
    /// A summary of a run with `components` on in which nothing has happened yet: every count
    /// zero, success rate 1.
    public init(components: String) {
        self.components = components
        simulatedSeconds = 0
        wallSeconds = 0
        interrupted = false
        invocations = Invocations(arrived: 0, resubmitted: 0, total: 0, success: 0, failure: 0, rejected: 0, timeout: 0, queuedAtEnd: 0,
                                  runningAtEnd: 0, fallbackServed: 0, meanDurationSeconds: 0)
        successRate = 1
        failureReasons = [:]
        queue = Queue(maxDepth: 0, depthAtEnd: 0, capacity: 0, rejections: 0, meanWaitSeconds: 0)
        pool = Pool(size: 0, maxBusy: 0, utilization: 0)
        state = State(shards: 0, reads: 0, readsFromCache: 0, readFailures: 0, writes: 0, committed: 0, conflicts: 0, timeouts: 0, errors: 0,
                      lostUpdates: 0, staleReads: 0, timeoutRate: 0)
        memory = Memory(writes: 0, timeouts: 0, flushes: 0, flushTimeouts: 0, flushErrors: 0, flushedRecords: 0, maxPending: 0)
        tools = Tools(calls: 0, timeouts: 0, errors: 0, shortCircuited: 0, fallbacks: 0, breakerTransitions: 0, breakerOpens: 0)
        llm = LLM(requests: 0, rateLimited: 0, errors: 0, timeouts: 0, rateLimitedRate: 0, maxInflight: 0, concurrencyLimit: 0, maxWaiting: 0,
                  tokensInput: 0, tokensOutput: 0, keyRotations: 0, meanRateLimitWaitSeconds: 0)
        events = 0
    }
}
