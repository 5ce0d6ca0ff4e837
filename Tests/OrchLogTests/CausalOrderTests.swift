import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Synchronization
import Testing

/// The writer's ordering contract across threads: if one `emit` happens before another (on any
/// threads: a lock, an atomic handoff, a queue between them), the first gets the smaller
/// sequence number, so every reader sees them in that order. Here threads pass a token around
/// and each emits while holding it: the events form one causal chain, and the log must list
/// them in chain order, whatever the flusher was doing meanwhile (a third thread keeps asking
/// for flushes, so the chain is cut into many drain passes and blocks).
///
/// A writer that orders threads' events by their timestamps only within one drain pass (the
/// design reverted in f6a25a9) fails these: a handoff whose first event is drained a pass after
/// the second is logged inverted, and caller-set timestamps that do not follow the chain invert
/// it within a pass.
@Suite struct CausalOrderTests {
    /// Threads `0..<threads` take turns: thread `n % threads` emits link `n` of the chain, then
    /// hands the token on (a release store the next thread acquires). Returns when the chain
    /// has `links` links. `emitLink(thread, n)` emits link `n`.
    ///
    /// Before the chain starts, each chain thread emits one `queue_sample` in turn, with
    /// `spacers` other threads emitting one each between thread 0's and the rest's (they stay
    /// alive until the chain ends): the writer then holds that many more buffers between the
    /// chain threads' own, so a drain pass takes longer to get from one to the next — the
    /// window in which a hand-over can slip between them.
    private func passToken(_ log: EventLog, threads: Int, links: Int, spacers: Int = 0,
                           _ emitLink: @escaping @Sendable (Int, Int) -> Void) {
        let q = log.label("warm-up")
        let turn = Atomic<Int>(-1)
        let registered = DispatchSemaphore(value: 0)
        let mayRegister = (0..<threads).map { _ in DispatchSemaphore(value: 0) }
        let releaseSpacers = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        for t in 0..<threads {
            Thread {
                mayRegister[t].wait()
                log.emit(.queueSample(queue: q, depth: UInt64(t), capacity: 0))
                registered.signal()
                var spins = 0
                while true {
                    let n = turn.load(ordering: .acquiring)
                    if n >= links { break }
                    guard n >= 0, n % threads == t else {
                        spins += 1
                        if spins & 63 == 0 { sched_yield() }
                        continue
                    }
                    emitLink(t, n)
                    turn.store(n + 1, ordering: .releasing)
                }
                done.signal()
            }.start()
        }
        mayRegister[0].signal()
        registered.wait()
        for s in 0..<spacers {
            Thread {
                log.emit(.queueSample(queue: q, depth: UInt64(1_000 + s), capacity: 0))
                registered.signal()
                releaseSpacers.wait()
                done.signal()
            }.start()
            registered.wait()
        }
        for t in 1..<threads {
            mayRegister[t].signal()
            registered.wait()
        }
        turn.store(0, ordering: .releasing)
        for _ in 0..<threads { done.wait() }
        for _ in 0..<spacers { releaseSpacers.signal() }
        for _ in 0..<spacers { done.wait() }
    }

