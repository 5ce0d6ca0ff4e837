import COrchSys
import Glibc
import Synchronization

/// An `EventLog`'s emit buffers: one `EmitStripe` per emitting thread, the flags `emit` reads
/// (closed, flusher idle), and sequence numbering.
///
/// Sequence numbers are assigned when the consumer takes events out (`drain`), not when they
/// are emitted: the events of one pass are merged by timestamp (each stripe's own order kept:
/// one thread's events stay in the order it emitted them) and numbered on from the last, so
/// every block holds consecutive numbers and every reader sees them strictly increasing in
/// file order — what the collector's checkpoint (the last sequence number it counted), a new
/// writer's start (the last complete frame + 1) and torn-tail repair rely on. `emit` touches
/// no shared counter, so threads on different cores do not contend for a cache line.
///
/// The pairings with `emit` (which stores, then loads, with no CPU fence): `close` and going
/// idle store a flag and then call `membarrier(2)`, which puts a full barrier in every running
/// thread of the process, before they read the stripes. Where the kernel refuses membarrier,
/// `fenced` makes `emit` issue the fence itself.
final class StripeRegistry: Sendable {
    /// The log is closed: `emit` drops (and counts) from here on.
    let closed = Atomic<Bool>(false)
    /// `seal` is done: no thread is inside `emit` any more, so a drain takes the last events.
    let sealed = Atomic<Bool>(false)
    /// The flusher sleeps with nothing pending: the next `emit` must wake it.
    let idle = Atomic<Bool>(false)
    /// `emit` must fence between setting `busy` and reading `closed`: true until the flusher
    /// thread has registered the process for membarrier (registration waits for an RCU grace
    /// period, 20–30 ms here, so it is not done on the thread that opens the log), and for good
    /// where the kernel refuses membarrier or the log has no flusher.
    let fenced = Atomic<Bool>(true)
    /// Slots per stripe.
    let capacity: Int
    let state: Mutex<RegistryState>
    /// Serialises the threads that share `sharedStripe` (no pthread key left in the process).
    let sharedLock = Mutex(())

    init(capacity: Int, nextSeq: UInt64) {
        self.capacity = capacity
        state = Mutex(RegistryState(nextSeq: nextSeq))
    }

    deinit {
        state.withLock { s in
            for p in s.stripes { EmitStripe.destroy(p) }
            s.stripes.removeAll()
            s.free.removeAll()
        }
    }

    /// A stripe for a thread that has none: one a finished thread handed back, or a new one.
    func acquire() -> Stripe {
        state.withLock { s in
            if let p = s.free.popLast() { return p }
            let p = EmitStripe.make(capacity: s.buffersReleased ? 0 : capacity)
            s.stripes.append(p)
            return p
        }
    }

    /// The one stripe every thread shares under the lock when the process has no pthread key left.
    func sharedStripe() -> Stripe {
        state.withLock { s in
            if let p = s.shared { return p }
            let p = EmitStripe.make(capacity: s.buffersReleased ? 0 : capacity)
            s.stripes.append(p)
            s.shared = p
            return p
        }
    }

    /// A thread is done with its stripe (it exited): the next new thread may take it over.
    func release(_ p: Stripe) {
        state.withLock { $0.free.append(p) }
    }

    /// The full barrier that pairs with `emit`'s store-then-load.
    /// It waits for the process' registration if another thread is making it (so it never
    /// misses an `emit` that already dropped its fence); after that it costs one syscall.
    func barrier() {
        if Membarrier.register() { Membarrier.everyThread() } else { atomicMemoryFence(ordering: .sequentiallyConsistent) }
    }

    /// On the flusher thread: registers for membarrier, then lets `emit` drop its fence.
    func useMembarrier() {
        if Membarrier.register() { fenced.store(false, ordering: .releasing) }
    }

