// Guide sections "Sampling", "Shutting down" and "Under overload" (docs/instrumenting.md).
import Dispatch
import OrchLog

// guide:begin sampler
/// Gauges (queue depth, busy workers, limiter state) come from samples: one timer for all.
final class Sampler {
    private let queue = DispatchQueue(label: "orchlog-sampler")
    private let timer: DispatchSourceTimer

    init(every seconds: Double, _ samplers: [@Sendable () -> Void]) {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: seconds)
        timer.setEventHandler { for sample in samplers { sample() } }
        timer.resume()
    }

    /// Stops the timer and waits for a sample in progress, so none lands after `close()`.
    func stop() {
        timer.cancel()
        queue.sync {}
    }
}
// guide:end sampler

// guide:begin shutdown
/// Clean shutdown, after the last component has emitted: flushes and fsyncs what is
/// buffered, closes the segment and releases the directory lock. Events emitted later are
/// dropped (and counted), so close the log last.
func shutDown(log: EventLog, sampler: Sampler) {
    sampler.stop()
    log.close()
    let stats = log.stats
    if stats.dropped > 0 {
        print("orchestrator: the event log dropped \(stats.dropped) events (\(stats.lastError ?? "buffer full"))")
    }
}
// guide:end shutdown

// guide:begin overload
/// The writer's own health, for the orchestrator's status page or its periodic log line.
func eventLogHealth(_ log: EventLog) -> String {
    let s = log.stats
    return "last_seq=\(s.nextSequence - 1) written=\(s.writtenThrough) durable=\(s.durableThrough) "
        + "dropped: buffer_full=\(s.droppedBufferFull) disk_full=\(s.droppedDiskFull) io_error=\(s.droppedIOError) "
        + "flusher_cpu_ms=\(s.flusherCPUNs / 1_000_000)"
}
// guide:end overload

// guide:begin overload-demo
/// What overload does, on purpose: a tiny buffer and a burst far faster than any disk.
func demonstrateOverload(root: String) throws -> EventLogStats {
    var options = EventLogOptions()
    options.bufferCapacity = 16
    let log = try EventLog(directory: root + "/overload-demo", options: options)
    let burst = log.label("burst")
    for depth in 0..<100_000 {
        log.emit(.queueSample(queue: burst, depth: UInt64(depth), capacity: 100_000))
    }
    log.close()
    return log.stats  // dropped > 0, and the log holds events_dropped events with the counts
}
// guide:end overload-demo