    /// Keeps calling `flush()` from another thread (many small drain passes) until the returned
    /// function is called; that function returns once the thread has stopped.
    private func flushRepeatedly(_ log: EventLog) -> @Sendable () -> Void {
        let stop = StopFlag()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            while !stop.flag.load(ordering: .acquiring) { log.flush() }
            finished.signal()
        }.start()
        return {
            stop.flag.store(true, ordering: .releasing)
            finished.wait()
        }
    }

    /// The chain's link numbers in log order.
    private func chain(_ records: [EventRecord]) -> [UInt64] {
        records.filter { $0.type == .invocationStarted }.compactMap { $0.number(of: "invocation_id") }
    }

    /// Where a chain read back from a log breaks from 0, 1, 2, …: nil when it does not.
    private func firstBreak(_ order: [UInt64], links: Int) -> String? {
        if let i = order.indices.first(where: { order[$0] != UInt64($0) }) {
            return "position \(i) holds link \(order[i]) (around it: \(order[max(0, i - 3)..<min(order.count, i + 4)].map(String.init).joined(separator: ", ")))"
        }
        return order.count == links ? nil : "\(order.count) links read back, \(links) emitted"
    }

    @Test(arguments: [2, 3, 4, 8])
    func aTokenPassedBetweenThreadsIsLoggedInChainOrder(threads: Int) throws {
        let dir = TempDir("causal-\(threads)")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.blockSize = 1024
        let log = try EventLog(directory: dir.sub("src"), options: options)
        let agents = (0..<threads).map { log.label("thread-\($0)") }
        let links = threads >= 8 ? 6_000 : 20_000
        let stopFlushing = flushRepeatedly(log)
        passToken(log, threads: threads, links: links, spacers: 64) { t, n in
            log.emit(.invocationStarted(agent: agents[t], invocationID: UInt64(n)))
        }
        stopFlushing()
        log.close()
        let records = try readAll(dir.sub("src"))
        #expect(log.stats.dropped == 0)
        #expect(records.map(\.seq) == Array(1...UInt64(records.count)))
        let broken = firstBreak(chain(records), links: links)
        #expect(broken == nil, "the log must follow the chain: \(broken ?? "")")
        #expect(log.stats.blocksWritten > 10, "the chain was cut into many blocks and passes")
    }

    @Test(arguments: [2, 4])
    func callerTimestampsThatRunBackwardsDoNotReorderAChain(threads: Int) throws {
        // Simulated time set by the caller (`emit(_:at:)`) may go anywhere; here every link is
        // stamped earlier than the one before it. The log keeps those timestamps as given and
        // still orders by what happened first.
        let dir = TempDir("causal-ts-\(threads)")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        let agents = (0..<threads).map { log.label("thread-\($0)") }
        let links = 10_000
        let base: UInt64 = 1_800_000_000_000_000_000
        let stopFlushing = flushRepeatedly(log)
        passToken(log, threads: threads, links: links) { t, n in
            log.emit(.invocationStarted(agent: agents[t], invocationID: UInt64(n)), at: base - UInt64(n) * 1_000)
        }
        stopFlushing()
        log.close()
        let records = try readAll(dir.sub("src"))
        let broken = firstBreak(chain(records), links: links)
        #expect(broken == nil, "chain order, not timestamp order: \(broken ?? "")")
        let stamps = records.filter { $0.type == .invocationStarted }.compactMap { r in r.number(of: "invocation_id").map { (r.timestamp, $0) } }
        #expect(stamps.allSatisfy { $0.0 == base - $0.1 * 1_000 }, "timestamps kept as the caller set them")
    }

    @Test func aLockHandoffIsLoggedInLockOrderInMemory() {
        // The same contract for an in-memory log, with the chain made by a lock: whichever
        // thread takes it next emits next.
        let log = EventLog.inMemory()
        let agents = (0..<4).map { log.label("t\($0)") }
        let lock = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        let links = 20_000
        for t in 0..<4 {
            Thread {
                while true {
                    let more = lock.withLock { n -> Bool in
                        guard n < links else { return false }
                        log.emit(.invocationStarted(agent: agents[t], invocationID: UInt64(n)), at: 1)
                        n += 1
                        return true
                    }
                    if !more { break }
                    if t == 0 { _ = log.stats }
                }
                done.signal()
            }.start()
        }
        // Read the recorded events while the chain runs, too: each read drains the buffers.
        var seen = 0
        while seen < links {
            seen = log.recordedRecords.count
            usleep(2_000)
        }
        for _ in 0..<4 { done.wait() }
        let records = log.recordedRecords
        #expect(records.map(\.seq) == Array(1...UInt64(links)))
        let broken = firstBreak(chain(records), links: links)
        #expect(broken == nil, "lock order: \(broken ?? "")")
    }
}

/// Tells `CausalOrderTests.flushRepeatedly`'s thread to stop.
private final class StopFlag: Sendable {
    let flag = Atomic<Bool>(false)
}
