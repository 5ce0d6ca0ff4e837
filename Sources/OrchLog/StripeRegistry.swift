import COrchSys
import Glibc
import Synchronization

/// An `EventLog`'s emit buffers: one `EmitStripe` per emitting thread, the flags `emit` reads
/// (closed, flusher idle, coarse clock), the offset that turns `emit`'s stamp into Unix time,
/// and sequence numbering.
///
/// ## Ordering (the contract, and why it holds)
///
/// Sequence numbers are assigned when the consumer takes events out (`drain`), in the order
/// of their *stamps*: the monotonic clock (`CLOCK_MONOTONIC`) read inside `emit` (never the
/// event's timestamp, which callers may set). Every reader sees them strictly increasing in
/// file order, and if `emit` e1 happens before `emit` e2 (any threads; a lock, an atomic, a
/// queue between them), e1 gets the smaller number. No emit writes a shared cache line.
///
/// * **Stamps follow happens-before.** The clock read behaves as a load of one global,
///   continuously increasing location (the vDSO orders `rdtsc` after earlier loads; the kernel
///   keeps CLOCK_MONOTONIC monotonic across CPUs), so e1 → e2 gives stamp(e1) ≤ stamp(e2).
///   Strictly less: between e1's read and e2's lies at least a whole back-to-back pair of
///   clock reads' worth of work plus the hand-over between threads, and at start-up
///   (`coarseClock`) the process checks that back-to-back reads always differ by ≥ 2 ns. Where
///   they do not (a coarse clocksource), `emit` instead waits, before it returns, until the
///   clock has moved past its stamp: then any later read — e2's — is larger.
/// * **One thread's events** sit in its stripe in emit order, with non-decreasing stamps; a
///   stripe handed to a new thread is handed under the registry's lock, after the old one's
///   last emit. The merge keeps each stripe's order and orders across stripes by
///   (stamp, stripe index).
/// * **A pass takes every event below its watermark, and only those.** The consumer reads the
///   clock (`W`) *before* it looks at any stripe (`orchlog_clock_fence` keeps later loads after
///   that read), then a full fence, then each stripe's `epoch` and `tail`. `emit` makes its
///   stripe's `epoch` odd, then a full fence, then reads the clock. Treating the clock as a
///   location (above), that is the store-buffering pattern with fences on both sides: if an
///   emit's stamp is below `W`, the consumer sees its odd `epoch` or something later — the
///   event published, or the emit still under way. An emit the consumer catches under way
///   (odd `epoch`) is waited for briefly; if it is still under way, the pass's watermark is
///   lowered to that stripe's newest published stamp (its pending emit's stamp is at least
///   that). The pass then takes exactly the events with stamp < watermark. So whatever is
///   left, or emitted later, has a stamp ≥ the watermark — larger than or equal to everything
///   taken — and equal stamps are never split across passes (strict <).
///
/// Together: if e1 → e2 and e2 is taken in some pass, stamp(e1) < stamp(e2) < watermark, so e1
/// was taken in that pass or before, and within a pass the merge puts it first.
///
/// The same fence in `emit` pairs with `close` (which stores `closed`, fences, then waits for
/// every `epoch` to be even) and with the flusher going idle (stores `idle`, fences, then
/// checks every stripe is empty and not mid-emit): either `emit` sees the flag, or the other
/// side sees the emit.
final class StripeRegistry: Sendable {
    /// `flags` bits.
    static let closedFlag: UInt = 1
    static let idleFlag: UInt = 2
    static let coarseClockFlag: UInt = 4
    /// `emit` must issue a CPU fence between its odd `epoch` and the clock read: until the
    /// flusher thread has registered the process for membarrier(2) (registering waits for an
    /// RCU grace period, 20–30 ms, so it is not done on the thread that opens the log), and for
    /// good where the kernel refuses membarrier or the log has no flusher. Once clear, the
    /// consumer side's `membarrier()` puts the fence into every running thread instead, and
    /// `emit` orders its stores and loads with a compiler barrier only: a fence in `emit` waits
    /// for the previous event's stores to reach the cache, and that was ~40% of emit's own time.
    static let fenceFlag: UInt = 8

