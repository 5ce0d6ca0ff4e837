import Foundation
import OrchTestSupport

/// One scenario run watched as production watches it: its own `orchlog-collector` on the
/// run's log root, and a real Prometheus scraping it every second with the shipped rules
/// (`alerts/`, every `for:` shortened to 5 s; nothing else changed). Used by
/// `ScenarioAlertTests` (simulated mode) and `LiveAlertTests` (live mode).
final class AlertedRun: @unchecked Sendable {  // one per scenario, used by one test only
    /// The alerts of each of the four failure modes.
    static let modeAlerts: [String: Set<String>] = [
        "state": ["OrchStateLostUpdates", "OrchStateConflictRateHigh"],
        "memory": ["OrchMemoryWriteTimeouts", "OrchMemoryWriteLatencyHigh", "OrchMemoryFlushFailures"],
        "tools": ["OrchToolCircuitOpen", "OrchToolTimeoutCascade", "OrchToolTimeoutRateHigh"],
        "llm": ["OrchLLMRateLimitSaturation", "OrchLLMConcurrencyOverLimit"],
    ]
    /// The alerts of the four failure modes (the ones a healthy run must never fire).
    static let failureModeAlerts: Set<String> = modeAlerts.values.reduce([]) { $0.union($1) }
    /// The failure mode each fault scenario injects: it may fire that mode's alerts only.
    static let faultModes = ["tool-outage": "tools", "llm-quota-cut": "llm", "hot-key-contention": "state", "memory-slowdown": "memory"]

    /// The repository root (for alerts/ and dashboards/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    let scenario: String
    let dir: TempDir
    /// The orchestrator writes its sources under this root.
    var logRoot: String { dir.sub("root") }
    var orchestrator: Daemon?
    private(set) var collector: Daemon?
    private(set) var prometheus: PrometheusServer?

    /// Starts the collector and Prometheus for `scenario` (the orchestrator is the caller's).
    init(_ scenario: String, prefix: String) throws {
        self.scenario = scenario
        dir = TempDir("\(prefix)-\(scenario)")
        let rules = try Self.shortenedRules(into: dir)
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        self.collector = collector
        prometheus = try PrometheusServer(targets: ["127.0.0.1:\(port)"], ruleFiles: rules, dir: dir)
    }

    /// The rules with every `for:` shortened to 5 s (a run compresses hours into ~30 s).
    static func shortenedRules(into dir: TempDir) throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/alerts").filter { $0.hasSuffix(".rules.yml") }.sorted()
        return try files.map { name in
            let text = try String(contentsOfFile: root + "/alerts/" + name, encoding: .utf8)
            let regex = try NSRegularExpression(pattern: #"(\n\s+for:) [0-9]+[smhd]"#)
            let short = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1 5s")
            let path = dir.sub(name)
            try short.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    /// Waits for the orchestrator to exit; its exit status (-1 without one).
    func waitForOrchestrator() -> Int32 {
        guard let o = orchestrator else { return -1 }
        o.process.waitUntilExit()
        return o.process.terminationStatus
    }

    /// Every alert that fired in the last 10 minutes.
    func firedAlerts() throws -> Set<String> {
        guard let prometheus else { return [] }
        let rows = try prometheus.query("count by (alertname) (max_over_time(ALERTS{alertstate=\"firing\"}[10m]))")
        return Set(rows.compactMap { $0.0["alertname"] })
    }

    /// `expected`: the alerts that must have fired (nil: no failure-mode alert may have).
    /// Nil when that holds, else what to report.
    func checkFired(_ expected: Set<String>?) throws -> String? {
        let fired = try firedAlerts()
        if let expected {
            guard expected.isSubset(of: fired) else { return "\(scenario): expected \(expected.sorted()), fired \(fired.sorted())" }
            // A fault scenario fires its own failure mode's alerts and no other mode's.
            guard let mode = Self.faultModes[scenario], let own = Self.modeAlerts[mode] else { return nil }
            let others = fired.intersection(Self.failureModeAlerts).subtracting(own)
            return others.isEmpty ? nil : "\(scenario) must fire only \(mode) alerts, fired \(fired.sorted())"
        }
        let modeAlerts = fired.intersection(Self.failureModeAlerts)
        return modeAlerts.isEmpty ? nil : "\(scenario) must fire no failure-mode alert, fired \(fired.sorted())"
    }

    /// Stops Prometheus, the collector and a still running orchestrator, and removes the directory.
    func stop() {
        orchestrator?.stop()
        prometheus?.stop()
        collector?.stop()
        dir.remove()
    }
}
