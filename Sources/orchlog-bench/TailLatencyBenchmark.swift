import Foundation
import Glibc
import OrchLog
import Synchronization

/// `tail-latency`: how long after `emit` an event is visible to a follower, with default
/// writer settings (64 KiB blocks, 100 ms flush age). The follower works as `orchlog tail -f`
/// does: a `DirectoryWatcher` (inotify, 250 ms timeout) and `SourceReader.poll`. Latency is
/// the follower's clock when the event is delivered minus the event's emit timestamp.
struct TailLatencyBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "tail-latency")
        var p50: [Double] = [], p99: [Double] = [], maxima: [Double] = []
        var samples = 0
        var bytes: [Double] = []
        for _ in 0..<config.tailRuns {
            let (latencies, bytesPerEvent) = try runOnce()
            bytes.append(bytesPerEvent)
            guard !latencies.isEmpty else { throw BenchError("the follower saw no events") }
            let sorted = latencies.sorted()
            p50.append(Stats.percentile(sorted, 0.50))
            p99.append(Stats.percentile(sorted, 0.99))
            maxima.append(sorted.last!)
            samples += sorted.count
        }
        result.add(Figure("p50_ms", "ms", p50))
        result.add(Figure("p99_ms", "ms", p99, target: .atMost(300)))
        result.add(Figure("max_ms", "ms", maxima))
        result.add(Figure("bytes_per_event_on_disk", "bytes", bytes,
                          note: "at this rate blocks are cut by the 100 ms flush age (~\(Int(config.tailEventsPerSecond / 10)) events each), not by size"))
        result.note("\(Int(config.tailEventsPerSecond)) events/s of the generate mix for \(config.tailSeconds) s per run, \(samples) events seen in all; spread is over runs")
        return result
    }

    /// One run; returns each event's latency in ms, and the log's bytes per event on disk.
    private func runOnce() throws -> ([Double], Double) {
        let dir = try TempDirectory("tail", under: config.baseDirectory)
        defer { dir.remove() }
        let path = dir.sub("bench")
        let log = try EventLog(directory: path)
        let total = Int(config.tailEventsPerSecond * config.tailSeconds)
        let corpus = EventCorpus(count: total)
        try corpus.prepare(log)

        let follower = TailFollower(path: path, expected: total)
        let thread = Thread { follower.follow() }
        thread.start()

        // Emit in 1 ms ticks at the configured rate.
        let start = Clock.nowNs()
        var next = 0
        while next < total {
            let due = min(total, Int(Double(Clock.nowNs() - start) / 1e9 * config.tailEventsPerSecond) + 1)
            while next < due {
                log.emit(corpus.events[next])
                next += 1
            }
            usleep(1000)
        }
        // Give the follower time to see the rest (the flush age bounds it), then stop.
        let deadline = Clock.nowNs() + 3_000_000_000
        while follower.seen < total && Clock.nowNs() < deadline { usleep(10_000) }
        follower.stop()
        follower.finished.wait()
        log.close()
        if let error = follower.error { throw error }
        return (follower.latencies, Double(try OrchLogDirectory.segmentBytes(path)) / Double(total))
    }
}