    /// What `emit` reads after its fence: the log is closed (drop and count from here on), the
    /// flusher sleeps with nothing pending (wake it), the clock is coarse (wait for a tick).
    let flags: Atomic<UInt>
    /// Unix time minus the monotonic clock, in nanoseconds (wrapping): `emit(_:)` stamps the
    /// event's timestamp as its monotonic stamp plus this, so one clock read serves both. Kept
    /// by `calibrate`; it changes only when the wall clock is stepped.
    let realtimeOffset: Atomic<UInt64>
    /// `seal` is done: no thread is inside `emit` any more, so a drain takes the last events.
    let sealed = Atomic<Bool>(false)
    /// Slots per stripe.
    let capacity: Int
    let state: Mutex<RegistryState>
    /// Serialises the threads that share `sharedStripe` (no pthread key left in the process).
    let sharedLock = Mutex(())

    init(capacity: Int, nextSeq: UInt64) {
        self.capacity = capacity
        state = Mutex(RegistryState(nextSeq: nextSeq))
        flags = Atomic(Self.fenceFlag | (Self.coarseClock ? Self.coarseClockFlag : 0))
        realtimeOffset = Atomic(Self.measureRealtimeOffset())
    }

    deinit {
        state.withLock { s in
            for p in s.stripes { EmitStripe.destroy(p) }
            s.stripes.removeAll()
            s.free.removeAll()
        }
    }

    // MARK: clock

    /// True when two back-to-back reads of the monotonic clock can return values less than
    /// 2 ns apart (measured once per process): then `emit` waits for the clock to pass its
    /// stamp before it returns (see the type's notes). On TSC and kvm-clock they are ≥ 20 ns.
    static let coarseClock: Bool = {
        var previous = Sys.monotonicNs()
        for _ in 0..<2_000 {
            let now = Sys.monotonicNs()
            if now &- previous < 2 { return true }
            previous = now
        }
        return false
    }()

    /// Unix time minus monotonic time: from the tightest of a few (monotonic, real, monotonic)
    /// triples, to within half that triple's width (about 12 ns here).
    static func measureRealtimeOffset() -> UInt64 {
        var best: (width: UInt64, offset: UInt64) = (.max, 0)
        for _ in 0..<4 {
            let m1 = Sys.monotonicNs()
            let real = Sys.nowNs()
            let m2 = Sys.monotonicNs()
            let width = m2 &- m1
            if width < best.width { best = (width, real &- (m1 &+ width / 2)) }
        }
        return best.offset
    }

    /// Re-measures `realtimeOffset` and stores it when the wall clock was stepped by more than
    /// a microsecond (else it leaves the cache line alone). Consumer side, once per pass.
    func calibrate() {
        let measured = Self.measureRealtimeOffset()
        let current = realtimeOffset.load(ordering: .relaxed)
        let drift = measured &- current
        if drift > 1_000 && drift < UInt64.max - 1_000 { realtimeOffset.store(measured, ordering: .relaxed) }
    }

    /// Waits until the monotonic clock reads more than `stamp` (coarse clocks only).
    @inline(never)
    static func waitForTick(after stamp: UInt64) {
        while Sys.monotonicNs() <= stamp { orchlog_cpu_relax() }
    }

    // MARK: stripes

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

    /// On the flusher thread: registers the process for membarrier, then lets `emit` drop its fence.
    func useMembarrier() {
        if Membarrier.register() { flags.bitwiseAnd(~Self.fenceFlag, ordering: .releasing) }
    }

    /// The consumer's side of the pairing with `emit`'s fence, given a `flags` value read at or
    /// after the point that needs it: a membarrier once `emit` may run without its fence (the
    /// flag is cleared only after registration succeeded), a plain fence before.
    func pairingBarrier(_ seen: UInt) {
        if seen & Self.fenceFlag == 0 { Membarrier.everyThread() } else { atomicMemoryFence(ordering: .sequentiallyConsistent) }
    }

    /// Clears the idle flag; true when this call cleared it (the caller wakes the flusher).
    @inline(__always)
    func takeIdle() -> Bool {
        flags.bitwiseAnd(~Self.idleFlag, ordering: .acquiringAndReleasing).oldValue & Self.idleFlag != 0
    }

