/// Guarded short-window ratios: how the failure-mode alerts detect within minutes at low
/// traffic without firing on a handful of events (docs/alerts.md, "Detection at real pace").
///
/// A ratio over a short window (`fastWindow`) reacts within a scrape or two of a fault, but on
/// a quiet shard or tool one bad event among three is a 33% ratio. So the ratio only counts when
/// the window also holds at least `minimumCount` bad events: the alert is
///
///     (  sum by (…) (rate(metric{bad}[2m])) / sum by (…) (rate(metric[2m]))
///        and on (…) sum by (…) (increase(metric{bad}[2m])) >= minimum  ) > threshold
///
/// which keeps one threshold, last, as every alert does; `$value` is the ratio.
extension RuleRenderer {
    /// The window of the guarded ratios: short enough to page within minutes of an onset, and
    /// to let go within minutes of the end; long enough to hold several scrapes at 15–30 s.
    static let fastWindow = "2m"

    /// Bad events the fast window must hold before its ratio counts, per alert. Chosen from the
    /// real-pace detection suite (`make test-detection`): above what a healthy orchestrator's
    /// quietest series shows in two minutes, below what each fault produces at 12,000/day.
    static func minimumCount(_ key: RuleThresholds.AlertKey) -> Int {
        switch key {
        case .stateConflictRate: 8
        case .llmRateLimitSaturation: 5
        default: 3
        }
    }

    /// The guarded ratio of `bad` (a matcher such as `outcome="timeout"`) among all of `metric`,
    /// per `by`, over `fastWindow`, compared with `threshold`; `matchers` select an override's
    /// series (or exclude the overridden ones).
    func guardedRatio(_ metric: String, bad: String, by labels: String, matchers: [String],
                      minimum: Int, threshold: Double) -> String {
        let w = Self.fastWindow
        let badSelector = Self.selector(metric, [bad] + matchers)
        return """
            (
              sum by (\(labels)) (rate(\(badSelector)[\(w)]))
              /
              sum by (\(labels)) (rate(\(Self.selector(metric, matchers))[\(w)]))
              and on (\(labels))
              sum by (\(labels)) (increase(\(badSelector)[\(w)])) >= \(minimum)
            ) > \(Self.number(threshold))
            """
    }

    /// One alert per variant of `key`: `guardedRatio` of `bad` among `metric` by `dimensions`.
    mutating func guardedAlert(_ name: String, _ key: RuleThresholds.AlertKey, _ metric: String, bad: String,
                               by dimensions: String..., summary: String, description: (String) -> String) {
        let labels = (kept + dimensions).joined(separator: ", ")
        for v in Self.variants(thresholds[key]) {
            alert(name, guardedRatio(metric, bad: bad, by: labels, matchers: v.matchers, minimum: Self.minimumCount(key), threshold: v.threshold),
                  block: true, variant: v, summary: summary, description: description(Self.held(v.forDuration, ", for ")))
        }
    }

    /// OrchStateConflictRateHigh: conflicts on a shard per invocation of its source, over
    /// `fastWindow`, with at least `minimumCount` conflicts. Per invocation, not per write
    /// attempt: a hot record's conflicts are not diluted by the shard's other writes, and the
    /// measure does not grow with traffic (docs/alerts.md).
    mutating func conflictsPerInvocationAlert(summary: String, description: (String) -> String) {
        let w = Self.fastWindow
        let key = RuleThresholds.AlertKey.stateConflictRate
        let shardBy = by("shard"), sourceBy = by()
        for v in Self.variants(thresholds[key]) {
            // The invocations carry no shard label: only the source's (and --group-by's) matchers apply.
            let sourceMatchers = v.matchers.filter { m in !m.hasPrefix("shard") }
            let conflicts = "sum by (\(shardBy)) (increase(\(Self.selector("orch_state_writes_total", [#"outcome="conflict""#] + v.matchers))[\(w)]))"
            alert("OrchStateConflictRateHigh", """
                (
                  \(conflicts)
                  / on (\(sourceBy)) group_left
                  sum by (\(sourceBy)) (increase(\(Self.selector("orch_invocations_started_total", sourceMatchers))[\(w)]))
                  and on (\(shardBy))
                  \(conflicts) >= \(Self.minimumCount(key))
                ) > \(Self.number(v.threshold))
                """, block: true, variant: v, summary: summary, description: description(Self.held(v.forDuration, ", for ")))
        }
    }
}
