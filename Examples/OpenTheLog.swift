// Guide section "Open the log" (docs/instrumenting.md). The regions between
// `guide:begin` and `guide:end` are copied verbatim into the guide; a test checks it.
import Dispatch
import OrchLog

// guide:begin open
/// Opens this process's event log. One directory per writer process: its name becomes the
/// `source` label of every metric, so name it after the process (host and role, not a pid).
/// - Throws: `OrchLogError` — `.locked` when another process writes there, `.io` when the
///   directory cannot be created or written.
func openEventLog(root: String, processName: String) throws -> EventLog {
    var options = EventLogOptions()
    options.fsync = .interval(seconds: 1)  // the default: a power cut loses at most ~1 s
    options.bufferCapacity = 65_536        // events held between flusher passes (×2 buffers)
    options.retentionMaxBytes = 2 << 30    // keep the newest 2 GiB of segments…
    options.retentionMaxAgeNs = 7 * 24 * 3_600 * 1_000_000_000  // …and at most a week
    return try EventLog(directory: root + "/" + processName, options: options)
}
// guide:end open

// guide:begin clock
/// Durations come from the monotonic clock; `emit` stamps events with wall-clock time.
@inline(__always)
func monotonicNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
// guide:end clock
