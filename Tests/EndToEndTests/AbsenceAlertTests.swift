import Foundation
import OrchTestSupport
import Testing

/// The absent-data alerts end to end, on Prometheus' own clock (nothing compressed): a real
/// Prometheus evaluates the rules `orchlog rules` renders (thresholds shortened to the
/// smallest whole minutes they take), scraping a real collector that follows real logs.
/// A source that stops writing fires `OrchSourceSilent` and one that keeps writing does not;
/// a collector that stops fires `OrchCollectorAbsent`, and not while it ran.
@Suite struct AbsenceAlertTests {
    /// The rules with the absence thresholds shortened (minutes are their unit).
    static func rules(_ dir: TempDir) throws -> String {
        let config = dir.sub("thresholds.yml")
        try """
        pipeline:
          source_silent:
            threshold: 2
          collector_absent:
            threshold: 1
            for: 10s

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try runTool("orchlog", ["rules", "--config", config, "--out", dir.sub("rules")])
        #expect(r.status == 0, "\(r.stderr)")
        return dir.sub("rules/orchlog.rules.yml")
    }

    /// The firing alerts named `name` now, by their `source` label ("" without one).
    static func firing(_ prometheus: PrometheusServer, _ name: String) throws -> Set<String> {
        Set(try prometheus.query("ALERTS{alertname=\"\(name)\",alertstate=\"firing\"}").map { $0.0["source"] ?? "" })
    }

    /// Polls every 2 s for up to `seconds` until `done` holds; the seconds it took, or nil.
    static func wait(_ seconds: Double, _ done: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if try done() { return Date().timeIntervalSince(start) }
            sleep(2)
        }
        return nil
    }

    @Test func aSourceThatStopsWritingIsSilentAndOneThatWritesIsNot() throws {
        let dir = TempDir("absence-source")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("root"), withIntermediateDirectories: true)
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        defer { collector.stop() }
        let prometheus = try PrometheusServer(targets: ["127.0.0.1:\(port)"], ruleFiles: [try Self.rules(dir)], dir: dir)
        defer { prometheus.stop() }
        // busy writes 20 events a second throughout; quiet writes for ~10 s, then stops.
        let busy = try Daemon(binaryPath("orchlog"), ["generate", "--out", dir.sub("root/busy"), "--rate", "20", "--events", "100000"],
                              dir: dir, name: "busy")
        defer { busy.stop() }
        let quiet = try runTool("orchlog", ["generate", "--out", dir.sub("root/quiet"), "--rate", "200", "--events", "2000"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        let ingested = try Self.wait(30) { try prometheus.query("orchlog_collector_events_ingested_total{source=\"quiet\"} > 1990").count > 0 }
        #expect(ingested != nil, "Prometheus never saw quiet's events")
        // Silent for two minutes at a one-minute resolution: it fires one to two minutes after
        // the last event, and not before a minute has passed.
        let after = try Self.wait(200) { try Self.firing(prometheus, "OrchSourceSilent").contains("quiet") }
        let firingNow = try Self.firing(prometheus, "OrchSourceSilent")
        let fired = try #require(after, "OrchSourceSilent never fired for quiet; firing: \(firingNow)")
        #expect(fired >= 50, "fired \(fired) s after quiet's last event was scraped: before a minute of silence")
        let ever = try prometheus.query("max_over_time(ALERTS{alertname=\"OrchSourceSilent\",alertstate=\"firing\"}[10m])").map { $0.0["source"] ?? "" }
        #expect(Set(ever) == ["quiet"], "only the silent source: \(ever)")
        #expect(busy.process.isRunning, "busy was writing all along")
    }

    @Test func aCollectorThatStopsIsAbsentAndNotWhileItRuns() throws {
        let dir = TempDir("absence-collector")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "2000"]).status == 0)
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        defer { collector.stop() }
        let prometheus = try PrometheusServer(targets: ["127.0.0.1:\(port)"], ruleFiles: [try Self.rules(dir)], dir: dir)
        defer { prometheus.stop() }
        #expect(try Self.wait(30) { try prometheus.query("orchlog_collector_sources").count > 0 } != nil, "never scraped")
        sleep(20)  // longer than the alert's for: (10 s) with the collector up
        #expect(try prometheus.query("ALERTS{alertname=\"OrchCollectorAbsent\"}").isEmpty, "pending or firing while the collector runs")
        collector.stop()
        // Absent for one minute, then 10 s of for:.
        let after = try Self.wait(150) { !(try Self.firing(prometheus, "OrchCollectorAbsent")).isEmpty }
        let fired = try #require(after, "OrchCollectorAbsent never fired after the collector stopped")
        #expect(fired >= 55, "fired \(fired) s after the collector stopped: before a minute without it")
    }
}
