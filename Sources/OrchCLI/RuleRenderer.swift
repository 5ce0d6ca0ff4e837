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
        var poolBusyThreshold: Double?
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
        var out = [Variant(matchers: k.overrides.map(neg), threshold: k.threshold, poolBusyThreshold: k.poolBusyThreshold,
                           forDuration: k.forDuration, severity: k.severity,
                           comment: k.overrides.isEmpty ? nil : "Every series but the overridden ones below.")]
        for (i, o) in k.overrides.enumerated() {
            var m = [o.label + "=" + promString(o.value)]
            m += k.overrides[..<i].filter { $0.label != o.label }.map(neg)
            out.append(Variant(matchers: m, threshold: o.threshold, poolBusyThreshold: o.poolBusyThreshold,
                               forDuration: o.forDuration, severity: o.severity, labels: [(o.label, quoted(o.value))],
                               comment: "Override for \(o.label)=\(promString(o.value)): its own knobs; the rules above exclude it."))
        }
        return out
    }

    // MARK: Output

    private mutating func emit(_ line: String) { lines.append(line) }

    private mutating func group(_ name: String, title: [String]) {
        if groupCount > 0 { emit("") }
        groupCount += 1
        emit("  # " + String(repeating: "-", count: 75))
        for t in title { emit("  # " + t) }
        emit("  # " + String(repeating: "-", count: 75))
        emit("  - name: \(name)")
        emit("    rules:")
        rulesInGroup = 0
    }

    private mutating func comment(_ text: [String]) {
        for t in text { emit("      # " + t) }
    }

    private mutating func expr(_ text: String, block: Bool) {
        let exprLines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if !block, exprLines.count == 1, Self.isPlainSafe(text) {
            emit("        expr: " + text)
        } else {
            emit("        expr: |")
            for l in exprLines { emit("          " + l) }
        }
    }

    private mutating func record(_ name: String, _ expression: String, block: Bool, comment text: [String] = []) {
        comment(text)
        emit("      - record: \(name)")
        expr(expression, block: block)
        rulesInGroup += 1
        recordCount += 1
    }

    private mutating func alert(_ name: String, _ expression: String, block: Bool, variant: Variant,
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
    private static func held(_ d: RuleThresholds.PromDuration, _ prefix: String = " for ") -> String {
        d.milliseconds == 0 ? "" : prefix + d.spoken
    }

    // MARK: The file

    private mutating func renderFile() {
        let t = thresholds
        let slo = Self.number(t.slo.target)
        let source = t == .defaults ? "the default thresholds" : "a deployment's thresholds file"
        for l in [
            "# orchlog alerting and recording rules.",
            "#",
            "# Rendered by `orchlog rules` from \(source); do not edit by hand.",
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
            "#   - every rule aggregates away `source` and `instance` (`sum by`/`max by`),",
            "#     so it holds across any number of collectors and log directories; only",
            "#     the pipeline alerts keep them, because there the source is the subject.",
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
    }

    private mutating func renderState() {
        group("orchlog.state", title: ["Failure mode 1: state consistency degradation (produces no errors)."])
        record("shard:orch_state_write_conflicts:ratio_rate5m", """
            sum by (shard) (rate(orch_state_writes_total{outcome="conflict"}[5m]))
            /
            sum by (shard) (rate(orch_state_writes_total[5m]))
            """, block: true, comment: [
                "Recording rules first: a group evaluates its rules in order, so the",
                "alerts below see this evaluation's values, never the previous one's.",
                "Each write attempt is one orch_state_writes_total increment, whatever",
                "its outcome.",
            ])
        for v in Self.variants(thresholds[.stateLostUpdates]) {
            let n = Self.number(v.threshold)
            alert("OrchStateLostUpdates", """
                label_replace(sum by (shard) (increase(\(Self.selector("orch_state_lost_updates_total", v.matchers))[10m])) > \(n), "anomaly", "lost_update", "", "")
                or
                label_replace(sum by (shard) (increase(\(Self.selector("orch_state_stale_reads_total", v.matchers))[10m])) > \(n), "anomaly", "stale_read", "", "")
                """, block: true, variant: v,
                summary: "State {{ $labels.anomaly }}s detected on shard {{ $labels.shard }}",
                description: "About {{ $value | printf \"%.0f\" }} {{ $labels.anomaly }} event(s) on state shard {{ $labels.shard }} in the last 10 minutes: agents are acting on state that another invocation overwrote or had already changed. No error is raised for this; the collector found it from the versions.")
        }
        for v in Self.variants(thresholds[.stateConflictRate]) {
            alert("OrchStateConflictRateHigh", "\(Self.selector("shard:orch_state_write_conflicts:ratio_rate5m", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "High optimistic-concurrency conflict ratio on shard {{ $labels.shard }}",
                  description: "{{ $value | humanizePercentage }} of state write attempts on shard {{ $labels.shard }} failed a version check (outcome=\"conflict\") over the last 5 minutes: hot keys are contended and retries add load and latency.")
        }
    }

    private mutating func renderMemory() {
        group("orchlog.memory", title: ["Failure mode 2: memory layer throughput collapse."])
        record("shard:orch_state_writes:rate5m", "sum by (shard) (rate(orch_state_writes_total[5m]))", block: false)
        record("shard:orch_state_write_timeouts:ratio_rate5m", """
            sum by (shard) (rate(orch_state_writes_total{outcome="timeout"}[5m]))
            /
            sum by (shard) (rate(orch_state_writes_total[5m]))
            """, block: true)
        record("shard:orch_state_write_duration_seconds:p99_rate5m",
               "histogram_quantile(0.99, sum by (shard, le) (rate(orch_state_write_duration_seconds_bucket[5m])))", block: true)
        for v in Self.variants(thresholds[.memoryWriteTimeouts]) {
            alert("OrchMemoryWriteTimeouts", "\(Self.selector("shard:orch_state_write_timeouts:ratio_rate5m", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "State writes timing out on shard {{ $labels.shard }}",
                  description: "{{ $value | humanizePercentage }} of state writes on shard {{ $labels.shard }} timed out over the last 5 minutes: the memory layer cannot keep up and the work of those invocations is not persisted.")
        }
        for v in Self.variants(thresholds[.memoryWriteLatency]) {
            alert("OrchMemoryWriteLatencyHigh", "\(Self.selector("shard:orch_state_write_duration_seconds:p99_rate5m", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "Slow state writes on shard {{ $labels.shard }}",
                  description: "p99 state write latency on shard {{ $labels.shard }} is {{ $value | humanizeDuration }} over the last 5 minutes: the memory layer is saturating and write timeouts usually follow.")
        }
    }

    private mutating func renderTools() {
        group("orchlog.tools", title: ["Failure mode 3: tool call timeout cascades."])
        record("tool:orch_tool_call_timeouts:ratio_rate5m", """
            sum by (tool) (rate(orch_tool_calls_total{outcome="timeout"}[5m]))
            /
            sum by (tool) (rate(orch_tool_calls_total[5m]))
            """, block: true)
        record("pool:orch_workers_busy:max_ratio", "max by (pool) (orch_workers_busy / (orch_workers > 0))", block: true, comment: [
            "Busy fraction of the fullest instance of each pool (pools are per",
            "process, so a fleet-wide average would hide one exhausted process).",
        ])
        for v in Self.variants(thresholds[.toolsCircuitOpen]) {
            alert("OrchToolCircuitOpen",
                  "sum by (tool) (\(Self.selector("orch_circuit_breaker_state", ["state=~\"open|half_open\""] + v.matchers))) > \(Self.number(v.threshold))",
                  block: true, variant: v,
                  summary: "Circuit breaker for tool {{ $labels.tool }} is open",
                  description: "The circuit breaker of tool {{ $labels.tool }} has been open or half-open on {{ $value }} source(s)\(Self.held(v.forDuration)): calls to it are short-circuited to its fallback.")
        }
        for v in Self.variants(thresholds[.toolsTimeoutCascade]) {
            alert("OrchToolTimeoutCascade", """
                \(Self.selector("tool:orch_tool_call_timeouts:ratio_rate5m", v.matchers)) > \(Self.number(v.threshold))
                and on ()
                max(pool:orch_workers_busy:max_ratio) > \(Self.number(v.poolBusyThreshold ?? 0.9))
                """, block: true, variant: v,
                summary: "Tool {{ $labels.tool }} timeouts are exhausting the worker pool",
                description: "{{ $value | humanizePercentage }} of calls to tool {{ $labels.tool }} timed out over the last 5 minutes while the busiest worker pool is {{ with query \"max(pool:orch_workers_busy:max_ratio)\" }}{{ . | first | value | humanizePercentage }}{{ end }} busy: workers wait on the timeouts and new work is about to fail.")
        }
    }

    private mutating func renderLLM() {
        group("orchlog.llm", title: ["Failure mode 4: LLM rate-limit saturation."])
        record("provider_model:orch_llm_requests_rate_limited:ratio_rate5m", """
            sum by (provider, model) (rate(orch_llm_requests_total{outcome="rate_limited"}[5m]))
            /
            sum by (provider, model) (rate(orch_llm_requests_total[5m]))
            """, block: true)
        record("limiter:orch_llm_inflight:ratio_limit", """
            sum by (limiter) (orch_llm_inflight)
            /
            max by (limiter) (orch_llm_concurrency_limit > 0)
            """, block: true, comment: [
                "In flight across every source against the provider's concurrency",
                "limit. The limit belongs to the API account, so every source reports",
                "the same number: take it once (max), and add up what is in flight.",
            ])
        for v in Self.variants(thresholds[.llmRateLimitSaturation]) {
            alert("OrchLLMRateLimitSaturation",
                  "\(Self.selector("provider_model:orch_llm_requests_rate_limited:ratio_rate5m", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "LLM requests to {{ $labels.provider }}/{{ $labels.model }} are being rate limited",
                  description: "{{ $value | humanizePercentage }} of LLM requests to {{ $labels.provider }} model {{ $labels.model }} got HTTP 429 (outcome=\"rate_limited\") over the last 5 minutes, across all API keys.")
        }
        for v in Self.variants(thresholds[.llmConcurrencyOverLimit]) {
            alert("OrchLLMConcurrencyOverLimit", "\(Self.selector("limiter:orch_llm_inflight:ratio_limit", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "More LLM requests in flight than limiter {{ $labels.limiter }} allows",
                  description: "LLM requests in flight through limiter {{ $labels.limiter }}, summed over all sources, are {{ $value | humanizePercentage }} of its concurrency limit: the provider will answer the excess with HTTP 429.")
        }
    }

    private mutating func renderQueue() {
        group("orchlog.queue", title: [
            "The request queue. One alert name, three signals (label `signal`):",
            "near capacity (bounded queues), rejecting (backpressure engaged), growing",
            "(arrivals outpace service; the only signal for an unbounded queue).",
        ])
        record("queue:orch_queue_depth:max_ratio_capacity", "max by (queue) (orch_queue_depth / (orch_queue_capacity > 0))", block: true,
               comment: ["Queues are per process: the fullest one counts."])
        for v in Self.variants(thresholds[.queueNearCapacity]) {
            alert("OrchQueueBackpressure", "\(Self.selector("queue:orch_queue_depth:max_ratio_capacity", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v, labels: [("signal", "near_capacity")],
                  summary: "Queue {{ $labels.queue }} is nearly full",
                  description: "Queue {{ $labels.queue }} is {{ $value | humanizePercentage }} full on its fullest source: arrivals outpace the worker pool, and once it is full callers are rejected.")
        }
        for v in Self.variants(thresholds[.queueRejecting]) {
            alert("OrchQueueBackpressure", "sum by (queue) (rate(\(Self.selector("orch_queue_rejections_total", v.matchers))[5m])) > \(Self.number(v.threshold))",
                  block: false, variant: v, labels: [("signal", "rejecting")],
                  summary: "Queue {{ $labels.queue }} is rejecting callers",
                  description: "Queue {{ $labels.queue }} has been turning callers away (backpressure) at {{ $value | printf \"%.2f\" }}/s, averaged over 5 minutes\(Self.held(v.forDuration, ", for "))."
            )
        }
        for v in Self.variants(thresholds[.queueGrowing]) {
            alert("OrchQueueBackpressure", "sum by (queue) (deriv(\(Self.selector("orch_queue_depth", v.matchers))[15m])) > \(Self.number(v.threshold))",
                  block: false, variant: v, labels: [("signal", "growing")],
                  summary: "Queue {{ $labels.queue }} is growing",
                  description: "Queue {{ $labels.queue }}, summed over all sources, has been growing by {{ $value | printf \"%.2f\" }} items/s (a linear fit over 15 minutes)\(Self.held(v.forDuration)): the orchestrator serves fewer invocations than arrive.")
        }
    }

    private mutating func renderSLO() {
        let s = thresholds.slo
        let pct = Self.percent(s.target)
        group("orchlog.slo", title: [
            "SLO: \(pct)% of invocations succeed (per agent). Multi-window, multi-burn-rate",
            "alerts from the Google SRE workbook. $value is the burn rate of the long",
            "window: how many times faster than sustainable the budget is being spent.",
        ])
        for (i, window) in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"].enumerated() {
            record("agent:orch_invocations_errors:ratio_rate\(window)", """
                sum by (agent) (rate(orch_invocations_total{outcome!="success"}[\(window)]))
                /
                sum by (agent) (rate(orch_invocations_total[\(window)]))
                """, block: true, comment: i > 0 ? [] : [
                    "SLI: an invocation is good when outcome=\"success\"; failure, timeout",
                    "and rejected are bad. SLO: \(pct)% good (see docs/alerts.md).",
                ])
        }
        // (tier, burn-rate pairs of long/short windows, summary, description tail)
        let tiers: [(RuleThresholds.BurnTier, [(String, String, String)], String, String, String)] = [
            (s.fastBurn, [("1h", "5m", "14.4"), ("6h", "30m", "6")], " fast", "1h/5m or 6h/30m",
             "at this rate a 30-day budget is gone within days."),
            (s.slowBurn, [("1d", "2h", "3"), ("3d", "6h", "1")], "", "1d/2h or 3d/6h",
             "the budget will run out before the 30-day window ends."),
        ]
        for (tier, pairs, fast, windows, consequence) in tiers {
            let knobs = RuleThresholds.Knobs(
                threshold: s.target, poolBusyThreshold: nil, forDuration: tier.forDuration, severity: tier.severity,
                overrides: s.overrides.map {
                    RuleThresholds.Override(label: "agent", value: $0.agent, threshold: $0.target, poolBusyThreshold: nil,
                                            forDuration: tier.forDuration, severity: tier.severity)
                })
            for v in Self.variants(knobs) {
                let target = Self.number(v.threshold)
                let expression = pairs.map { long, short, burn in
                    """
                    (
                      \(Self.selector("agent:orch_invocations_errors:ratio_rate\(long)", v.matchers)) / (1 - \(target)) > \(burn)
                      and
                      \(Self.selector("agent:orch_invocations_errors:ratio_rate\(short)", v.matchers)) / (1 - \(target)) > \(burn)
                    )
                    """
                }.joined(separator: "\nor\n")
                alert("OrchInvocationErrorBudgetBurn", expression, block: true, variant: v,
                      summary: "Agent {{ $labels.agent }} is burning its error budget\(fast)",
                      description: "Agent {{ $labels.agent }} is spending the error budget of its \(Self.percent(v.threshold))% invocation-success SLO {{ $value | printf \"%.1f\" }} times faster than sustainable (\(windows) windows): \(consequence)")
            }
        }
    }

    private mutating func renderPipeline() {
        group("orchlog.pipeline", title: [
            "The pipeline itself: writers and collectors. These keep `instance` and",
            "`source`, because the broken log directory is what the alert is about.",
        ])
        for v in Self.variants(thresholds[.pipelineEventsDropped]) {
            alert("OrchEventsDropped",
                  "sum by (instance, source, reason) (increase(\(Self.selector("orch_events_dropped_total", v.matchers))[10m])) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "Writer of {{ $labels.source }} is dropping events",
                  description: "The OrchLog writer of source {{ $labels.source }} (collector {{ $labels.instance }}) dropped about {{ $value | printf \"%.0f\" }} events in the last 10 minutes (reason {{ $labels.reason }}): metrics and alerts for this source undercount.")
        }
        for v in Self.variants(thresholds[.pipelineCollectorLagging]) {
            alert("OrchCollectorLagging",
                  "max by (instance, source) (\(Self.selector("orchlog_collector_lag_seconds", v.matchers))) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "Collector {{ $labels.instance }} is behind on {{ $labels.source }}",
                  description: "Collector {{ $labels.instance }} is {{ $value | humanizeDuration }} behind the log of source {{ $labels.source }}: its metrics, and every alert on them, describe the past.")
        }
        for v in Self.variants(thresholds[.pipelineDecodeErrors]) {
            alert("OrchCollectorDecodeErrors",
                  "sum by (instance, source) (increase(\(Self.selector("orchlog_collector_decode_errors_total", v.matchers))[10m])) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "Collector {{ $labels.instance }} found corrupt frames in {{ $labels.source }}",
                  description: "Collector {{ $labels.instance }} could not decode about {{ $value | printf \"%.0f\" }} frame(s) of source {{ $labels.source }} in the last 10 minutes: the events in them are not counted.")
        }
        for v in Self.variants(thresholds[.pipelineEventsLost]) {
            alert("OrchCollectorEventsLost",
                  "sum by (instance, source) (increase(\(Self.selector("orchlog_collector_events_lost_total", v.matchers))[10m])) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "Collector {{ $labels.instance }} lost events of {{ $labels.source }} to retention",
                  description: "About {{ $value | printf \"%.0f\" }} events of source {{ $labels.source }} were deleted by retention before collector {{ $labels.instance }} read them (last 10 minutes): they are missing from every metric.")
        }
    }
}
