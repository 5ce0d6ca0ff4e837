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
        case .stateConflictRate: 10
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
}
