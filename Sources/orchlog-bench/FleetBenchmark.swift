import Foundation
import OrchLog

/// `fleet`: one service run as many worker processes — `instances` source directories
/// `ROOT/checkout/pod-N/` of the generate mix (2,000 events each, seed N) — read by
/// `orchlog-collector --log.dir ROOT --once`, against issue 21's targets: at most 1 s, 100 MB
/// peak RSS and 2 MB of exposition for 1,000 instances. The series per source of one
/// directory of the mix is reported beside it.
struct FleetBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "fleet")
        let collector = try ChildProcess.sibling("orchlog-collector")
        let dir = try TempDirectory("fleet", under: config.baseDirectory)
        defer { dir.remove() }
        let instances = config.fleetInstances, events = config.fleetEventsPerInstance
        for i in 0..<instances {
            let corpus = EventCorpus(count: events, seed: UInt64(i + 1))
            let log = try Self.instanceLog(dir, i, corpus)
            LogFiller.fill(log, corpus.events)
            log.close()
        }
        var seconds: [Double] = [], cpu: [Double] = [], rss: [Double] = [], bytes: [Double] = [], series: [Double] = []
        let out = dir.sub("exposition.txt")
        for run in 0..<(1 + config.fleetRuns) {
            let start = Clock.nowNs()
            let child = try ChildProcess.spawn(collector, ["--log.dir", dir.sub("root"), "--once"], stdout: out)
            let usage = try child.waitUsage()
            let wall = Clock.seconds(since: start)
            let text = try String(contentsOfFile: out, encoding: .utf8)
            guard text.contains("orch_invocations_total{source=\"checkout\"") else {
                throw BenchError("the collector's exposition has no checkout series")
            }
            guard run > 0 else { continue }  // warm-up: the page cache
            seconds.append(wall)
            cpu.append(usage.cpuSeconds)
            rss.append(usage.peakRSSBytes)
            bytes.append(Double(text.utf8.count))
            series.append(Double(Self.series(text)))
        }
        result.add(Figure("fleet_once_seconds", "s", seconds, target: .atMost(1),
                          note: "\(instances) instance directories of one service, \(events) events each: --once, start to exit"))
        result.add(Figure("fleet_once_cpu_seconds", "s", cpu, note: "the collector's CPU time (user + system) for the same runs"))
        result.add(Figure("fleet_once_peak_rss_bytes", "bytes", rss, target: .atMost(Double(100 << 20))))
        result.add(Figure("fleet_exposition_bytes", "bytes", bytes, target: .atMost(Double(2 << 20))))
        result.add(Figure("fleet_series", "series", series, note: "every sample line of the exposition (orch_*, gen_ai_*, orchlog_collector_*, process_*)"))
        // One directory alone: the series one source of the mix has.
        let one = dir.sub("one")
        let child = try ChildProcess.spawn(collector, ["--log.dir", dir.sub("root/checkout/pod-0"), "--once"], stdout: one)
        _ = try child.waitUsage()
        let text = try String(contentsOfFile: one, encoding: .utf8)
        result.add(Figure("series_per_source_generate_mix", "series", [Double(Self.series(text, prefixes: ["orch_", "gen_ai_"]))],
                          note: "orch_* and gen_ai_* sample lines of one source of \(events) events of the generate mix"))
        result.note("\(instances * events) events in \(instances) directories, fsync never, files in the page cache; the collector at its defaults")
        return result
    }

    /// Instance `i`'s log, `ROOT/checkout/pod-i/` under `dir` (fsync never), with `corpus`'s
    /// labels interned.
    static func instanceLog(_ dir: TempDirectory, _ i: Int, _ corpus: EventCorpus) throws -> EventLog {
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: dir.sub("root/checkout/pod-\(i)"), options: options)
        try corpus.prepare(log)
        return log
    }

    /// Sample lines of an exposition (of families starting with one of `prefixes`, if given).
    static func series(_ text: String, prefixes: [String] = []) -> Int {
        text.split(separator: "\n").reduce(0) { n, line in
            guard !line.hasPrefix("#") else { return n }
            return prefixes.isEmpty || prefixes.contains(where: { line.hasPrefix($0) }) ? n + 1 : n
        }
    }
}
