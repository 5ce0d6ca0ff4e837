import COrchSys
import Dispatch
import Foundation
import Glibc
import Synchronization

/// The writer: what orchestrator components call. `emit` copies a fixed-size event into a
/// bounded in-memory buffer under a short lock and returns: it never blocks on I/O, never
/// throws and never allocates. A background flusher thread encodes blocks, compresses them
/// with zlib and appends them to segment files in the source directory.
///
/// Events the writer cannot keep (buffer full, disk full, I/O error) are counted and the
/// count is written to the log as an `events_dropped` event as soon as writing works again.
public final class EventLog: Sendable {
    /// How far ahead of the slot it writes `emit` prefetches (an invocation emits ~15 events in a burst).
    static let prefetchSlots = 4
    /// The source directory.
    public let directory: String
    /// The options in force.
    public let options: EventLogOptions

    let ring: Mutex<RingState>
    let labelTable = Mutex(LabelTableState())
    let labelCount = Atomic<Int>(0)
    let wake = DispatchSemaphore(value: 0)
    let stopped = DispatchSemaphore(value: 0)
    let flushDone = FlushCompletion()
    let counters = WriterCounters()
    private let flusher: LogFlusher?
    /// Set for a log made by `EventLog.inMemory()`: events are kept here instead of written.
    let memory: MemoryStore?

    /// Opens (creating if needed) a source directory for writing, takes its lock, and starts
    /// a new segment. Sequence numbers carry on from the last event already in the directory.
    /// - Throws: `.locked` when another writer holds the directory (the message names it and
    ///   the holder's pid), `.io` when the directory cannot be created or written,
    ///   `.invalidArgument` for bad options.
    public init(directory: String, options: EventLogOptions = EventLogOptions()) throws {
        try options.validate()
        self.directory = directory
        self.options = options
        let flusher = try LogFlusher(directory: directory, options: options)
        self.flusher = flusher
        memory = nil
        ring = Mutex(RingState(capacity: options.bufferCapacity, nextSeq: flusher.nextSeq))
        flusher.start(log: self)
    }

    /// A log with no directory and no flusher: `emit` fills the buffer and a full buffer is
    /// moved into `memory` (on the slow path only, so `emit` is the same code as on disk).
    init(memory: MemoryStore, capacity: Int) {
        directory = ""
        options = EventLogOptions()
        flusher = nil
        self.memory = memory
        ring = Mutex(RingState(capacity: capacity, nextSeq: 1))
    }

    deinit {
        close()
        ring.withLock { $0.deallocate() }
    }

    /// Interns a label value once; emit with the returned handle. Thread-safe. Allocates on
    /// the first call for a value, so create handles up front, not per event.
    public func label(_ value: String) -> Label {
        labelTable.withLock { t in
            if let id = t.ids[value] { return Label(id: id) }
            let id = UInt32(t.strings.count)
            t.ids[value] = id
            t.strings.append(Array(value.utf8))
            labelCount.store(t.strings.count, ordering: .releasing)
            return Label(id: id)
        }
    }

    /// Emits an event stamped with the current time. Never blocks on I/O, never throws.
    @inline(__always)
    public func emit(_ event: Event) {
        emit(event, at: Sys.nowNs())
    }

    /// Emits an event with an explicit timestamp (nanoseconds since the Unix epoch), e.g. in
    /// simulated time.
    @inline(__always)
    public func emit(_ event: Event, at timestamp: UInt64) {
        append { seq in event.raw(seq: seq, timestamp: timestamp) }
    }

    /// Emits a decoded record (strings are interned on the way: allocates; for tools such as
    /// `orchlog ingest`, not for hot paths). Written as it is: an enumeration code this build
    /// does not know stays that code.
    public func emit(record: EventRecord) {
        emit(raw: record.raw(intern: label))
    }

    /// Emits an event already in the writer's layout (its label slots hold this log's label
    /// ids) at its own timestamp: the relay's path from parsed bytes, no record in between.
    @inline(__always)
    package func emit(raw: RawEvent) {
        append { seq in
            var r = raw
            r.seq = seq
            return r
        }
    }

