import Foundation
@testable import OrchCollector
import OrchLog
import OrchMetrics
import OrchTestSupport
import Testing

/// The status page's parts in process: the ring's bound, the indicators computed from known
/// samples, the sparkline's coordinates, and the HTML's escaping of what a user controls.
@Suite struct StatusPageTests {
    /// Samples every `step` seconds from t = 1000; `fill(i, &sample)` sets the counters of the i-th.
    static func samples(_ n: Int, step: Double = 10, _ fill: (Int, inout StatusSample) -> Void) -> [StatusSample] {
        (0..<n).map { i in
            var s = StatusSample(time: 1000 + Double(i) * step)
            fill(i, &s)
            return s
        }
    }

    static func indicator(_ source: StatusReport.Source, _ key: String) -> StatusReport.Indicator {
        source.indicators.first { $0.key == key }!
    }

    @Test func ringKeepsTheLastCapacitySamplesInOrder() {
        var ring = StatusHistory.Ring(capacity: 90)
        for i in 0..<250 { ring.append(StatusSample(time: Double(i))) }
        #expect(ring.count == 90)
        #expect(ring.samples.map(\.time) == (160..<250).map(Double.init))
        #expect(ring.last?.time == 249)
    }

    @Test func historyKeepsAtMostMaxSourcesAndFreesTheSlotOfAGoneSource() {
        var history = StatusHistory(capacity: 4, maxSources: 2)
        let names = ["c", "a", "b"]
        for t in 0..<10 { history.record([:], sources: names, at: Double(t)) }
        #expect(history.rings.keys.sorted() == ["a", "b"])
        #expect(history.unsampledSources == 1)
        #expect(history.rings.values.allSatisfy { $0.count == 4 })
        // "a" goes: "c" takes its place, starting from an empty sample at the previous time.
        history.record([:], sources: ["b", "c"], at: 10, newSourcesSince: 9)
        #expect(history.rings.keys.sorted() == ["b", "c"])
        #expect(history.rings["c"]!.samples.map(\.time) == [9, 10])
        #expect(history.unsampledSources == 0)
    }

    @Test func indicatorsFromKnownSamples() {
        // 10 s apart: 20 writes each interval, 4 of them timing out from i = 5 on; 3 lost updates at i = 7.
        let history = Self.samples(10) { i, s in
            s.writes = Double(20 * i)
            s.writeTimeouts = Double(4 * max(0, i - 5))
            s.lostUpdates = i >= 7 ? 3 : 0
            s.invocations = Double(100 * i)
            s.successes = Double(100 * i)
            s.queueDepth = Double(i * 10)
            s.queueCapacity = 1000
            s.queueFill = Double(i * 10) / 1000
        }
        var now = history.last!
        now.time += 10
        now.writes += 20
        now.writeTimeouts += 4
        now.invocations += 100
        now.successes += 99
        let source = StatusReport.evaluate(name: "s", history: history, now: now, thresholds: .ruleDefaults)

        let timeouts = Self.indicator(source, "write_timeouts")
        // The window is the whole history (100 s < 5 m): 20 of 200 writes timed out.
        #expect(timeouts.value == 0.1)
        #expect(timeouts.severity == .critical)
        #expect(timeouts.text == "10%")
        #expect(timeouts.points.count == 10)
        #expect(timeouts.points == [0, 0, 0, 0, 0, 0.2, 0.2, 0.2, 0.2, 0.2])

        let lost = Self.indicator(source, "lost_updates")
        #expect(lost.value == 3)
        #expect(lost.severity == .critical)
        #expect(lost.points == [0, 0, 0, 0, 0, 0, 3, 0, 0, 0])

        // 1 failure in 1,000 invocations: burn 0.1, healthy.
        let success = Self.indicator(source, "success_rate")
        #expect(success.value == 0.999)
        #expect(success.severity == .ok)
        // The queue grows 1 item/s: over the rule's 0.1/s.
        let queue = Self.indicator(source, "queue")
        #expect(queue.severity == .warning)
        #expect(queue.reason.contains("growing"))
        // No LLM requests: no value, not flagged, no sparkline points.
        let llm = Self.indicator(source, "rate_limited")
        #expect(llm.value == nil)
        #expect(llm.severity == .ok)
        #expect(llm.points.allSatisfy { $0 == nil })
        #expect(source.severity == .critical)
    }

