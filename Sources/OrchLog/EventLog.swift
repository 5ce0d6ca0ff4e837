import COrchSys
import Dispatch
import Foundation
import Glibc
import Synchronization

/// The writer: what orchestrator components call. `emit` copies a fixed-size event into the
/// calling thread's own bounded buffer (an `EmitStripe`) and returns: it takes no lock, writes
/// no cache line another emitting thread writes, never blocks on I/O, never throws and never
/// allocates (after a thread's first emit). A background flusher thread merges the threads'
/// buffers, numbers the events, encodes blocks, compresses them and appends them to segment
/// files in the source directory.
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

    let stripes: StripeRegistry
    /// `stripes`' identity, compared with the thread's cached one on every emit.
    private let token: UInt
    private let threadKey: pthread_key_t?
    /// Flush and sync requests (`flush` callers and the flusher only; `emit` never takes it).
    let control = Mutex(ControlState())
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
        stripes = StripeRegistry(capacity: options.bufferCapacity, nextSeq: flusher.nextSeq)
        token = UInt(bitPattern: Unmanaged.passUnretained(stripes).toOpaque())
        threadKey = ThreadStripes.key
        flusher.start(log: self)
    }

    /// A log with no directory and no flusher: `emit` fills the thread's buffer and a full
    /// buffer is moved into `memory` (on the slow path only, so `emit` is the same code as on disk).
    init(memory: MemoryStore, capacity: Int) {
        directory = ""
        options = EventLogOptions()
        flusher = nil
        self.memory = memory
        stripes = StripeRegistry(capacity: capacity, nextSeq: 1)
        token = UInt(bitPattern: Unmanaged.passUnretained(stripes).toOpaque())
        threadKey = ThreadStripes.key
    }

    deinit {
        close()
    }

    /// Interns a label value once; emit with the returned handle. Thread-safe. Allocates on
    /// the first call for a value, so create handles up front, not per event. The table is
    /// never freed (the flusher keeps a copy): labels are for low-cardinality values (agents,
    /// tools, models, shards), never for one value per invocation — a trace id is a `TraceID`.
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

    /// Label values interned so far (`label(_:)`, and the strings `emit(record:)` interned):
    /// the writer-wide table that lives as long as the log.
    package var labelTableCount: Int { labelCount.load(ordering: .acquiring) }

    /// Emits an event stamped with the current time. Never blocks on I/O, never throws.
    ///
    /// The timestamp is the monotonic clock `emit` reads anyway for ordering, plus the offset
    /// between it and the wall clock (re-measured by the flusher on every pass): the Unix time
    /// of the call to within a few nanoseconds, from one clock read instead of two. A step of
    /// the wall clock (settimeofday, an NTP step) shows in timestamps from the flusher's next
    /// pass on; slewing moves both clocks alike.
    @inline(__always)
    public func emit(_ event: Event) {
        append { stamp, offset in event.raw(seq: stamp, timestamp: stamp &+ offset) }
    }

    /// Emits an event with an explicit timestamp (nanoseconds since the Unix epoch), e.g. in
    /// simulated time. The timestamp is stored as given; it does not decide the event's place
    /// in the log (what happened first does: see `StripeRegistry`).
    @inline(__always)
    public func emit(_ event: Event, at timestamp: UInt64) {
        append { stamp, _ in event.raw(seq: stamp, timestamp: timestamp) }
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
        append { stamp, _ in
            var r = raw
            r.seq = stamp
            return r
        }
    }

    /// The calling thread's stripe: the cached one when this thread's last emit was to this log.
    @inline(__always)
    private func currentStripe() -> Stripe? {
        guard let key = threadKey else { return nil }
        if let raw = pthread_getspecific(key) {
            let cache = raw.assumingMemoryBound(to: ThreadStripes.self)
            if cache.pointee.token == token, let stripe = cache.pointee.stripe { return stripe }
        }
        return stripeSlow(key)
    }

    @inline(never)
    private func stripeSlow(_ key: pthread_key_t) -> Stripe {
        ThreadStripes.stripe(of: stripes, token: token, key: key)
    }

    /// Puts the event `make` builds (given the stamp and the wall-clock offset) into the
    /// calling thread's stripe, or counts it dropped, and wakes the flusher when it should run.
    /// Sequence numbers are assigned when the flusher takes the events, in stamp order
    /// (`StripeRegistry` says why that follows happens-before).
    @inline(__always)
    private func append(_ make: (_ stamp: UInt64, _ offset: UInt64) -> RawEvent) {
        guard let stripe = currentStripe() else { return appendLocked(make) }
        let result = stamped(stripe, make)
        if result.pending == 0, memory != nil, result.flags & StripeRegistry.closedFlag == 0 {
            return appendAfterCollecting(stripe, make)
        }
        finish(stripe, result)
    }

    /// The protocol `StripeRegistry` relies on: odd `epoch`, full fence (see `fenceFlag`), then the clock read
    /// (the stamp) and the flags; the event published (or not: `pending` 0), then `epoch` even.
    @inline(__always)
    private func stamped(_ stripe: Stripe, _ make: (UInt64, UInt64) -> RawEvent) -> (pending: Int, flags: UInt, stamp: UInt64) {
        let before = stripes.flags.load(ordering: .relaxed)
        let epoch = stripe.pointee.epoch.load(ordering: .relaxed)
        stripe.pointee.epoch.store(epoch &+ 1, ordering: .relaxed)
        // The odd epoch before the clock read and the flags: a CPU fence, or — once the flusher
        // has registered for membarrier — program order only (the consumer's membarrier makes
        // it a fence when it needs one).
        if before & StripeRegistry.fenceFlag != 0 { atomicMemoryFence(ordering: .sequentiallyConsistent) } else { orchlog_compiler_barrier() }
        let stamp = Sys.monotonicNs()
        let flags = stripes.flags.load(ordering: .relaxed)
        var pending = 0
        if flags & StripeRegistry.closedFlag == 0 {
            let offset = stripes.realtimeOffset.load(ordering: .relaxed)
            pending = stripe.publish(stamp: stamp) { make(stamp, offset) }
        }
        stripe.pointee.epoch.store(epoch &+ 2, ordering: .releasing)
        return (pending, flags, stamp)
    }

    /// After `stamped`: counts a drop, waits out a coarse clock's tick, wakes the flusher.
    @inline(__always)
    private func finish(_ stripe: Stripe, _ r: (pending: Int, flags: UInt, stamp: UInt64)) {
        if r.pending == 0 { stripe.countDropped() }
        if r.flags & StripeRegistry.coarseClockFlag != 0 { StripeRegistry.waitForTick(after: r.stamp) }
        if r.pending == stripe.pointee.wakeAt {
            wake.signal()
        } else if r.flags & StripeRegistry.idleFlag != 0, stripes.takeIdle() {
            // The flusher sleeps with nothing pending: the first event starts its clock.
            wake.signal()
        }
    }

    /// An in-memory log's full buffer: moves every thread's events into the store (this
    /// thread is not mid-emit any more, so the drain need not wait for it), then emits again.
    @inline(never)
    private func appendAfterCollecting(_ stripe: Stripe, _ make: (UInt64, UInt64) -> RawEvent) {
        memory?.collect(self)
        finish(stripe, stamped(stripe, make))
    }

    /// `append` when the process has no thread-local key left: every thread shares one stripe
    /// under the registry's lock (correct, slower).
    @inline(never)
    private func appendLocked(_ make: (UInt64, UInt64) -> RawEvent) {
        let shared = stripes.sharedStripe()
        var result = stripes.sharedLock.withLock { _ in stamped(shared, make) }
        if result.pending == 0, memory != nil, result.flags & StripeRegistry.closedFlag == 0 {
            memory?.collect(self)
            result = stripes.sharedLock.withLock { _ in stamped(shared, make) }
        }
        finish(shared, result)
    }

    /// Waits until every event emitted before the call is written to the segment file (and,
    /// with `durable`, fsynced), or the log is closed.
    public func flush(durable: Bool = false) {
        if let memory {
            memory.collect(self)
            return
        }
        let generation = control.withLock { s -> UInt64 in
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
        guard stripes.seal() else { return }
        if let memory {
            memory.collect(self)
            stripes.releaseBuffers()
            return
        }
        wake.signal()
        stopped.wait()
    }

    /// Counters for the writer's own health.
    public var stats: EventLogStats {
        let (next, emitDropped) = stripes.counts
        return EventLogStats(
            nextSequence: next,
            writtenThrough: counters.writtenThrough.load(ordering: .acquiring),
            durableThrough: counters.durableThrough.load(ordering: .acquiring),
            droppedBufferFull: emitDropped,
            droppedDiskFull: counters.droppedDiskFull.load(ordering: .relaxed),
            droppedIOError: counters.droppedIOError.load(ordering: .relaxed),
            blocksWritten: counters.blocks.load(ordering: .relaxed),
            bytesWritten: counters.bytes.load(ordering: .relaxed),
            segmentsCreated: counters.segments.load(ordering: .relaxed),
            flusherCPUNs: counters.flusherCPUNs.load(ordering: .relaxed),
            lastError: counters.lastError.withLock { $0 })
    }

    /// Events waiting in the buffers for the flusher (a producer that may block, such as a
    /// bulk importer, can wait while this is high instead of having events dropped).
    public var bufferedCount: Int { stripes.pendingCount }

    /// The highest sequence number known to be on stable storage (0 when none yet).
    public var durableSequence: UInt64 { counters.durableThrough.load(ordering: .acquiring) }

    // MARK: flusher side

    /// Takes the flush and sync requests made so far.
    func takeRequests() -> (flushGeneration: UInt64, sync: Bool) {
        control.withLock { s in
            let sync = s.syncRequested
            s.syncRequested = false
            return (s.flushRequested, sync)
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

/// Flush and sync requests. Lives inside a `Mutex`.
struct ControlState {
    var flushRequested: UInt64 = 0
    var syncRequested = false
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

/// The writer-wide label table.
struct LabelTableState {
    var ids: [String: UInt32] = [:]
    var strings: [[UInt8]] = []
}

/// Atomics the flusher updates and `stats` reads.
final class WriterCounters: Sendable {
    let writtenThrough = Atomic<UInt64>(0)
    let durableThrough = Atomic<UInt64>(0)
    /// Buffer-full drops the flusher has seen (`stats` reads the stripes' own exact counts,
    /// which include drops not yet seen and emits after `close`).
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
