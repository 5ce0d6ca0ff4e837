import COrchSys
import Synchronization

/// One emitting thread's event buffer: a single-producer, single-consumer ring. Only its owner
/// thread writes events into it (so `emit` takes no lock and writes no cache line another
/// emitting thread writes); only the consumer (the flusher, or an in-memory log's reader under
/// its lock) takes them out. A thread that exits hands its stripe back to the registry, and
/// the next new thread takes it over, events still pending and all.
///
/// Each slot holds the event with its `seq` field set to the event's *stamp*: the monotonic
/// clock read inside `emit` (not the event's timestamp, which callers may set). The consumer
/// merges stripes by stamp and numbers the events as it takes them (`StripeRegistry`).
///
/// Positions count events ever published. The owner writes position `p` into slot
/// `p − base` (mod `capacity`), publishes it by storing `tail = p + 1` (release), and restarts
/// at slot 0 (`base = tail`) whenever it finds the consumer has taken everything: a source that
/// emits less than the ring holds between flusher passes only ever touches its first pages,
/// which stay in cache. The consumer reads `[head, tail)` and then stores `head` (release), so
/// the owner never overwrites a slot before it was read.
///
/// Laid out so that the owner's fields and the consumer's sit on different cache lines
/// (allocated 128-byte aligned; Swift keeps a struct's stored properties in declaration order).
struct EmitStripe: ~Copyable {
    // Written by the owner.
    /// Twice the emits begun on this stripe, plus one while an emit is under way: odd from
    /// before the owner reads the clock for the stamp until after it has published the event
    /// (or counted it dropped). The consumer's watermark never passes a stripe it catches odd.
    let epoch = Atomic<UInt64>(0)
    /// Events published (a position count).
    let tail = Atomic<Int>(0)
    /// The position slot 0 holds.
    let base = Atomic<Int>(0)
    /// Events this stripe's owners could not keep (buffer full, log closed), ever; only an owner
    /// writes it, so a plain load and store count it exactly.
    let dropped = Atomic<UInt64>(0)
    /// The ring (owner writes, consumer reads); freed, and `capacity` set to 0, once the log is
    /// closed and drained (`emit` reads neither after it sees the log closed).
    private(set) var slots: UnsafeMutablePointer<RawEvent>
    private(set) var capacity: Int
    /// The owner wakes the flusher when this many events are pending.
    let wakeAt: Int
    private let ownerPad: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    // Written by the consumer.
    /// Events taken out (a position count).
    let head = Atomic<Int>(0)
    /// `dropped` as the consumer last counted it.
    let droppedSeen = Atomic<UInt64>(0)
    /// The stamp of the newest event of this stripe the consumer has seen published (0: none):
    /// an emit under way on this stripe gets a stamp at least this large. Consumer only.
    var lastStamp: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
        wakeAt = max(1, capacity / 2)
        // Not initialised: RawEvent is a trivial type, the owner writes each slot before it
        // publishes it, and untouched pages cost nothing.
        precondition(_isPOD(RawEvent.self), "RawEvent must stay a trivial type")
        slots = .allocate(capacity: max(1, capacity))
    }

    /// A stripe in its own 128-byte-aligned memory (the adjacent-line prefetcher pairs lines).
    static func make(capacity: Int) -> Stripe {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<EmitStripe>.stride, alignment: 128)
        let p = raw.bindMemory(to: EmitStripe.self, capacity: 1)
        p.initialize(to: EmitStripe(capacity: capacity))
        return Stripe(pointer: p)
    }

    mutating func releaseSlots() {
        slots.deallocate()
        slots = .allocate(capacity: 1)
        capacity = 0
    }

    static func destroy(_ p: Stripe) {
        p.pointee.slots.deallocate()
        p.pointer.deinitialize(count: 1)
        UnsafeMutableRawPointer(p.pointer).deallocate()
    }
}

/// A stripe's address. `@unchecked Sendable`: the stripe's fields are atomics, or written by
/// one side of the protocol only (see `EmitStripe`), and a stripe lives until its registry ends.
struct Stripe: @unchecked Sendable, Equatable {
    let pointer: UnsafeMutablePointer<EmitStripe>

    var pointee: EmitStripe {
        unsafeAddress { UnsafePointer(pointer) }
        nonmutating unsafeMutableAddress { pointer }
    }

    func releaseSlots() { pointee.releaseSlots() }

    /// The owner's half of `emit`, between its odd and even `epoch` stores: writes the event
    /// `make` builds into the next slot, with `stamp` in its `seq` field, and publishes it.
    /// Returns the events pending after it, or 0 when the ring is full (the caller counts the drop).
    @inline(__always)
    func publish(stamp: UInt64, _ make: () -> RawEvent) -> Int {
        let tail = pointee.tail.load(ordering: .relaxed)
        let head = pointee.head.load(ordering: .acquiring)
        let capacity = pointee.capacity
        let pending = tail &- head
        if pending >= capacity { return 0 }
        var base = pointee.base.load(ordering: .relaxed)
        var index = tail &- base
        if pending == 0 {
            // Everything was taken: start over at slot 0, whose lines are likely still cached.
            if index != 0 {
                base = tail
                pointee.base.store(base, ordering: .relaxed)
                index = 0
            }
        } else if index == capacity {
            base &+= capacity
            pointee.base.store(base, ordering: .relaxed)
            index = 0
        }
        let slot = pointee.slots + index
        slot.initialize(to: make())
        slot.pointee.seq = stamp
        // The slots after this one were last read by the flusher on another core: start taking
        // their lines now, so the next emits do not wait for them.
        if index &+ EventLog.prefetchSlots < capacity {
            let ahead = UnsafeRawPointer(slot + EventLog.prefetchSlots)
            orchlog_prefetch_for_write(ahead)
            orchlog_prefetch_for_write(ahead + 64)
        }
        pointee.tail.store(tail &+ 1, ordering: .releasing)
        return pending &+ 1
    }

    /// The owner counts one event it could not keep.
    @inline(__always)
    func countDropped() {
        pointee.dropped.store(pointee.dropped.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// The slot of position `position`, which is pending (`head <= position < tail`), given
    /// `base` loaded after `tail`: the owner restarts at slot 0 only when nothing is pending,
    /// so since `position` was written `base` can only have moved on by one lap.
    @inline(__always)
    func slotIndex(of position: Int, base: Int) -> Int {
        var d = position &- base
        if d < 0 { d &+= pointee.capacity }
        return d
    }

    /// The stamp of pending position `position`.
    @inline(__always)
    func stamp(of position: Int, base: Int) -> UInt64 {
        pointee.slots[slotIndex(of: position, base: base)].seq
    }
}
