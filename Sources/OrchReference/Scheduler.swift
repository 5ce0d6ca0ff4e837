import Foundation

/// How simulated time maps to wall-clock time.
public enum Pacing: Sendable, Equatable {
    /// Run as fast as possible.
    case maxSpeed
    /// Simulated time runs `factor` times faster than wall-clock time (1: real time).
    case factor(Double)
}

/// The discrete-event core: a virtual clock and a priority queue of timed callbacks.
/// Components schedule continuations; `run` executes them in (time, scheduling order), so
/// a run is deterministic for a given seed. Single-threaded by design: every component of
/// one orchestrator lives on the thread that calls `run`.
public final class Scheduler {
    /// Nanoseconds since the start of the simulation.
    public private(set) var now: UInt64 = 0
    /// Callbacks executed so far.
    public private(set) var executed: UInt64 = 0

    /// A heap entry: plain data, so sifting never retains or releases. The callback sits
    /// in `actions[slot]`.
    private struct Entry {
        let time: UInt64
        let order: UInt64
        let slot: Int32

        @inline(__always)
        func before(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && order < other.order)
        }
    }

    private var heap: [Entry] = []
    private var actions: [(() -> Void)?] = []
    private var freeSlots: [Int32] = []
    private var nextOrder: UInt64 = 0

    public init() {
        heap.reserveCapacity(4096)
        actions.reserveCapacity(4096)
    }

    /// Callbacks waiting.
    public var pending: Int { heap.count }

    /// Runs `action` at simulated time `time` (clamped to now).
    public func schedule(at time: UInt64, _ action: @escaping () -> Void) {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            actions[Int(free)] = action
        } else {
            slot = Int32(actions.count)
            actions.append(action)
        }
        let entry = Entry(time: max(time, now), order: nextOrder, slot: slot)
        nextOrder &+= 1
        heap.append(entry)
        heap.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard entry.before(h[parent]) else { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = entry
        }
    }

    /// Runs `action` after `delay` nanoseconds of simulated time.
    public func schedule(after delay: UInt64, _ action: @escaping () -> Void) {
        schedule(at: now &+ delay, action)
    }

    /// Removes the earliest entry and returns its time and callback.
    private func popMin() -> (UInt64, () -> Void) {
        let top = heap[0]
        let last = heap.removeLast()
        heap.withUnsafeMutableBufferPointer { h in
            let n = h.count
            guard n > 0 else { return }
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var c = l
                if l + 1 < n && h[l + 1].before(h[l]) { c = l + 1 }
                guard h[c].before(last) else { break }
                h[i] = h[c]
                i = c
            }
            h[i] = last
        }
        let action = actions[Int(top.slot)].take()!
        freeSlots.append(top.slot)
        return (top.time, action)
    }

    /// Executes callbacks in time order until the next one lies past `end`, none are left,
    /// or `shouldStop` says so. With `.factor(K)` it sleeps so that simulated time advances
    /// K times faster than wall-clock time. `onProgress` is called about every 100 ms of wall
    /// time with the current simulated time. Leaves `now` at `end` (or where it stopped).
    /// - Returns: false when stopped early by `shouldStop`.
    @discardableResult
    public func run(until end: UInt64, pacing: Pacing = .maxSpeed,
                    shouldStop: () -> Bool = { false }, onProgress: (UInt64) -> Void = { _ in }) -> Bool {
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let simStart = now
        var lastProgress = wallStart
        var checks: UInt32 = 0
        let paced = pacing != .maxSpeed
        while let next = heap.first, next.time <= end {
            checks &+= 1
            if paced || checks & 1023 == 0 {
                let wall = DispatchTime.now().uptimeNanoseconds
                if wall &- lastProgress >= 100_000_000 {
                    lastProgress = wall
                    onProgress(now)
                    if shouldStop() { return false }
                }
            }
            if case .factor(let k) = pacing {
                // Sleep until the wall clock catches up with the next event, in slices so
                // progress and stop requests are seen.
                while true {
                    let target = wallStart &+ UInt64(Double(next.time &- simStart) / k)
                    let wall = DispatchTime.now().uptimeNanoseconds
                    if wall >= target { break }
                    let slice = min(target - wall, 100_000_000)
                    usleep(UInt32(max(1, slice / 1000)))
                    let after = DispatchTime.now().uptimeNanoseconds
                    if after &- lastProgress >= 100_000_000 {
                        lastProgress = after
                        now = max(now, simStart &+ UInt64(Double(after &- wallStart) * k))
                        now = min(now, next.time)
                        onProgress(now)
                        if shouldStop() { return false }
                    }
                }
            }
            let (time, action) = popMin()
            now = time
            executed &+= 1
            action()
        }
        if case .factor(let k) = pacing, end > now, end != .max {
            // Idle until the end of the simulated period.
            while true {
                let target = wallStart &+ UInt64(Double(end &- simStart) / k)
                let wall = DispatchTime.now().uptimeNanoseconds
                if wall >= target { break }
                usleep(UInt32(max(1, min(target - wall, 100_000_000) / 1000)))
                onProgress(min(end, simStart &+ UInt64(Double(DispatchTime.now().uptimeNanoseconds &- wallStart) * k)))
                if shouldStop() { return false }
            }
        }
        if end != .max { now = max(now, end) }
        return true
    }
}

/// Lets exactly one of several racing callbacks (a response and its timeout) win.
final class Once {
    private(set) var fired = false

    /// True the first time only.
    func claim() -> Bool {
        if fired { return false }
        fired = true
        return true
    }
}
