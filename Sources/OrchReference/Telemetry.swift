import Foundation
import OrchLog

/// The orchestrator's side of the event log: stamps events with simulated time (the
/// simulation's epoch plus the scheduler clock), keeps label handles, and — because a
/// simulation at full speed produces events faster than any real system — waits for the
/// flusher when the log's buffer runs high instead of letting events be dropped.
/// With no log (`log == nil`) every call is a no-op: that is the uninstrumented baseline.
final class Telemetry {
    let log: EventLog?
    let scheduler: Scheduler
    /// Unix time (ns) of simulated time 0.
    let epochNs: UInt64
    private var sinceCheck = 0
    private let highWater: Int
    private var labels: [String: Label] = [:]
    /// Events emitted.
    private(set) var emitted: UInt64 = 0

    init(log: EventLog?, scheduler: Scheduler, epochNs: UInt64) {
        self.log = log
        self.scheduler = scheduler
        self.epochNs = epochNs
        highWater = max(8, (log?.options.bufferCapacity ?? 65_536) * 3 / 4)
    }

    /// Interns a label (cached, so repeated calls do not touch the log's table).
    func label(_ value: String) -> Label {
        if let l = labels[value] { return l }
        let l = log?.label(value) ?? Label(id: UInt32(labels.count))
        labels[value] = l
        return l
    }

    /// The trace id of invocation `invocation` (`TraceID.make`): a value, not a label, so one
    /// per invocation grows no table of the log's.
    func traceID(seed: UInt64, invocation: UInt64) -> TraceID {
        TraceID.make(seed: seed, invocation: invocation)
    }

    /// The Unix time (ns) of simulated time `t`.
    func timestamp(_ t: UInt64) -> UInt64 { epochNs &+ t }

    /// Emits `event` at the current simulated time.
    @inline(__always)
    func emit(_ event: Event) {
        guard let log else { return }
        log.emit(event, at: epochNs &+ scheduler.now)
        emitted &+= 1
        sinceCheck &+= 1
        if sinceCheck >= 256 { throttle(log) }
    }

    @inline(never)
    private func throttle(_ log: EventLog) {
        sinceCheck = 0
        // The flusher is woken at half capacity; past three quarters it has fallen behind,
        // so wait for it to write what is buffered.
        if log.bufferedCount > highWater { log.flush() }
    }
}
