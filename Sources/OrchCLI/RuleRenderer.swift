import Foundation

/// Renders orchlog's Prometheus rule file (recording rules and alerts for every failure
/// mode, the queue, the SLO burn rates and the pipeline) from `RuleThresholds`.
///
/// The output is deterministic: the same thresholds give the same bytes, and the defaults
/// give exactly `alerts/orchlog.rules.yml`. An override becomes a further rule with the same
/// alert name selecting its label value (`{model="x"}`), while the rules before it exclude
/// that value (`{model!="x"}`), so every series is compared against exactly one threshold.
struct RuleRenderer {
    /// The name of the rendered file.
    static let fileName = "orchlog.rules.yml"

    let thresholds: RuleThresholds
    private var lines: [String] = []
    private var rulesInGroup = 0
    private var groupCount = 0
    /// How many recording and alerting rules were rendered.
    private(set) var recordCount = 0
    private(set) var alertCount = 0

    init(_ thresholds: RuleThresholds) { self.thresholds = thresholds }

    /// The whole rule file, ending in a newline.
    static func render(_ thresholds: RuleThresholds) -> (text: String, records: Int, alerts: Int) {
        var r = RuleRenderer(thresholds)
        r.renderFile()
        return (r.lines.joined(separator: "\n") + "\n", r.recordCount, r.alertCount)
    }

    // MARK: Values