    /// Puts the event `make` builds for the next sequence number into the buffer (or counts
    /// it dropped), and wakes the flusher when it should run.
    @inline(__always)
    private func append(_ make: (UInt64) -> RawEvent) {
        let wakeFlusher = ring.withLock { s -> Bool in
            guard !s.closed, s.count < s.capacity || memory?.take(&s) == true else {
                s.dropped &+= 1
                return false
            }
            let slot = s.active + s.count
            slot.initialize(to: make(s.nextSeq))
            // The slots after this one were last read by the flusher on another core: start
            // taking their lines now, so the next emits do not wait for them.
            // (perf in the overhead scenario: emit's share of the samples 0.74% → 0.51%,
            // BENCHMARKS.md.)
            if s.count &+ Self.prefetchSlots < s.capacity {
                let ahead = UnsafeRawPointer(slot + Self.prefetchSlots)
                orchlog_prefetch_for_write(ahead)
                orchlog_prefetch_for_write(ahead + 64)
            }
            s.nextSeq &+= 1
            s.count &+= 1
            if s.flusherIdle {
                // The flusher sleeps with nothing pending: the first event starts its clock.
                s.flusherIdle = false
                return true
            }
            return s.count == s.wakeAt
        }
        if wakeFlusher { wake.signal() }
    }

    /// Waits until every event emitted before the call is written to the segment file (and,
    /// with `durable`, fsynced), or the log is closed.
    public func flush(durable: Bool = false) {
        if let memory {
            ring.withLock { _ = memory.take(&$0) }
            return
        }
        let generation = ring.withLock { s -> UInt64 in
            s.flushRequested &+= 1
            if durable { s.syncRequested = true }
            return s.flushRequested
        }
        wake.signal()
        flushDone.wait(for: generation)
    }

    /// Flushes and syncs everything, stops the flusher, closes the segment and releases the
    /// directory lock. Events emitted afterwards are dropped and counted. Idempotent.
    public func close() {
        let first = ring.withLock { s -> Bool in
            let wasOpen = !s.closed
            s.closed = true
            return wasOpen
        }
        guard first else { return }
        if let memory {
            ring.withLock { _ = memory.take(&$0) }
            return
        }
        wake.signal()
        stopped.wait()
    }

    /// Counters for the writer's own health.
    public var stats: EventLogStats {
        let (next, pendingDrop) = ring.withLock { ($0.nextSeq, $0.dropped) }
        return EventLogStats(
            nextSequence: next,
            writtenThrough: counters.writtenThrough.load(ordering: .acquiring),
            durableThrough: counters.durableThrough.load(ordering: .acquiring),
            droppedBufferFull: counters.droppedBufferFull.load(ordering: .relaxed) + pendingDrop,
            droppedDiskFull: counters.droppedDiskFull.load(ordering: .relaxed),
            droppedIOError: counters.droppedIOError.load(ordering: .relaxed),
            blocksWritten: counters.blocks.load(ordering: .relaxed),
            bytesWritten: counters.bytes.load(ordering: .relaxed),
            segmentsCreated: counters.segments.load(ordering: .relaxed),
            flusherCPUNs: counters.flusherCPUNs.load(ordering: .relaxed),
            lastError: counters.lastError.withLock { $0 })
    }

    /// Events waiting in the buffer for the flusher (a producer that may block, such as a
    /// bulk importer, can wait while this is high instead of having events dropped).
    public var bufferedCount: Int { ring.withLock { $0.count } }

    /// The highest sequence number known to be on stable storage (0 when none yet).
    public var durableSequence: UInt64 { counters.durableThrough.load(ordering: .acquiring) }

    // MARK: flusher side

    /// Swaps the buffers: returns the filled one for the flusher to drain outside the lock.
    /// With `idle` (the flusher holds no events) and an empty buffer, the flusher is marked
    /// idle, so the next `emit` wakes it.
    func swapBuffers(idle: Bool = false) -> SwapResult {
        ring.withLock { s in
            s.flusherIdle = idle && s.count == 0 && !s.closed
            let filled = s.active
            let n = s.count
            s.active = s.standby
            s.standby = filled
            s.count = 0
            let dropped = s.dropped
            s.dropped = 0
            let sync = s.syncRequested
            s.syncRequested = false
            return SwapResult(events: UnsafeBufferPointer(start: filled, count: n), dropped: dropped,
                              closing: s.closed, flushGeneration: s.flushRequested, sync: sync, idle: s.flusherIdle)
        }
    }

    /// Emits a writer-internal event even while closing; false when the buffer is full.
    func emitInternal(_ event: Event) -> Bool {
        ring.withLock { s in
            guard s.count < s.capacity else { return false }
            (s.active + s.count).initialize(to: event.raw(seq: s.nextSeq, timestamp: Sys.nowNs()))
            s.nextSeq &+= 1
            s.count &+= 1
            return true
        }
    }

    /// Copies label strings the flusher has not seen yet.
    func refreshLabels(_ snapshot: inout LabelSnapshot) {
        guard labelCount.load(ordering: .acquiring) > snapshot.table.count else { return }
        labelTable.withLock { t in
            if t.strings.count > snapshot.table.count {
                snapshot.table.append(contentsOf: t.strings[snapshot.table.count...])
            }
        }
    }
}

