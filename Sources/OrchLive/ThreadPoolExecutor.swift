import Dispatch
import Foundation
import Synchronization

/// A task executor on a fixed set of real threads, so agent tasks that block in a C client
/// (hiredis, libpq, libcurl) block one of these threads, not one of the few threads of
/// Swift's cooperative pool (on a 2-core machine, two blocked agents would stop every other
/// task). Tasks prefer it with `withTaskExecutorPreference(_:)`; `Task.sleep` gives the
/// thread back while waiting.
public final class ThreadPoolExecutor: TaskExecutor, Sendable {
    private struct Queue: ~Copyable {
        var jobs: [UnownedJob] = []
        var head = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let ready = DispatchSemaphore(value: 0)
    private let stopped = DispatchGroup()
    /// Threads in the pool.
    public let threadCount: Int

    /// Starts `threads` threads (at least 1), named `name-N`.
    public init(threads: Int, name: String = "orchlive") {
        threadCount = max(1, threads)
        for i in 0..<threadCount {
            stopped.enter()
            let t = Thread { [self] in
                work()
                stopped.leave()
            }
            t.name = "\(name)-\(i)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    private func work() {
        while true {
            ready.wait()
            let job: UnownedJob? = queue.withLock { q in
                guard q.head < q.jobs.count else { return nil }
                let j = q.jobs[q.head]
                q.head += 1
                if q.head > 1024 && q.head * 2 > q.jobs.count {
                    q.jobs.removeFirst(q.head)
                    q.head = 0
                }
                return j
            }
            guard let job else { return }  // woken with nothing queued: shutdown
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.jobs.append(unowned) }
        ready.signal()
    }

    /// Stops the threads once every queued job has run (call after the tasks using it ended).
    public func shutdown() {
        let first = queue.withLock { q -> Bool in
            defer { q.stopping = true }
            return !q.stopping
        }
        guard first else { return }
        for _ in 0..<threadCount { ready.signal() }
        stopped.wait()
    }
}
