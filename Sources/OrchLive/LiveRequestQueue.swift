import Synchronization

/// The live request queue: callers offer invocations, agent tasks wait for the next one.
/// Bounded (a full queue refuses the offer; the caller is told when to retry) or not.
/// An agent waiting on an empty queue holds no thread (a continuation).
final class LiveRequestQueue: Sendable {
    private struct State: ~Copyable {
        var items: [LiveInvocation] = []
        var head = 0
        var waiters: [CheckedContinuation<LiveInvocation?, Never>] = []
        var closed = false
        var maxDepth = 0
        /// Offers accepted since the last `sampleAndReset`.
        var enqueued = 0
    }

    private let state = Mutex(State())
    /// Most invocations waiting at once; nil: unbounded.
    let capacity: Int?

    init(capacity: Int?) {
        self.capacity = capacity
    }

    /// Invocations waiting now.
    var depth: Int { state.withLock { $0.items.count - $0.head } }

    /// The depth, when the oldest waiting invocation was queued (wall ns; nil: none waits) and
    /// the offers accepted since the last call (a `queue_sample`'s fields).
    func sampleAndReset() -> (depth: Int, oldestAt: UInt64?, enqueued: Int) {
        state.withLock { s in
            let n = s.enqueued
            s.enqueued = 0
            return (s.items.count - s.head, s.head < s.items.count ? s.items[s.head].enqueuedAt : nil, n)
        }
    }

    /// Most invocations waiting at once so far.
    var maxDepth: Int { state.withLock { $0.maxDepth } }

    /// Hands `inv` to a waiting agent or queues it; false when the queue is full or closed.
    func offer(_ inv: LiveInvocation) -> Bool {
        let waiter: CheckedContinuation<LiveInvocation?, Never>?? = state.withLock { s in
            if s.closed { return .some(nil) }
            if !s.waiters.isEmpty {
                s.enqueued += 1
                return s.waiters.removeFirst()
            }
            if let capacity, s.items.count - s.head >= capacity { return .some(nil) }
            s.enqueued += 1
            s.items.append(inv)
            s.maxDepth = max(s.maxDepth, s.items.count - s.head)
            return nil
        }
        switch waiter {
        case .some(.some(let c)):
            c.resume(returning: inv)
            return true
        case .some(.none):
            return false
        case .none:
            return true
        }
    }

    /// The next invocation, waiting for one; nil once the queue is closed.
    func next() async -> LiveInvocation? {
        await withCheckedContinuation { (c: CheckedContinuation<LiveInvocation?, Never>) in
            let ready: LiveInvocation?? = state.withLock { s in
                if s.head < s.items.count {
                    let inv = s.items[s.head]
                    s.head += 1
                    if s.head > 1024 && s.head * 2 > s.items.count {
                        s.items.removeFirst(s.head)
                        s.head = 0
                    }
                    return .some(inv)
                }
                if s.closed { return .some(nil) }
                s.waiters.append(c)
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// Closes the queue: waiting agents get nil, later offers are refused. Returns the
    /// invocations left in it.
    @discardableResult
    func close() -> Int {
        let (waiters, left) = state.withLock { s -> ([CheckedContinuation<LiveInvocation?, Never>], Int) in
            s.closed = true
            let w = s.waiters
            s.waiters.removeAll()
            return (w, s.items.count - s.head)
        }
        for w in waiters { w.resume(returning: nil) }
        return left
    }
}
