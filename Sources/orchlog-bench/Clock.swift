import Glibc

/// Clocks for benchmarks: monotonic wall time and process CPU time.
enum Clock {
    /// Monotonic nanoseconds.
    @inline(__always)
    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Unix time in nanoseconds (what `EventLog.emit` stamps events with).
    static func realtimeNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// User + system CPU seconds of the whole process (all threads), from getrusage.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU nanoseconds of the calling thread (CLOCK_THREAD_CPUTIME_ID), the clock the
    /// writer's flusher reports its own CPU on (`EventLogStats.flusherCPUNs`).
    static func threadCPUNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds elapsed since `startNs` (a `nowNs()` reading).
    static func seconds(since startNs: UInt64) -> Double { Double(nowNs() &- startNs) / 1e9 }
}
