import Foundation
import Glibc
import OrchLog
import OrchReference

/// `fleet-live`: `instances` sources of one service (`ROOT/checkout/pod-N/`, one `EventLog`
/// each in this process) writing the generate mix at `rate` events/s each, followed by a live
/// `orchlog-collector`; every second its `/metrics` is fetched with curl and its
/// `/proc/PID` read. Against issue 21's targets for 1,000 × 10 events/s: the lag
/// (`orchlog_collector_lag_seconds`, the largest of the service's) p99 ≤ 1 s, the collector's CPU
/// ≤ 25% of one core, and its resident set flat (the slope of a least-squares line through the
/// samples after the first minute, or after the first third of a shorter run).
struct FleetLiveBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "fleet-live")
        let collectorPath = try ChildProcess.sibling("orchlog-collector")
        let dir = try TempDirectory("fleet-live", under: config.baseDirectory)
        defer { dir.remove() }
        let instances = config.fleetInstances, rate = config.fleetLiveEventsPerSecond
        let corpus = EventCorpus(count: 50_000)
        let logs = try (0..<instances).map { try FleetBenchmark.instanceLog(dir, $0, corpus) }
        let port = LiveBenchWorld.freePort()
        let collector = try ChildProcess.spawn(collectorPath, ["--log.dir", dir.sub("root"), "--web.listen-address", "127.0.0.1:\(port)"])
        defer { collector.terminate() }
        guard LiveBenchWorld.waitForListener(port) else { throw BenchError("the collector did not listen on \(port)") }

        // The writers: every 10 ms, each source's share of the events due by then.
        let stop = BlockingLock(false)
        let emitted = BlockingLock(0)
        let writer = Thread {
            let start = Clock.nowNs()
            var next = 0, sent = 0
            while !stop.withLock({ $0 }) {
                let due = Int(Double(Clock.nowNs() &- start) / 1e9 * rate * Double(instances))
                while sent < due {
                    logs[sent % instances].emit(corpus.events[next])
                    next = (next + 1) % corpus.events.count
                    sent += 1
                }
                emitted.withLock { $0 = sent }
                usleep(10_000)
            }
        }
        writer.start()

        var lags: [Double] = [], rss: [(Double, Double)] = []
        let seconds = config.fleetLiveSeconds
        let warm = min(60, seconds / 3)
        let begin = Clock.nowNs()
        var cpuAtWarm = 0.0, wallAtWarm = 0.0
        while Clock.seconds(since: begin) < seconds {
            usleep(1_000_000)
            let t = Clock.seconds(since: begin)
            let text = Self.fetch("http://127.0.0.1:\(port)/metrics")
            let lag = text.split(separator: "\n").filter { $0.hasPrefix("orchlog_collector_lag_seconds{") }
                .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.max()
            guard t >= warm else { continue }
            if cpuAtWarm == 0 {
                cpuAtWarm = Self.cpuSeconds(collector.pid)
                wallAtWarm = t
            }
            if let lag { lags.append(lag) }
            rss.append((t, Self.rssBytes(collector.pid)))
        }
        let cpu = (Self.cpuSeconds(collector.pid) - cpuAtWarm) / (Clock.seconds(since: begin) - wallAtWarm)
        stop.withLock { $0 = true }
        while !writer.isFinished { usleep(1_000) }
        for log in logs { log.close() }
        guard !lags.isEmpty else { throw BenchError("the collector reported no orchlog_collector_lag_seconds") }

        let sorted = lags.sorted()
        let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        result.add(Figure("fleet_live_lag_p99_seconds", "s", [p99], target: .atMost(1), zeroAllowed: true,
                          note: "the largest orchlog_collector_lag_seconds of the service, sampled every second (\(lags.count) samples)"))
        result.add(Figure("fleet_live_lag_seconds", "s", lags, zeroAllowed: true, note: "the same samples: median and spread"))
        result.add(Figure("fleet_live_cpu_share", "ratio", [cpu], target: .atMost(0.25), note: "the collector's CPU time over wall time, one core = 1"))
        result.add(Figure("fleet_live_rss_bytes", "bytes", rss.map { $0.1 }))
        result.add(Figure("fleet_live_rss_slope_bytes_per_minute", "bytes/min", [Self.slope(rss) * 60], zeroAllowed: true,
                          note: "least-squares slope of the resident set over the run after \(Int(warm)) s"))
        result.note("\(instances) sources × \(Int(rate)) events/s of the generate mix for \(Int(seconds)) s (\(emitted.withLock { $0 }) events), fsync never, default flush age; the writers (this process) and the collector share this machine's cores")
        return result
    }

    /// The body at `url` (empty when curl fails).
    static func fetch(_ url: String) -> String {
        let pipe = Pipe()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "--max-time", "5", url]
        p.standardOutput = pipe
        guard (try? p.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// User + system CPU seconds of `pid` so far (/proc/PID/stat).
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident bytes of `pid` now (/proc/PID/statm).
    static func rssBytes(_ pid: pid_t) -> Double {
        guard let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The least-squares slope of y over x.
    static func slope(_ points: [(Double, Double)]) -> Double {
        let n = Double(points.count)
        guard n > 1 else { return 0 }
        let mx = points.reduce(0) { $0 + $1.0 } / n, my = points.reduce(0) { $0 + $1.1 } / n
        let sxy = points.reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }, sxx = points.reduce(0) { $0 + ($1.0 - mx) * ($1.0 - mx) }
        return sxx == 0 ? 0 : sxy / sxx
    }
}
