import OrchLog
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

    /// Updates the counts under the lock.
    @inline(__always)
    func update(_ body: (inout Counts) -> Void) {
        counts.withLock { body(&$0) }
    }

    /// A copy of the counts now.
    var snapshot: Counts { counts.withLock { $0 } }
}