    /// Marks the log closed and waits until no thread is inside `emit`: every event published
    /// from here on was published before, and every later `emit` is counted dropped. False when
    /// it was already closed.
    func seal() -> Bool {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return false }
        barrier()
        let stripes = state.withLock { $0.stripes }
        for p in stripes {
            while p.pointee.busy.load(ordering: .acquiring) { sched_yield() }
        }
        sealed.store(true, ordering: .releasing)
        return true
    }

    /// Events emitted so far and not yet taken out.
    var pendingCount: Int {
        state.withLock { s in
            s.stripes.reduce(0) { $0 &+ ($1.pointee.tail.load(ordering: .acquiring) &- $1.pointee.head.load(ordering: .acquiring)) }
        }
    }

    /// The sequence number the next event will get (pending events counted), and all drops
    /// `emit` counted.
    var counts: (nextSeq: UInt64, dropped: UInt64) {
        state.withLock { s in
            var pending: UInt64 = 0
            var dropped: UInt64 = 0
            for p in s.stripes {
                pending &+= UInt64(p.pointee.tail.load(ordering: .acquiring) &- p.pointee.head.load(ordering: .acquiring))
                dropped &+= p.pointee.dropped.load(ordering: .relaxed)
            }
            return (s.nextSeq &+ pending, dropped)
        }
    }

    /// Numbers events the consumer adds itself (the writer's `events_dropped` records): they
    /// take the next sequence numbers. Consumer only.
    func number(_ events: UnsafeMutableBufferPointer<RawEvent>) {
        state.withLock { s in
            for i in events.indices {
                events[i].seq = s.nextSeq
                s.nextSeq &+= 1
            }
        }
    }

    /// Marks the flusher idle, so that the next `emit` wakes it, when no stripe holds an event.
    /// Returns true when it did (and nothing is pending); false, flag cleared, otherwise.
    /// Consumer only.
    func goIdle() -> Bool {
        idle.store(true, ordering: .sequentiallyConsistent)
        barrier()
        let stripes = state.withLock { $0.stripes }
        for p in stripes where p.pointee.tail.load(ordering: .acquiring) != p.pointee.head.load(ordering: .relaxed) {
            // Something is pending: stay awake (an emit may already have taken the flag and
            // signalled; that costs one early wake-up).
            idle.store(false, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Takes every event published so far: merged by timestamp across stripes, numbered on
    /// from the last sequence number, handed to `body` in order (one or two contiguous pieces,
    /// each with the sequence number of its first event: the events' own `seq` fields are not
    /// set, the consumer numbers them as it copies), and their slots freed after `body` returns. Returns the events taken and the drops
    /// counted since the last drain. Consumer only (the flusher, or an in-memory log's reader
    /// under its lock).
    func drain(_ scratch: inout DrainScratch, _ body: (UnsafeBufferPointer<RawEvent>, UInt64) -> Void) -> (events: Int, dropped: UInt64) {
        let firstSeq = state.withLock { s -> UInt64 in
            scratch.stripes.removeAll(keepingCapacity: true)
            scratch.stripes.append(contentsOf: s.stripes)
            return s.nextSeq
        }
        scratch.cursors.removeAll(keepingCapacity: true)
        var total = 0
        var dropped: UInt64 = 0
        for p in scratch.stripes {
            let d = p.pointee.dropped.load(ordering: .relaxed)
            let seen = p.pointee.droppedSeen.load(ordering: .relaxed)
            if d != seen {
                dropped &+= d &- seen
                p.pointee.droppedSeen.store(d, ordering: .relaxed)
            }
            let tail = p.pointee.tail.load(ordering: .acquiring)
            let head = p.pointee.head.load(ordering: .relaxed)
            guard tail != head else { continue }
            let base = p.pointee.base.load(ordering: .relaxed)
            scratch.cursors.append(DrainCursor(stripe: p, head: head, tail: tail, slot: p.slotIndex(of: head, base: base)))
            total &+= tail &- head
        }
        guard total > 0 else { return (0, dropped) }
        if scratch.cursors.count == 1 {
            // One thread emitted: its events are already in order, straight from its ring.
            let c = scratch.cursors[0]
            let slots = c.stripe.pointee.slots
            let firstPiece = min(total, c.stripe.pointee.capacity &- c.slot)
            body(UnsafeBufferPointer(start: slots + c.slot, count: firstPiece), firstSeq)
            if total > firstPiece { body(UnsafeBufferPointer(start: slots, count: total &- firstPiece), firstSeq &+ UInt64(firstPiece)) }
        } else {
            scratch.merge(total: total)
            body(UnsafeBufferPointer(start: scratch.merged, count: total), firstSeq)
        }
        state.withLock { s in
            for c in scratch.cursors { c.stripe.pointee.head.store(c.tail, ordering: .releasing) }
            s.nextSeq &+= UInt64(total)
        }
        return (total, dropped)
    }

    /// Frees every stripe's slots once the log is closed and drained (`emit` checks `closed`
    /// before it touches them, and `seal` waited out the last one inside). The stripes stay:
    /// threads keep them in their caches and count drops in them.
    func releaseBuffers() {
        state.withLock { s in
            guard !s.buffersReleased else { return }
            s.buffersReleased = true
            for p in s.stripes { p.releaseSlots() }
        }
    }
}

/// What the registry's lock guards.
struct RegistryState {
    var stripes: [Stripe] = []
    /// Stripes whose thread exited, for the next new thread.
    var free: [Stripe] = []
    /// The sequence number the next drained event gets.
    var nextSeq: UInt64
    var buffersReleased = false
    /// `sharedStripe`.
    var shared: Stripe?

    init(nextSeq: UInt64) { self.nextSeq = nextSeq }
}

/// One stripe's pending events during a drain.
struct DrainCursor {
    let stripe: Stripe
    var head: Int
    let tail: Int
    var slot: Int
}

/// The consumer's reusable buffers for `StripeRegistry.drain` (no allocation in steady state).
struct DrainScratch: ~Copyable {
    var stripes: [Stripe] = []
    var cursors: [DrainCursor] = []
    private var live: [DrainCursor] = []
    private(set) var merged: UnsafeMutablePointer<RawEvent>
    private var mergedCapacity: Int

    init() {
        mergedCapacity = 1024
        merged = .allocate(capacity: mergedCapacity)
    }

    deinit { merged.deallocate() }

    /// Merges the cursors' events into `merged` by timestamp (ties: the stripe whose run is being taken), each
    /// stripe's own order kept.
    mutating func merge(total: Int) {
        if total > mergedCapacity {
            merged.deallocate()
            mergedCapacity = max(total, mergedCapacity * 2)
            merged = .allocate(capacity: mergedCapacity)
        }
        live.removeAll(keepingCapacity: true)
        live.append(contentsOf: cursors)
        var out = merged
        while !live.isEmpty {
            var best = 0
            var bestTs = live[0].stripe.pointee.slots[live[0].slot].timestamp
            var limit = UInt64.max
            for i in 1..<live.count {
                let ts = live[i].stripe.pointee.slots[live[i].slot].timestamp
                if ts < bestTs {
                    limit = bestTs
                    best = i
                    bestTs = ts
                } else if ts < limit {
                    limit = ts
                }
            }
            // Take the chosen stripe's run of events up to the next-best head's timestamp.
            var c = live[best]
            let slots = c.stripe.pointee.slots
            let capacity = c.stripe.pointee.capacity
            repeat {
                out.initialize(to: slots[c.slot])
                out += 1
                c.head &+= 1
                c.slot &+= 1
                if c.slot == capacity { c.slot = 0 }
            } while c.head != c.tail && slots[c.slot].timestamp <= limit
            if c.head == c.tail { live.remove(at: best) } else { live[best] = c }
        }
    }
}

/// membarrier(2), registered once per process (by the first flusher thread).
enum Membarrier {
    private static let registration: Bool = orchlog_membarrier_register() == 0

    /// Registers the process (once; later calls return the first result).
    static func register() -> Bool { registration }

    /// A full memory barrier on every running thread of this process.
    static func everyThread() {
        if orchlog_membarrier() != 0 { atomicMemoryFence(ordering: .sequentiallyConsistent) }
    }
}