    @Test func successRateFlaggedByBurnRate() {
        func source(successes: Double) -> StatusReport.Source {
            let history = [StatusSample(time: 0)]
            var now = StatusSample(time: 60)
            now.invocations = 1000
            now.successes = successes
            return StatusReport.evaluate(name: "s", history: history, now: now, thresholds: .ruleDefaults)
        }
        // Burn (1 − ratio) / 0.01: 1.7 (the pilot's 98.3%) ok, 7 warning, 29 critical.
        #expect(Self.indicator(source(successes: 983), "success_rate").severity == .ok)
        #expect(Self.indicator(source(successes: 930), "success_rate").severity == .warning)
        #expect(Self.indicator(source(successes: 710), "success_rate").severity == .critical)
    }

    @Test func sparklineCoordinatesFromKnownPoints() {
        let segments = StatusPage.sparkSegments([0, 5, 10, nil, 10], threshold: nil, width: 120, height: 28)
        #expect(segments.count == 2)
        #expect(segments[0].map(\.x) == [0, 30, 60])
        #expect(segments[0].map(\.y) == [27, 14, 1])
        #expect(segments[1].map(\.x) == [120])
        #expect(segments[1].map(\.y) == [1])
        // The threshold sets the top when it is above every point.
        #expect(StatusPage.sparkSegments([0, 1], threshold: 2, width: 10, height: 28)[0].map(\.y) == [27, 14])

        let svg = StatusPage.sparkline([0, 5, 10, nil, 10], threshold: nil, label: "x")
        #expect(svg.contains("<polyline points=\"0.0,27.0 30.0,14.0 60.0,1.0\"/>"))
        #expect(svg.contains("<circle cx=\"120.0\" cy=\"1.0\""))
    }

