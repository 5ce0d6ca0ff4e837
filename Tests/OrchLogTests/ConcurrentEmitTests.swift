import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Synchronization
import Testing

/// `emit` from several threads at once: each thread writes its own buffer, the flusher merges
/// them and numbers the events. Whatever the interleaving, every event is read back exactly
/// once, sequence numbers run 1, 2, 3, … in file order, one thread's events keep the order it
/// emitted them in, and what could not be kept is counted.
@Suite struct ConcurrentEmitTests {
    /// Runs `body(thread)` on `threads` threads started together; returns when all are done.
    private func onThreads(_ threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchSemaphore(value: 0)
        let ready = Atomic<Int>(0)
        for t in 0..<threads {
            let thread = Thread {
                ready.add(1, ordering: .acquiringAndReleasing)
                while ready.load(ordering: .acquiring) < threads { sched_yield() }
                body(t)
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<threads { done.wait() }
    }

    @Test(arguments: [2, 3, 4, 8])
    func everyEventIsReadBackOnceInSequenceOrder(threads: Int) throws {
        let dir = TempDir("concurrent-\(threads)")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.bufferCapacity = 1 << 16
        options.blockSize = 4096
        let log = try EventLog(directory: dir.sub("src"), options: options)
        let agents = (0..<threads).map { log.label("thread-\($0)") }
        let perThread = 20_000
        onThreads(threads) { t in
            for i in 0..<perThread {
                log.emit(.invocationStarted(agent: agents[t], invocationID: UInt64(i)))
                // Now and then a flush from an emitting thread, so blocks cut mid-stream.
                if i % 5_000 == 4_999 && t == 0 { log.flush() }
            }
        }
        log.close()
        #expect(log.stats.dropped == 0)
        let records = try readAll(dir.sub("src"))
        #expect(records.count == threads * perThread)
        #expect(records.map(\.seq) == Array(1...UInt64(threads * perThread)), "1, 2, 3, … in file order")
        // Each thread's events: all there, once each, in the order that thread emitted them.
        for t in 0..<threads {
            let ids = records.filter { $0.text(of: "agent") == "thread-\(t)" }.compactMap { $0.number(of: "invocation_id") }
            #expect(ids == (0..<UInt64(perThread)).map { $0 }, "thread \(t): every event once, in its emit order")
        }
        #expect(log.stats.nextSequence == UInt64(threads * perThread) + 1)
    }

    @Test func threadsThatComeAndGoHandTheirBuffersOnWithoutLosingEvents() throws {
        let dir = TempDir("thread-churn")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        let q = log.label("q")
        // 6 rounds of 4 short-lived threads: later threads take over the buffers of exited ones,
        // with their events possibly still pending.
        for round in 0..<6 {
            onThreads(4) { t in
                for i in 0..<2_000 { log.emit(.queueSample(queue: q, depth: UInt64(round * 100_000 + t * 10_000 + i), capacity: 1)) }
            }
        }
        log.close()
        let records = try readAll(dir.sub("src"))
        #expect(records.count == 6 * 4 * 2_000)
        #expect(records.map(\.seq) == Array(1...UInt64(6 * 4 * 2_000)))
        #expect(Set(records.compactMap { $0.number(of: "depth") }).count == 6 * 4 * 2_000, "every event exactly once")
    }

    @Test(arguments: [2, 8])
    func fullBuffersDropAndEveryDropIsCounted(threads: Int) throws {
        let dir = TempDir("concurrent-drops-\(threads)")
        defer { dir.remove() }
        let log = try overflowingLog(dir)
        let q = log.label("q")
        let perThread = 50_000
        onThreads(threads) { t in
            for i in 0..<perThread { log.emit(.queueSample(queue: q, depth: UInt64(t * perThread + i), capacity: 1)) }
        }
        log.close()
        let stats = log.stats
        #expect(stats.droppedBufferFull > 0, "16-event buffers overflow")
        let records = try readAll(dir.sub("src"))
        let ordinary = records.filter { $0.type == .queueSample }
        let recordedDrops = records.filter { $0.type == .eventsDropped }.reduce(UInt64(0)) { $0 + $1.number(of: "count")! }
        #expect(UInt64(ordinary.count) + recordedDrops == UInt64(threads * perThread), "every event in the log or counted by a drop record")
        #expect(recordedDrops == stats.droppedBufferFull)
        #expect(Set(ordinary.compactMap { $0.number(of: "depth") }).count == ordinary.count, "no event written twice")
        #expect(records.map(\.seq) == Array(1...UInt64(records.count)))
    }

    @Test func emitsRacingCloseAreWrittenOrCountedNeverLost() throws {
        let dir = TempDir("close-race")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        let q = log.label("q")
        let emitted = Atomic<Int>(0)
        let started = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        for t in 0..<4 {
            Thread {
                started.add(1, ordering: .relaxed)
                var i = 0
                // Keep emitting until well after the close.
                while i < 400_000 {
                    log.emit(.queueSample(queue: q, depth: UInt64(t * 1_000_000 + i), capacity: 1))
                    i += 1
                }
                emitted.add(i, ordering: .relaxed)
                done.signal()
            }.start()
        }
        while started.load(ordering: .relaxed) < 4 { sched_yield() }
        usleep(2_000)
        log.close()
        for _ in 0..<4 { done.wait() }
        let records = try readAll(dir.sub("src"))
        let ordinary = records.filter { $0.type == .queueSample }.count
        #expect(ordinary > 0)
        #expect(UInt64(ordinary) + log.stats.droppedBufferFull == UInt64(emitted.load(ordering: .relaxed)),
                "each emit was written before the close or counted dropped (buffer full or closed)")
        #expect(records.map(\.seq) == Array(1...UInt64(records.count)))
    }

    @Test func anInMemoryLogNumbersEventsFromManyThreadsInOneSequence() {
        let log = EventLog.inMemory()
        let agents = (0..<8).map { log.label("t\($0)") }
        onThreads(8) { t in
            for i in 0..<3_000 { log.emit(.invocationStarted(agent: agents[t], invocationID: UInt64(i))) }
        }
        let records = log.recordedRecords
        #expect(records.count == 24_000)
        #expect(records.map(\.seq) == Array(1...24_000))
        for t in 0..<8 {
            #expect(records.filter { $0.text(of: "agent") == "t\(t)" }.compactMap { $0.number(of: "invocation_id") } == (0..<3_000).map { UInt64($0) })
        }
        #expect(log.stats.dropped == 0)
    }
}

/// A log in `dir`/src whose emit buffers hold 16 events and whose flusher waits 500 ms between
/// age-cut blocks: emitting in a loop overflows it (the drop-counting tests).
func overflowingLog(_ dir: TempDir) throws -> EventLog {
    var options = EventLogOptions()
    options.bufferCapacity = 16
    options.flushAgeNs = 500_000_000
    return try EventLog(directory: dir.sub("src"), options: options)
}
