// Guide section "The request queue and the worker pool" (docs/instrumenting.md).
import OrchLog
import Synchronization

// guide:begin queue
/// A bounded request queue that turns callers away when full (backpressure) and says so.
final class RequestQueue<Request: Sendable>: Sendable {
    private let log: EventLog
    let name: Label
    private let queueFull: Label
    let capacity: Int
    private let items = Mutex<[(request: Request, enqueuedNs: UInt64)]>([])

    init(log: EventLog, name: String, capacity: Int) {
        self.log = log
        self.name = log.label(name)  // label handles: once, at construction
        self.queueFull = log.label("queue_full")
        self.capacity = capacity
    }

    /// Admits a request, or refuses it and tells the caller when to come back.
    func offer(_ request: Request) -> Bool {
        let admitted = items.withLock { queue -> Bool in
            guard queue.count < capacity else { return false }
            queue.append((request, monotonicNs()))
            return true
        }
        if !admitted {
            log.emit(.queueRejection(queue: name, reason: queueFull, retryAfterNs: 2_000_000_000))
        }
        return admitted
    }

    /// The oldest request and how long it waited, or nil when the queue is empty.
    func take() -> (request: Request, waitedNs: UInt64)? {
        guard let item = items.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return nil }
        return (item.request, monotonicNs() - item.enqueuedNs)
    }

    /// Called by the sampler once a second: depth and capacity become gauges.
    func sample() {
        let depth = items.withLock { $0.count }
        log.emit(.queueSample(queue: name, depth: UInt64(depth), capacity: UInt64(capacity)))
    }
}
// guide:end queue

// guide:begin invocation
/// Why an invocation ended early.
enum InvocationError: Error { case timedOut, failed(String) }

/// Runs one invocation on a worker and reports its start, outcome, duration and queue wait.
func runInvocation(log: EventLog, id: UInt64, agent: Label, queue: Label, waitedNs: UInt64,
                   body: () throws -> Void) -> InvocationOutcome {
    log.emit(.invocationStarted(agent: agent, invocationID: id))
    let start = monotonicNs()
    let outcome: InvocationOutcome
    do {
        try body()
        outcome = .success
    } catch InvocationError.timedOut {
        outcome = .timeout
    } catch {
        outcome = .failure
    }
    log.emit(.invocationFinished(agent: agent, outcome: outcome, durationNs: monotonicNs() - start,
                                 queueWaitNs: waitedNs, invocationID: id, queue: queue))
    return outcome
}
// guide:end invocation

// guide:begin pool
/// The worker pool's occupancy, sampled with the queue.
final class WorkerPool: Sendable {
    private let log: EventLog
    private let name: Label
    let size: Int
    private let busy = Atomic<Int>(0)

    init(log: EventLog, name: String, size: Int) {
        self.log = log
        self.name = log.label(name)
        self.size = size
    }

    /// Runs `work` counted as busy.
    func withWorker<T>(_ work: () throws -> T) rethrows -> T {
        busy.add(1, ordering: .relaxed)
        defer { busy.subtract(1, ordering: .relaxed) }
        return try work()
    }

    func sample() {
        log.emit(.workerPoolSample(pool: name, busy: UInt64(busy.load(ordering: .relaxed)), size: UInt64(size)))
    }
}
// guide:end pool
