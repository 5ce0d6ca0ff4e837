import Foundation
import Synchronization

/// Runs a body on several threads released at the same instant, and times each thread.
final class ParallelRun: Sendable {
    private let ready = Atomic<Int>(0)
    private let go = Atomic<Bool>(false)
    private let elapsed: Mutex<[UInt64]>
    private let cpu: Mutex<[UInt64]>
    private let done = DispatchSemaphore(value: 0)
    private let threads: Int

    private init(threads: Int) {
        self.threads = threads
        elapsed = Mutex([UInt64](repeating: 0, count: threads))
        cpu = Mutex([UInt64](repeating: 0, count: threads))
    }

    /// Runs `body(i)` on threads 0..<`threads` at once; returns each thread's wall nanoseconds.
    static func timed(threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> [UInt64] {
        measured(threads: threads, body).wall
    }

    /// Runs `body(i)` on threads 0..<`threads` at once; returns each thread's wall nanoseconds
    /// and its own CPU nanoseconds (CLOCK_THREAD_CPUTIME_ID: time other threads, such as a
    /// flusher sharing the cores, take from it does not count).
    static func measured(threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> (wall: [UInt64], cpu: [UInt64]) {
        let run = ParallelRun(threads: threads)
        for i in 0..<threads {
            let thread = Thread {
                run.ready.add(1, ordering: .acquiringAndReleasing)
                while !run.go.load(ordering: .acquiring) {}
                let start = Clock.nowNs()
                let cpuStart = Clock.threadCPUNs()
                body(i)
                let cpuNs = Clock.threadCPUNs() - cpuStart
                let ns = Clock.nowNs() - start
                run.elapsed.withLock { $0[i] = ns }
                run.cpu.withLock { $0[i] = cpuNs }
                run.done.signal()
            }
            thread.start()
        }
        while run.ready.load(ordering: .acquiring) < threads { sched_yield() }
        run.go.store(true, ordering: .releasing)
        for _ in 0..<threads { run.done.wait() }
        return (run.elapsed.withLock { $0 }, run.cpu.withLock { $0 })
    }
}