    /// Marks the log closed and waits until no thread is inside `emit`: every event published
    /// from here on was published before, and every later `emit` is counted dropped. False when
    /// it was already closed.
    func seal() -> Bool {
        let before = flags.bitwiseOr(Self.closedFlag, ordering: .sequentiallyConsistent).oldValue
        guard before & Self.closedFlag == 0 else { return false }
        // An emit that reads `flags` after this RMW sees `closed`; one that read it before
        // chose its fence by `before`'s fence bit, which decides the barrier here too.
        pairingBarrier(before)
        let stripes = state.withLock { $0.stripes }
        for p in stripes {
            while p.pointee.epoch.load(ordering: .acquiring) & 1 != 0 { sched_yield() }
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

    /// Marks the flusher idle, so that the next `emit` wakes it, when no stripe holds an event
    /// or is mid-emit. Returns true when it did; false, flag cleared, otherwise. Consumer only.
    func goIdle() -> Bool {
        pairingBarrier(flags.bitwiseOr(Self.idleFlag, ordering: .sequentiallyConsistent).oldValue)
        let stripes = state.withLock { $0.stripes }
        for p in stripes {
            let epoch = p.pointee.epoch.load(ordering: .acquiring)
            if epoch & 1 != 0 || p.pointee.tail.load(ordering: .acquiring) != p.pointee.head.load(ordering: .relaxed) {
                // Something is pending or on its way: stay awake (an emit may already have
                // taken the flag and signalled; that costs one early wake-up).
                flags.bitwiseAnd(~Self.idleFlag, ordering: .relaxed)
                return false
            }
        }
        return true
    }

    /// Takes every published event stamped below this pass's watermark (see the type's notes),
    /// merged across stripes by (stamp, stripe index), numbered on from the last sequence
    /// number, and hands them to `body` in order: one or two contiguous pieces, each with the
    /// sequence number of its first event (the events' own `seq` fields hold stamps; the
    /// consumer numbers them as it copies). Their slots are freed after `body` returns. With
    /// `everything` (the log is sealed: no emit is under way or can start) there is no
    /// watermark. Returns the events taken, the drops counted since the last drain, whether
    /// events were left for a later pass, and whether the pass was complete. Consumer only (the flusher, or an in-memory log's
    /// reader under its lock).
    func drain(_ scratch: inout DrainScratch, everything: Bool = false,
               _ body: (UnsafeBufferPointer<RawEvent>, UInt64) -> Void) -> DrainResult {
        // The watermark first, then (ordered after it) everything else.
        var watermark = everything ? UInt64.max : Sys.monotonicNs()
        orchlog_clock_fence()
        // The fence bit changes only on the flusher thread before its first drain (an in-memory
        // log's never changes), so this load decides as `emit` did.
        pairingBarrier(flags.load(ordering: .relaxed))
        let firstSeq = state.withLock { s -> UInt64 in
            scratch.stripes.removeAll(keepingCapacity: true)
            scratch.stripes.append(contentsOf: s.stripes)
            return s.nextSeq
        }
        scratch.cursors.removeAll(keepingCapacity: true)
        var dropped: UInt64 = 0
        var complete = true
        for (index, p) in scratch.stripes.enumerated() {
            // Caught mid-emit (tens of nanoseconds, unless the owner was preempted): wait a little.
            let epoch = everything ? 0 : p.pointee.epoch.load(ordering: .acquiring)
            let stuck = epoch & 1 != 0 && !Self.waitWhileUnderway(p, epoch: epoch)
            let d = p.pointee.dropped.load(ordering: .relaxed)
            let seen = p.pointee.droppedSeen.load(ordering: .relaxed)
            if d != seen {
                dropped &+= d &- seen
                p.pointee.droppedSeen.store(d, ordering: .relaxed)
            }
            let tail = p.pointee.tail.load(ordering: .acquiring)
            let head = p.pointee.head.load(ordering: .relaxed)
            let base = p.pointee.base.load(ordering: .relaxed)
            if tail != head {
                p.pointee.lastStamp = p.stamp(of: tail &- 1, base: base)
                scratch.cursors.append(DrainCursor(stripe: p, index: index, head: head, end: tail, slot: p.slotIndex(of: head, base: base), base: base))
            }
            // Still under way: its stamp is at least this stripe's newest published one.
            if stuck {
                watermark = min(watermark, p.pointee.lastStamp)
                complete = false
            }
        }
        // Each stripe's stamps do not decrease: its events below the watermark are a prefix.
        var total = 0
        var left = false
        for i in scratch.cursors.indices {
            var c = scratch.cursors[i]
            let tail = c.end
            if watermark != .max {
                while c.end != c.head && c.stripe.stamp(of: c.end &- 1, base: c.base) >= watermark { c.end &-= 1 }
            }
            if c.end != tail { left = true }
            total &+= c.end &- c.head
            scratch.cursors[i] = c
        }
        guard total > 0 else { return DrainResult(events: 0, dropped: dropped, left: left, complete: complete) }
        var only = -1
        for i in scratch.cursors.indices where scratch.cursors[i].end != scratch.cursors[i].head {
            only = only == -1 ? i : -2
        }
        if only >= 0 {
            // One thread's events: already in order, straight from its ring.
            let c = scratch.cursors[only]
            let slots = c.stripe.pointee.slots
            let n = c.end &- c.head
            let firstPiece = min(n, c.stripe.pointee.capacity &- c.slot)
            body(UnsafeBufferPointer(start: slots + c.slot, count: firstPiece), firstSeq)
            if n > firstPiece { body(UnsafeBufferPointer(start: slots, count: n &- firstPiece), firstSeq &+ UInt64(firstPiece)) }
        } else {
            scratch.merge(total: total)
            body(UnsafeBufferPointer(start: scratch.merged, count: total), firstSeq)
        }
        state.withLock { s in
            for c in scratch.cursors where c.end != c.head { c.stripe.pointee.head.store(c.end, ordering: .releasing) }
            s.nextSeq &+= UInt64(total)
        }
        return DrainResult(events: total, dropped: dropped, left: left, complete: complete)
    }

    /// Waits a little for the emit under way on `p` (`epoch`, odd) to finish: spins, then
    /// yields a few times. True when it finished (any later emit there is stamped after the
    /// watermark already read).
    private static func waitWhileUnderway(_ p: Stripe, epoch: UInt64) -> Bool {
        for attempt in 0..<80 {
            if p.pointee.epoch.load(ordering: .acquiring) != epoch { return true }
            if attempt < 64 { orchlog_cpu_relax() } else { sched_yield() }
        }
        return p.pointee.epoch.load(ordering: .acquiring) != epoch
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

/// What one `drain` did.
struct DrainResult {
    /// Events taken.
    let events: Int
    /// Drops `emit` counted since the last drain.
    let dropped: UInt64
    /// Published events were left for a later pass (stamped at or after the watermark).
    let left: Bool
    /// Every event stamped before the pass began was taken: no stripe was left mid-emit
    /// (false: the watermark was lowered to wait for one; a `flush()` is not done yet).
    let complete: Bool
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

/// One stripe's events a drain takes: positions `head..<end`, the first in `slot`.
struct DrainCursor {
    let stripe: Stripe
    /// The stripe's place in the registry: breaks ties between equal stamps.
    let index: Int
    var head: Int
    var end: Int
    var slot: Int
    let base: Int
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

    /// Merges the cursors' events into `merged` by (stamp, stripe index), each stripe's own
    /// order kept: repeatedly the stripe whose next event comes first gives its run of events
    /// up to the next-best stripe's next event.
    mutating func merge(total: Int) {
        if total > mergedCapacity {
            merged.deallocate()
            mergedCapacity = max(total, mergedCapacity * 2)
            merged = .allocate(capacity: mergedCapacity)
        }
        live.removeAll(keepingCapacity: true)
        for c in cursors where c.end != c.head { live.append(c) }
        var out = merged
        while !live.isEmpty {
            // live is in stripe-index order: on equal stamps the earlier entry wins.
            var best = 0
            var bestStamp = live[0].stripe.pointee.slots[live[0].slot].seq
            var limit = UInt64.max
            var limitIndex = Int.max
            for i in 1..<live.count {
                let s = live[i].stripe.pointee.slots[live[i].slot].seq
                if s < bestStamp {
                    limit = bestStamp
                    limitIndex = live[best].index
                    best = i
                    bestStamp = s
                } else if s < limit || (s == limit && live[i].index < limitIndex) {
                    limit = s
                    limitIndex = live[i].index
                }
            }
            // Take the chosen stripe's run while its next event still comes before (limit, limitIndex).
            var c = live[best]
            let slots = c.stripe.pointee.slots
            let capacity = c.stripe.pointee.capacity
            let tiesFirst = c.index < limitIndex
            repeat {
                out.initialize(to: slots[c.slot])
                out += 1
                c.head &+= 1
                c.slot &+= 1
                if c.slot == capacity { c.slot = 0 }
            } while c.head != c.end && (slots[c.slot].seq < limit || (tiesFirst && slots[c.slot].seq == limit))
            if c.head == c.end { live.remove(at: best) } else { live[best] = c }
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
