import Foundation
import OrchTestSupport

/// One scenario run watched as production watches it: its own `orchlog-collector` on the
/// run's log root, and a real Prometheus scraping it every second with the shipped rules
/// (`alerts/`, `for:` shortened to 5 s and the daily LLM budget scaled to the compression,
/// `shortenedRules`; nothing else changed). Used by
/// `ScenarioAlertTests` (simulated mode) and `LiveAlertTests` (live mode).
final class AlertedRun: @unchecked Sendable {  // one per scenario, used by one test only
    /// The alerts of each failure mode: the four of the incident, then issue 19's (a runaway
    /// agent, spend, the queue's backlog age, the latency SLO). Each carries `source`.
    static let modeAlerts: [String: Set<String>] = [
        "state": ["OrchStateLostUpdates", "OrchStateConflictRateHigh"],
        "memory": ["OrchMemoryWriteTimeouts", "OrchMemoryWriteLatencyHigh", "OrchMemoryFlushFailures"],
        "tools": ["OrchToolCircuitOpen", "OrchToolTimeoutCascade", "OrchToolTimeoutRateHigh"],
        "llm": ["OrchLLMRateLimitSaturation", "OrchLLMConcurrencyOverLimit", "OrchLLMLimiterMisconfigured"],
        "loop": ["OrchAgentRunaway"],
        "spend": ["OrchLLMSpendBudgetBurn"],
        "backlog": ["OrchQueueBacklogAge"],
        "latency": ["OrchInvocationLatencySLOBurn"],
    ]
    /// The alerts of every failure mode (the ones a healthy run must never fire).
    static let failureModeAlerts: Set<String> = modeAlerts.values.reduce([]) { $0.union($1) }
    /// The failure mode each fault scenario injects: it may fire that mode's alerts only.
    static let faultModes = ["tool-outage": "tools", "llm-quota-cut": "llm", "hot-key-contention": "state", "memory-slowdown": "memory",
                             "agent-loop": "loop", "budget-burn": "spend", "limiter-misconfigured": "llm", "queue-backlog": "backlog",
                             "llm-slowdown": "latency"]
    /// The absent-data alerts: no scenario stops a source or the collector, so none may fire
    /// them (they are pipeline alerts, by instance or job, not a failure mode of a source).
    static let absenceAlerts: Set<String> = ["OrchSourceSilent", "OrchCollectorAbsent"]
    /// Alerts of its own mode a scenario must still not fire: a limiter set above the keys'
    /// real limit draws a trickle of 429s, which OrchLLMLimiterMisconfigured names and
    /// OrchLLMRateLimitSaturation (load beyond what the keys allow) must not.
    static let mustNotFire: [String: Set<String>] = ["limiter-misconfigured": ["OrchLLMRateLimitSaturation", "OrchLLMConcurrencyOverLimit"]]

    /// The repository root (for alerts/ and dashboards/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    let scenario: String
    let dir: TempDir
    /// The orchestrator writes its sources under this root.
    var logRoot: String { dir.sub("root") }
    var orchestrator: Daemon?
    private(set) var collector: Daemon?
    private(set) var prometheus: PrometheusServer?

    /// Starts the collector and Prometheus for `scenario` (the orchestrator is the caller's,
    /// covering `simulatedSeconds` in about 30 s).
    init(_ scenario: String, prefix: String, simulatedSeconds: Double) throws {
        self.scenario = scenario
        dir = TempDir("\(prefix)-\(scenario)")
        let rules = try Self.shortenedRules(into: dir, simulatedSeconds: simulatedSeconds)
        // The shipped prices, as a deployment runs it: the cost rows and alerts have data.
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root"), "--pricing.file", ConsumerPackageTests.repoRoot + "/deploy/pricing.yml"], dir: dir)
        self.collector = collector
        prometheus = try PrometheusServer(targets: ["127.0.0.1:\(port)"], ruleFiles: rules, dir: dir)
    }

    /// The shipped rules as a compressed run needs them (rendered by the built `orchlog rules`
    /// with a thresholds file that sets only the budget; the default rendering is the
    /// shipped file, `RulesTests`):
    /// - every `for:` shortened to 5 s (a run compresses hours into ~30 s), except the
    ///   absent-data alerts': absence is on Prometheus' own clock, which nothing compresses;
    /// - the daily LLM budget multiplied by `simulatedSeconds` / 3600. A run shorter than an
    ///   hour of wall time puts all its spend in the 1h window, whose rate is that spend
    ///   ÷ 3600 s; the simulated burn rate is that spend ÷ `simulatedSeconds`. So the alert's
    ///   fast pair (1h and 5m windows, 2× the budget) fires when the run's simulated spend
    ///   per day is over twice the real budget, as it would at real pace.
    static func shortenedRules(into dir: TempDir, simulatedSeconds: Double) throws -> [String] {
        let config = dir.sub("thresholds.yml")
        let budget = 1000 * simulatedSeconds / 3600
        try "llm:\n  spend_budget:\n    threshold: \(String(format: "%.2f", budget))\n".write(toFile: config, atomically: true, encoding: .utf8)
        let rendered = try runTool("orchlog", ["rules", "--config", config])
        guard rendered.status == 0 else { throw TestFailure("orchlog rules --config: \(rendered.stderr)") }
        let regex = try NSRegularExpression(pattern: #"(\n\s+for:) [0-9]+[smhd]"#)
        var groups = rendered.stdout.components(separatedBy: "\n  - name: ")
        for i in groups.indices where !groups[i].hasPrefix("orchlog.absence\n") {
            let text = groups[i]
            groups[i] = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1 5s")
        }
        let path = dir.sub("orchlog.rules.yml")
        try groups.joined(separator: "\n  - name: ").write(toFile: path, atomically: true, encoding: .utf8)
        return [path]
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
        if !fired.isDisjoint(with: Self.absenceAlerts) {
            return "\(scenario) fired \(fired.intersection(Self.absenceAlerts).sorted()) although no data went missing"
        }
        if let expected {
            guard expected.isSubset(of: fired) else { return "\(scenario): expected \(expected.sorted()), fired \(fired.sorted())" }
            if let banned = Self.mustNotFire[scenario], !banned.isDisjoint(with: fired) {
                return "\(scenario) must not fire \(banned.intersection(fired).sorted()), fired \(fired.sorted())"
            }
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
