import Foundation

/// The thresholds the status page (`/`) flags a failure mode with: the shipped alert rules'
/// defaults (`alerts/orchlog.rules.yml`, `orchlog rules` without `--config`). `OrchCLI`
/// renders the rules from its own table above this module; a test in `OrchCLITests` keeps
/// `StatusThresholds.ruleDefaults` equal to it, so the page and the rules cannot drift apart.
///
/// The page flags the condition a rule tests as soon as it holds (a rule waits its `for:`
/// first), over the rule's window or the page's history when that is shorter.
public struct StatusThresholds: Sendable, Equatable {
    /// How bad a flagged indicator is; the rule's severity.
    public enum Severity: String, Sendable, Codable, Comparable {
        case ok, warning, critical

        private var rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    /// A threshold and the severity of crossing it.
    public struct Limit: Sendable, Equatable {
        /// Flagged when the value is above this (`>`, as in the rules).
        public var threshold: Double
        public var severity: Severity
    }

    /// `slo.target`: the share of invocations that must succeed.
    public var sloTarget: Double
    /// Error-budget burn rates (error share / (1 − target)): the fast-burn alert's factors,
    /// 14.4 (its 1h/5m pair, critical) and 6 (its 6h/30m pair, flagged as a warning here).
    public var burnCritical: Double
    public var burnWarning: Double
    /// `state.lost_updates`: lost updates plus stale reads in `lostUpdatesWindow`.
    public var lostUpdates: Limit
    /// `memory.write_timeouts`: timed-out state writes / writes over `rateWindow`.
    public var writeTimeouts: Limit
    /// `tools.circuit_open`: breakers open or half-open.
    public var circuitOpen: Limit
    /// `llm.rate_limit_saturation`: HTTP 429 / LLM requests over `rateWindow`.
    public var rateLimited: Limit
    /// `queue.near_capacity`: depth / capacity of the fullest queue.
    public var queueNearCapacity: Limit
    /// `queue.rejecting`: rejections per second over `rateWindow`.
    public var queueRejecting: Limit
    /// `queue.growing`: items per second, a linear fit of the depth over `growthWindow`.
    public var queueGrowing: Limit
    /// The rules' `rate(…[5m])` window, seconds.
    public var rateWindow: Double
    /// `increase(orch_state_lost_updates_total[10m])`, seconds.
    public var lostUpdatesWindow: Double
    /// `deriv(orch_queue_depth[15m])`, seconds.
    public var growthWindow: Double

    /// The shipped rules' defaults (docs/alerts.md says why each).
    public static let ruleDefaults = StatusThresholds(
        sloTarget: 0.99, burnCritical: 14.4, burnWarning: 6,
        lostUpdates: Limit(threshold: 0, severity: .critical), writeTimeouts: Limit(threshold: 0.05, severity: .critical), circuitOpen: Limit(threshold: 0, severity: .warning),
        rateLimited: Limit(threshold: 0.05, severity: .warning), queueNearCapacity: Limit(threshold: 0.8, severity: .warning), queueRejecting: Limit(threshold: 0, severity: .warning),
        queueGrowing: Limit(threshold: 0.1, severity: .warning), rateWindow: 300, lostUpdatesWindow: 600, growthWindow: 900)
}

extension StatusThresholds {
    /// The indicators and what flags each, as the Markdown table in docs/status-page.md (a
    /// test keeps the file equal to it).
    public func referenceTable() -> String {
        func p(_ r: Double) -> String { StatusReport.percent(r) }
        func m(_ s: Double) -> String { StatusReport.duration(s) }
        func n(_ v: Double) -> String { String(format: "%g", v) }
        let rows: [(String, String, String, String, String)] = [
            ("success_rate", "Success rate", "successful / finished invocations over \(m(rateWindow))",
             "error-budget burn (error share / (1 − \(p(sloTarget)))) above \(n(burnCritical)) (critical) or \(n(burnWarning)) (warning)",
             "`OrchInvocationErrorBudgetBurn` (fast burn)"),
            ("queue", "Queue depth", "depth summed over queues; the fullest queue's depth / capacity; growth (a linear fit over \(m(growthWindow))); rejections per second over \(m(rateWindow))",
             "fullest queue above \(p(queueNearCapacity.threshold)), growth above \(n(queueGrowing.threshold))/s, or rejections above \(n(queueRejecting.threshold))/s (\(queueNearCapacity.severity.rawValue))",
             "`OrchQueueBackpressure`"),
            ("lost_updates", "Lost updates", "lost updates plus stale reads (from versions) over \(m(lostUpdatesWindow))",
             "above \(n(lostUpdates.threshold)) (\(lostUpdates.severity.rawValue))", "`OrchStateLostUpdates`"),
            ("write_timeouts", "Write timeouts", "timed-out / all state writes over \(m(rateWindow))",
             "above \(p(writeTimeouts.threshold)) (\(writeTimeouts.severity.rawValue))", "`OrchMemoryWriteTimeouts`"),
            ("open_breakers", "Open breakers", "tools whose circuit breaker is open or half-open now",
             "above \(n(circuitOpen.threshold)) (\(circuitOpen.severity.rawValue))", "`OrchToolCircuitOpen`"),
            ("rate_limited", "LLM 429 share", "rate-limited (HTTP 429) / all LLM requests over \(m(rateWindow))",
             "above \(p(rateLimited.threshold)) (\(rateLimited.severity.rawValue))", "`OrchLLMRateLimitSaturation`"),
        ]
        var out = "| indicator | key | measures | flagged when | alert rule |\n|---|---|---|---|---|\n"
        for r in rows { out += "| \(r.1) | `\(r.0)` | \(r.2) | \(r.3) | \(r.4) |\n" }
        return out
    }
}