    @Test func hostileSourceNamesAreEscapedEverywhere() {
        let hostile = "<script>alert(\"x\")</script>&'\"><img src=x onerror=alert(1)>"
        var now = StatusSample(time: 20)
        now.lostUpdates = 2
        let source = StatusReport.evaluate(name: hostile, history: [StatusSample(time: 10)], now: now, thresholds: .ruleDefaults)
        let report = StatusReport(time: 20, sampleInterval: 10, capacity: 90, sources: [source], unsampledSources: 0)
        let html = StatusPage.render(report, sources: [(name: hostile, path: "/logs/" + hostile, lastEventTs: 0, position: LogPosition())],
                                     version: "1<b>")
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("1<b>"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        // The attribute holds the whole name, with no quote left to end it early.
        let attribute = "data-source=\"" + StatusPage.escape(hostile) + "\""
        #expect(html.contains(attribute))
        #expect(StatusPage.escape(hostile).allSatisfy { $0 != "<" && $0 != ">" && $0 != "\"" && $0 != "'" })
        // The page still says what is wrong with that source.
        #expect(html.contains("data-indicator=\"lost_updates\" data-severity=\"critical\""))
    }

    @Test func samplesReadFromTheRegistryPerSource() throws {
        let registry = MetricRegistry()
        let catalog = try MetricCatalog(registry: registry)
        let c = catalog
        let series: [(MetricFamilyID, [String], Double)] = [
            (c.stateWrites, ["a", "shard-1", "committed"], 90),
            (c.stateWrites, ["a", "shard-1", "timeout"], 10),
            (c.stateWrites, ["a", "shard-2", "timeout"], 5),
            (c.stateWrites, ["b", "shard-1", "committed"], 7),
            (c.lostUpdates, ["a", "shard-1"], 3),
            (c.staleReads, ["a", "shard-2"], 2),
            (c.breakerState, ["a", "crm", "open"], 1),
            (c.breakerState, ["a", "crm", "closed"], 0),
            (c.breakerState, ["a", "search", "half_open"], 1),
            (c.breakerState, ["b", "crm", "closed"], 1),
            (c.queueDepth, ["a", "q1"], 50),
            (c.queueCapacity, ["a", "q1"], 100),
            (c.queueDepth, ["a", "q2"], 90),
            (c.queueCapacity, ["a", "q2"], 100),
            (c.llmRequests, ["b", "openai", "m", "k1", "rate_limited"], 4),
            (c.llmRequests, ["b", "openai", "m", "k1", "success"], 6),
        ]
        for (family, labels, value) in series { registry.set(try registry.series(family, labelValues: labels), value) }
        let samples = StatusSample.read(registry, catalog, at: 5)
        #expect(samples.keys.sorted() == ["a", "b"])
        let a = samples["a"]!, b = samples["b"]!
        #expect((a.writes, a.writeTimeouts, a.lostUpdates, a.openBreakers) == (105, 15, 5, 2))
        #expect((a.queueDepth, a.queueCapacity, a.queueFill) == (140, 200, 0.9))
        #expect((b.writes, b.openBreakers, b.llmRequests, b.rateLimited) == (7, 0, 10, 4))
    }
}

/// docs/status-page.md states what flags each indicator: generated from the code, kept equal by this test.
@Suite struct StatusPageDocTests {
    @Test func docsTableIsTheCodesThresholds() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/status-page.md"), encoding: .utf8)
        let table = StatusThresholds.ruleDefaults.referenceTable()
        #expect(doc.contains(table), "docs/status-page.md must contain this table:\n\(table)")
    }
}

/// The collector's sampling, in process: a real log, the ingest pass, samples at chosen times.
@Suite struct CollectorStatusTests {
    /// Writes `successes` successful and `failures` failed invocations into source `name` under `root`.
    static func write(_ root: String, _ name: String, successes: Int, failures: Int) throws {
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: root + "/" + name, options: options)
        defer { log.close() }
        let agent = log.label("support")
        for i in 0..<(successes + failures) {
            log.emit(.invocationFinished(agent: agent, outcome: i < successes ? .success : .failure, durationNs: 1_000_000,
                                         queueWaitNs: 0, invocationID: UInt64(i)))
        }
    }

    @Test func aSourceFirstSeenAfterTheBaselineCountsWhatItBrought() throws {
        let dir = TempDir("status-collector"); defer { dir.remove() }
        var options = CollectorOptions()
        options.logDirs = [dir.path]
        let collector = try Collector(options: options)
        collector.sampleStatus(now: 100)  // the baseline: no sources yet
        try Self.write(dir.path, "late", successes: 80, failures: 20)
        collector.ingestAll()
        collector.sampleStatus(now: 110)
        let report = collector.statusReport(now: 111)
        let source = try #require(report.sources.first { $0.name == "late" })
        let success = try #require(source.indicators.first { $0.key == "success_rate" })
        // Measured from the empty sample at the baseline's time: 80 of 100, burn 20: critical.
        #expect(success.value == 0.8)
        #expect(success.detail.hasPrefix("80 of 100 invocations"))
        #expect(success.severity == .critical)
        #expect(success.points == [0.8, nil])
        #expect(source.historySeconds == 11)
        // Skipped until the interval has passed, then taken.
        collector.sampleStatusIfDue(now: 115)
        #expect(collector.statusReport(now: 116).sources[0].indicators[0].points.count == 2)
        collector.sampleStatusIfDue(now: 120)
        #expect(collector.statusReport(now: 121).sources[0].indicators[0].points.count == 3)
        #expect(MemoryLayout<StatusSample>.stride == 104, "the documented sample size")
    }
}