/// A snapshot of an `EventLog`'s counters.
public struct EventLogStats: Sendable, Equatable {
    /// The sequence number the next event will get.
    public var nextSequence: UInt64
    /// The last sequence number written to a segment file (0: none yet).
    public var writtenThrough: UInt64
    /// The last sequence number fsynced (0: none yet).
    public var durableThrough: UInt64
    public var droppedBufferFull: UInt64
    public var droppedDiskFull: UInt64
    public var droppedIOError: UInt64
    public var blocksWritten: UInt64
    public var bytesWritten: UInt64
    public var segmentsCreated: UInt64
    /// CPU time the background flusher thread has used (encoding, zlib, writes, syncs), in
    /// nanoseconds: what the log costs besides the `emit` calls themselves.
    public var flusherCPUNs: UInt64
    /// The last write error, if any.
    public var lastError: String?

    /// All drops.
    public var dropped: UInt64 { droppedBufferFull + droppedDiskFull + droppedIOError }
}

/// The emit buffer (two halves, swapped by the flusher). Lives inside a `Mutex`.
struct RingState: ~Copyable {
    var active: UnsafeMutablePointer<RawEvent>
    var standby: UnsafeMutablePointer<RawEvent>
    let capacity: Int
    let wakeAt: Int
    var count = 0
    var nextSeq: UInt64
    var dropped: UInt64 = 0
    var closed = false
    var flushRequested: UInt64 = 0
    var syncRequested = false
    /// The flusher is asleep with nothing pending; the next `emit` must wake it.
    var flusherIdle = false

    init(capacity: Int, nextSeq: UInt64) {
        self.capacity = capacity
        wakeAt = max(1, capacity / 2)
        self.nextSeq = nextSeq
        // Not initialised: RawEvent is a trivial type, `emit` writes each slot before the
        // flusher reads it, and untouched pages cost nothing. Each swap starts the buffer over
        // at slot 0, so a source that emits less than the buffer holds between flushes only
        // ever touches its first pages (at 14,000 events/s and 100 ms blocks, about 130 KiB
        // of the 2 × 6 MiB by default) — they stay in cache, and start-up does not fault in
        // 12 MiB (about 40 ms of system CPU on this VM).
        precondition(_isPOD(RawEvent.self), "RawEvent must stay a trivial type")
        active = .allocate(capacity: capacity)
        standby = .allocate(capacity: capacity)
    }

    func deallocate() {
        active.deallocate()
        standby.deallocate()
    }
}

/// What the flusher got from a buffer swap.
struct SwapResult {
    // The standby half: only the flusher reads it until the next swap.
    let events: UnsafeBufferPointer<RawEvent>
    let dropped: UInt64
    let closing: Bool
    let flushGeneration: UInt64
    let sync: Bool
    /// The buffer was empty and the flusher holds nothing: `emit` will wake it.
    let idle: Bool
}

/// The writer-wide label table.
struct LabelTableState {
    var ids: [String: UInt32] = [:]
    var strings: [[UInt8]] = []
}

/// Atomics the flusher updates and `stats` reads.
final class WriterCounters: Sendable {
    let writtenThrough = Atomic<UInt64>(0)
    let durableThrough = Atomic<UInt64>(0)
    let droppedBufferFull = Atomic<UInt64>(0)
    let droppedDiskFull = Atomic<UInt64>(0)
    let droppedIOError = Atomic<UInt64>(0)
    let blocks = Atomic<UInt64>(0)
    let bytes = Atomic<UInt64>(0)
    let segments = Atomic<UInt64>(0)
    let flusherCPUNs = Atomic<UInt64>(0)
    let lastError = Mutex<String?>(nil)

    func addDropped(_ n: UInt64, _ reason: DropReason) {
        switch reason {
        case .bufferFull: droppedBufferFull.add(n, ordering: .relaxed)
        case .diskFull: droppedDiskFull.add(n, ordering: .relaxed)
        case .ioError: droppedIOError.add(n, ordering: .relaxed)
        case .clientDropped, .invalidEvent, .sourceLimit, .unreadableDatagram:
            // Not the writer's own: clients and the relay report these as events.
            break
        }
    }
}

/// Lets `flush()` callers wait for the flusher to finish a generation.
final class FlushCompletion: Sendable {
    private let state = Mutex<(done: UInt64, stopped: Bool)>((0, false))
    private let condition = NSCondition()

    func wait(for generation: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let (done, stopped) = state.withLock { ($0.done, $0.stopped) }
            if done >= generation || stopped { return }
            condition.wait()
        }
    }

    func complete(_ generation: UInt64, stopped: Bool = false) {
        condition.lock()
        state.withLock {
            $0.done = max($0.done, generation)
            if stopped { $0.stopped = true }
        }
        condition.broadcast()
        condition.unlock()
    }
}