    /// A PromQL/YAML number: integers without a fraction, others in the shortest form that
    /// reads back as the same Double (0.05, 14.4).
    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// A ratio as a percentage for prose: 0.99 → "99", 0.995 → "99.5".
    static func percent(_ v: Double) -> String {
        var s = String(format: "%.10f", v * 100)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// A YAML single-quoted scalar.
    static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    /// A PromQL string literal.
    static func promString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// True when `s` can be written as a YAML plain scalar (in block context) and read back
    /// as the same string.
    static func isPlainSafe(_ s: String) -> Bool {
        guard let first = s.first, let last = s.last else { return false }
        if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first == " " || last == " " || last == ":" { return false }
        if s.contains(": ") || s.contains(" #") || s.contains("\t") { return false }
        return s.range(of: #"^[-+]?(\.?[0-9].*|\.inf|\.nan|true|false|yes|no|on|off|null|~)$"#,
                       options: [.regularExpression, .caseInsensitive]) == nil
    }

    /// `metric{matchers}`, or the bare name when there are none.
    static func selector(_ metric: String, _ matchers: [String]) -> String {
        matchers.isEmpty ? metric : metric + "{" + matchers.joined(separator: ", ") + "}"
    }

    /// One rule per variant: first the alert's own knobs, excluding every overridden label
    /// value, then each override, selecting its value and excluding the overrides above it.
    struct Variant {
        var matchers: [String]
        var threshold: Double
        var secondValue: Double?
        var forDuration: RuleThresholds.PromDuration
        var severity: RuleThresholds.Severity
        /// An override's own label as a static rule label too: a no-op on the alert (its
        /// series already has that value) that keeps the rules' label sets distinct, as
        /// promtool's duplicate-rule lint (and Alertmanager) need.
        var labels: [(String, String)] = []
        var comment: String?
    }

    static func variants(_ k: RuleThresholds.Knobs) -> [Variant] {
        func neg(_ o: RuleThresholds.Override) -> String { o.label + "!=" + promString(o.value) }
        var out = [Variant(matchers: k.overrides.map(neg), threshold: k.threshold, secondValue: k.secondValue,
                           forDuration: k.forDuration, severity: k.severity,
                           comment: k.overrides.isEmpty ? nil : "Every series but the overridden ones below.")]
        for (i, o) in k.overrides.enumerated() {
            var m = [o.label + "=" + promString(o.value)]
            m += k.overrides[..<i].filter { $0.label != o.label }.map(neg)
            out.append(Variant(matchers: m, threshold: o.threshold, secondValue: o.secondValue,
                               forDuration: o.forDuration, severity: o.severity, labels: [(o.label, quoted(o.value))],
                               comment: "Override for \(o.label)=\(promString(o.value)): its own knobs; the rules above exclude it."))
        }
        return out
    }

    // MARK: Grouping

    /// The labels every failure-mode rule keeps: the deployment's extra grouping labels
    /// (`--group-by`), then `source` (the service). `instance` (the host) is aggregated away.
    var kept: [String] { thresholds.groupBy + ["source"] }

    /// A `by (…)` list: the kept labels, then the failure mode's own `dimensions`.
    func by(_ dimensions: String...) -> String { (kept + dimensions).joined(separator: ", ") }

    /// A pipeline alert's `by (…)` list: these keep `instance` too (the collector is the subject).
    func pipelineBy(_ dimensions: String...) -> String {
        (thresholds.groupBy + ["instance", "source"] + dimensions).joined(separator: ", ")
    }

    /// Where an alert is, for its summary and description: `{{ $labels.source }}`, followed by
    /// the extra grouping labels, e.g. `{{ $labels.source }} (cluster {{ $labels.cluster }})`.
    var whereText: String {
        let extra = thresholds.groupBy.map { "\($0) {{ $labels.\($0) }}" }
        return "{{ $labels.source }}" + (extra.isEmpty ? "" : " (" + extra.joined(separator: ", ") + ")")
    }

    // MARK: Output

    mutating func emit(_ line: String) { lines.append(line) }

    mutating func group(_ name: String, title: [String]) {
        if groupCount > 0 { emit("") }
        groupCount += 1
        emit("  # " + String(repeating: "-", count: 75))
        for t in title { emit("  # " + t) }
        emit("  # " + String(repeating: "-", count: 75))
        emit("  - name: \(name)")
        emit("    rules:")
        rulesInGroup = 0
    }

    mutating func comment(_ text: [String]) {
        for t in text { emit("      # " + t) }
    }

    mutating func expr(_ text: String, block: Bool) {
        let exprLines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if !block, exprLines.count == 1, Self.isPlainSafe(text) {
            emit("        expr: " + text)
        } else {
            emit("        expr: |")
            for l in exprLines { emit("          " + l) }
        }
    }

    mutating func record(_ name: String, _ expression: String, block: Bool, comment text: [String] = []) {
        comment(text)
        emit("      - record: \(name)")
        expr(expression, block: block)
        rulesInGroup += 1
        recordCount += 1
    }

    mutating func alert(_ name: String, _ expression: String, block: Bool, variant: Variant,
                                labels: [(String, String)] = [], summary: String, description: String) {
        if rulesInGroup > 0 { emit("") }
        if let c = variant.comment { comment([c]) }
        emit("      - alert: \(name)")
        expr(expression, block: block)
        emit("        for: \(variant.forDuration.text)")
        emit("        labels:")
        emit("          severity: \(variant.severity.rawValue)")
        for (k, v) in labels + variant.labels { emit("          \(k): \(v)") }
        for k in thresholds.extraLabels.keys.sorted() { emit("          \(k): \(Self.quoted(thresholds.extraLabels[k] ?? ""))") }
        emit("        annotations:")
        emit("          summary: \(Self.quoted(summary))")
        emit("          description: \(Self.quoted(description))")
        let url = thresholds.runbookBaseURL + "#" + name.lowercased()
        emit("          runbook_url: \(Self.isPlainSafe(url) ? url : Self.quoted(url))")
        rulesInGroup += 1
        alertCount += 1
    }

    /// " for 5 minutes" (with `prefix`), or nothing for a zero `for:`.
    static func held(_ d: RuleThresholds.PromDuration, _ prefix: String = " for ") -> String {
        d.milliseconds == 0 ? "" : prefix + d.spoken
    }

    // MARK: The file

    private mutating func renderFile() {
        let t = thresholds
        let slo = Self.number(t.slo.target)
        var defaults = t
        defaults.groupBy = []
        let source = defaults == .defaults ? "the default thresholds" : "a deployment's thresholds file"
        let command = t.groupBy.isEmpty ? "`orchlog rules`" : "`orchlog rules --group-by \(t.groupBy.joined(separator: ","))`"
        for l in [
            "# orchlog alerting and recording rules.",
            "#",
            "# Rendered by \(command) from \(source); do not edit by hand.",
            "# To change a threshold, a `for:` duration, a severity, the SLO target, the",
            "# runbook links or the labels, write a thresholds file",
            "# (alerts/thresholds.example.yml lists every knob with its default) and",
            "# render again (docs/rules.md):",
            "#   orchlog rules --config thresholds.yml --out /etc/prometheus/rules",
            "#",
            "# Load with `rule_files: [/path/to/orchlog.rules.yml]` in prometheus.yml.",
            "# Thresholds, `for:` durations and the reasons for them: docs/alerts.md.",
            "# What to do when one fires: docs/runbooks.md (each alert's runbook_url).",
            "#",
            "# Layout:",
            "#   - one group per failure mode, then the queue, the SLO and the pipeline",
            "#     itself; in each, the recording rules (the ratios the alerts and the",
            "#     dashboards share) come first, then the alerts that use them;",
            "#   - every alert compares one expression against ONE literal threshold at the",
            "#     end of its `expr` (the SLO alerts compare burn rates against the burn",
            "#     factors 14.4/6/3/1, with the SLO target \(slo) in the divisor);",
            "#   - a per-label override (its own threshold for one shard, model, ...) is a",
            "#     further rule with the same alert name that selects that label value",
            "#     ({model=\"x\"}) while the rules before it exclude it ({model!=\"x\"}):",
            "#     every series is compared against exactly one threshold;",
            "#   - every rule keeps `source` (the service) and aggregates the hosts",
            "#     (`instance`) away: `sum by (\(by("shard")))`, `max by (\(by("queue")))`, ...,",
            "#     so an alert says which service it is about, the same shard, tool or",
            "#     agent name in two services never adds up, and one service on any number",
            "#     of hosts fires once; only the pipeline alerts keep `instance`, because",
            "#     there the collector is the subject.",
            "",
            "groups:",
        ] { emit(l) }
        renderState()
        renderMemory()
        renderTools()
        renderLLM()
        renderQueue()
        renderSLO()
        renderPipeline()
        renderCost()
        renderBacklogAndLatency()
        renderAbsence()
    }
}
