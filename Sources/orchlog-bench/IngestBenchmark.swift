import Foundation
import OrchCollector
import OrchLog

/// `ingest`: the collector reading an existing log — `Collector.ingestAll()` (what
/// `orchlog-collector --once` does: read frames, check CRCs, inflate, decode, aggregate into
/// metric families) on a pre-generated log, against the issue's limit: reading the same segment
/// files and inflating every frame with Debian's zlib, nothing else; and, as a stricter goal,
/// the same with the decompressor the collector uses (libdeflate, about twice zlib's speed).
struct IngestBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "ingest")
        let n = config.ingestEvents
        let dir = try TempDirectory("ingest", under: config.baseDirectory)
        defer { dir.remove() }
        let root = dir.sub("logs")
        let source = root + "/bench"
        try writeLog(source, events: n)
        let segments = try OrchLogDirectory.segments(source)
        var scan = SegmentScan(codec: try LibdeflateCodec(level: 1))
        var zlibScan = SegmentScan(codec: try ZlibCodec(level: 1))

        var options = CollectorOptions()
        options.logDirs = [root]
        options.once = true
        // The same without the per-invocation accumulators (issue 19): their four families
        // dropped, so the invocation tracker is not run at all.
        var untracked = options
        untracked.metricsDrop = Self.perInvocationFamilies

        var rates: [Double] = [], limits: [Double] = [], ratios: [Double] = [], zlibLimits: [Double] = [], zlibRatios: [Double] = []
        var untrackedRates: [Double] = [], trackerCosts: [Double] = []
        for run in 0..<(config.ingestWarmup + config.ingestRuns) {
            let collector = try Collector(options: options)
            let start = Clock.nowNs()
            collector.ingestAll()
            let rate = Double(n) / Clock.seconds(since: start)
            if run == 0 { try check(collector, events: n) }
            let plain = try Collector(options: untracked)
            let plainStart = Clock.nowNs()
            plain.ingestAll()
            let untrackedRate = Double(n) / Clock.seconds(since: plainStart)

            let limit = try scan.eventsPerSecond(segments, expecting: n)
            let zlibLimit = try zlibScan.eventsPerSecond(segments, expecting: n)
            guard run >= config.ingestWarmup else { continue }
            rates.append(rate)
            limits.append(limit)
            ratios.append(rate / limit)
            zlibLimits.append(zlibLimit)
            zlibRatios.append(rate / zlibLimit)
            untrackedRates.append(untrackedRate)
            trackerCosts.append(untrackedRate / rate - 1)
        }
        result.add(Figure("collector_events_per_second", "events/s", rates, target: .atLeast(5_000_000),
                          note: "one ingest thread: Collector.ingestAll()"))
        result.add(Figure("read_inflate_events_per_second", "events/s", limits,
                          note: "the limit: read segment files + inflate every frame with libdeflate (as the collector does)"))
        result.add(Figure("ratio_to_read_inflate", "ratio", ratios, goal: .atLeast(0.70),
                          note: "collector ÷ libdeflate read + inflate (twice zlib's speed), paired runs"))
        result.add(Figure("read_zlib_inflate_events_per_second", "events/s", zlibLimits, note: "the same with Debian zlib's inflate"))
        result.add(Figure("ratio_to_read_zlib_inflate", "ratio", zlibRatios, target: .atLeast(0.70),
                          note: "collector ÷ zlib read + inflate (the issue's limit: inflate alone), paired runs"))
        result.add(Figure("collector_events_per_second_without_invocations", "events/s", untrackedRates,
                          note: "the same with the per-invocation families dropped (--metrics.drop \(Self.perInvocationFamilies.joined(separator: ","))): no tallies; the tracker still opens and closes invocations for the exemplars' trace ids"))
        result.add(Figure("invocation_tracking_cost", "ratio", trackerCosts, target: .atMost(0.15),
                          note: "ingest time with the per-invocation accumulators ÷ without, minus 1, paired runs (issue 19: at most 15%)"))
        result.note("\(n) events of the generate mix, \(segments.count) segment(s), written with default options (fsync never); files in the page cache")
        return result
    }

    /// The families fed by the invocation tracker.
    static let perInvocationFamilies = ["orch_invocation_llm_calls", "orch_invocation_tool_calls", "orch_invocation_tokens", "orch_invocation_cost_usd"]

    /// Writes the generate mix into `source`.
    private func writeLog(_ source: String, events: Int) throws {
        let corpus = EventCorpus(count: events)
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: source, options: options)
        try corpus.prepare(log)
        LogFiller.fill(log, corpus.events)
        log.close()
        guard log.stats.dropped == 0 else { throw BenchError("\(source): the writer dropped \(log.stats.dropped) events") }
    }

    /// The collector counted every event.
    private func check(_ collector: Collector, events: Int) throws {
        let text = String(decoding: collector.render(format: .prometheusText), as: UTF8.self)
        let wanted = "orchlog_collector_events_ingested_total{source=\"bench\"} \(events)"
        guard text.split(separator: "\n").contains(where: { $0 == wanted }) else {
            throw BenchError("the collector did not report \(wanted)")
        }
    }
}
