import Foundation

/// The rule groups: one per failure mode, then the queue, the SLO and the pipeline.
///
/// Every failure-mode rule aggregates `by (…)` over the deployment's `--group-by` labels,
/// `source` (the service), then the failure mode's own labels (shard, tool, …), so the hosts
/// (`instance`) are added up (or the worst one taken) and nothing else is. Every summary and
/// description names the source (`whereText`).
extension RuleRenderer {
    mutating func renderState() {
        let w = whereText
        group("orchlog.state", title: ["Failure mode 1: state consistency degradation (produces no errors)."])
        record("shard:orch_state_write_conflicts:ratio_rate5m", """
            sum by (\(by("shard"))) (rate(orch_state_writes_total{outcome="conflict"}[5m]))
            /
            sum by (\(by("shard"))) (rate(orch_state_writes_total[5m]))
            """, block: true, comment: [
                "Recording rules first: a group evaluates its rules in order, so the",
                "alerts below see this evaluation's values, never the previous one's.",
                "Each write attempt is one orch_state_writes_total increment, whatever",
                "its outcome.",
            ])
        for v in Self.variants(thresholds[.stateLostUpdates]) {
            let n = Self.number(v.threshold)
            alert("OrchStateLostUpdates", """
                label_replace(sum by (\(by("shard"))) (increase(\(Self.selector("orch_state_lost_updates_total", v.matchers))[10m])) > \(n), "anomaly", "lost_update", "", "")
                or
                label_replace(sum by (\(by("shard"))) (increase(\(Self.selector("orch_state_stale_reads_total", v.matchers))[10m])) > \(n), "anomaly", "stale_read", "", "")
                """, block: true, variant: v,
                summary: "State {{ $labels.anomaly }}s detected on shard {{ $labels.shard }} of \(w)",
                description: "About {{ $value | printf \"%.0f\" }} {{ $labels.anomaly }} event(s) on state shard {{ $labels.shard }} of \(w) in the last 10 minutes: agents are acting on state that another invocation overwrote or had already changed. No error is raised for this; the collector found it from the versions.")
        }
        let conflicts = Self.minimumCount(.stateConflictRate)
        conflictsPerInvocationAlert(
            summary: "High optimistic-concurrency conflict rate on shard {{ $labels.shard }} of \(w)",
            description: { "On shard {{ $labels.shard }} of \(w), {{ $value | printf \"%.2f\" }} state writes per invocation started failed a version check (outcome=\"conflict\") over the last 2 minutes (at least \(conflicts) conflicts)\($0): hot keys are contended and retries add load and latency." })
    }

    mutating func renderMemory() {
        let w = whereText
        group("orchlog.memory", title: ["Failure mode 2: memory layer throughput collapse."])
        record("shard:orch_state_writes:rate5m", "sum by (\(by("shard"))) (rate(orch_state_writes_total[5m]))", block: false)
        record("shard:orch_state_write_timeouts:ratio_rate5m", """
            sum by (\(by("shard"))) (rate(orch_state_writes_total{outcome="timeout"}[5m]))
            /
            sum by (\(by("shard"))) (rate(orch_state_writes_total[5m]))
            """, block: true)
        record("shard:orch_state_write_duration_seconds:p99_rate5m",
               "histogram_quantile(0.99, sum by (\(by("shard", "le"))) (rate(orch_state_write_duration_seconds_bucket[5m])))", block: true)
        let timeouts = Self.minimumCount(.memoryWriteTimeouts)
        guardedAlert("OrchMemoryWriteTimeouts", .memoryWriteTimeouts, "orch_state_writes_total", bad: #"outcome="timeout""#, by: "shard",
                     summary: "State writes timing out on shard {{ $labels.shard }} of \(w)",
                     description: { "{{ $value | humanizePercentage }} of state writes on shard {{ $labels.shard }} of \(w) timed out over the last 2 minutes (at least \(timeouts) timeouts)\($0): the memory layer cannot keep up and the work of those invocations is not persisted." })
        recordedAlert("OrchMemoryWriteLatencyHigh", .memoryWriteLatency, "shard:orch_state_write_duration_seconds:p99_rate5m",
                      summary: "Slow state writes on shard {{ $labels.shard }} of \(w)",
                      description: "p99 state write latency on shard {{ $labels.shard }} of \(w) is {{ $value | humanizeDuration }} over the last 5 minutes: the memory layer is saturating and write timeouts usually follow.")
        let flushes = Self.minimumCount(.memoryFlushFailures)
        guardedAlert("OrchMemoryFlushFailures", .memoryFlushFailures, "orch_memory_flushes_total", bad: #"outcome!="success""#, by: "shard",
                     summary: "Write-back flushes failing on shard {{ $labels.shard }} of \(w)",
                     description: { "{{ $value | humanizePercentage }} of write-back flushes to the backing store on shard {{ $labels.shard }} of \(w) timed out or failed over the last 2 minutes (at least \(flushes) of them)\($0): writes are acknowledged from the cache but not persisted, the backlog grows, and once it is full state writes wait and time out." })
    }

    /// A template query for the busiest worker pool of the alert's own source (and
    /// `--group-by` labels): `printf "max(…{source=%q})" $labels.source | query`.
    private var busiestPoolQuery: String {
        let selector = kept.map { "\($0)=%q" }.joined(separator: ", ")
        let args = kept.map { "$labels.\($0)" }.joined(separator: " ")
        return "printf \"max(pool:orch_workers_busy:max_ratio{\(selector)})\" \(args) | query"
    }

    mutating func renderTools() {
        let w = whereText
        group("orchlog.tools", title: ["Failure mode 3: tool call timeout cascades."])
        record("tool:orch_tool_call_timeouts:ratio_rate5m", """
            sum by (\(by("tool"))) (rate(orch_tool_calls_total{outcome="timeout"}[5m]))
            /
            sum by (\(by("tool"))) (rate(orch_tool_calls_total[5m]))
            """, block: true)
        record("pool:orch_workers_busy:max_ratio", "max by (\(by("pool"))) (orch_workers_busy / (orch_workers > 0))", block: true, comment: [
            "Busy fraction of the fullest process of each pool in each source (pools",
            "are per process, so an average over hosts would hide one exhausted process).",
        ])
        for v in Self.variants(thresholds[.toolsCircuitOpen]) {
            alert("OrchToolCircuitOpen",
                  "sum by (\(by("tool"))) (\(Self.selector("orch_circuit_breaker_state", ["state=~\"open|half_open\""] + v.matchers))) > \(Self.number(v.threshold))",
                  block: true, variant: v,
                  summary: "Circuit breaker for tool {{ $labels.tool }} is open in \(w)",
                  description: "The circuit breaker of tool {{ $labels.tool }} in \(w) has been open or half-open in {{ $value }} process(es)\(Self.held(v.forDuration)): calls to it are short-circuited to its fallback.")
        }
        let toolTimeouts = Self.minimumCount(.toolsTimeouts)
        guardedAlert("OrchToolTimeoutRateHigh", .toolsTimeouts, "orch_tool_calls_total", bad: #"outcome="timeout""#, by: "tool",
                     summary: "Calls to tool {{ $labels.tool }} are timing out in \(w)",
                     description: { "{{ $value | humanizePercentage }} of calls to tool {{ $labels.tool }} in \(w) timed out over the last 2 minutes (at least \(toolTimeouts) timeouts)\($0): each one holds a worker for the whole timeout; the circuit breaker opens once enough calls fail within its window, and without one the pool fills." })
        for v in Self.variants(thresholds[.toolsTimeoutCascade]) {
            alert("OrchToolTimeoutCascade", """
                \(Self.selector("tool:orch_tool_call_timeouts:ratio_rate5m", v.matchers)) > \(Self.number(v.threshold))
                and on (\(by()))
                max by (\(by())) (pool:orch_workers_busy:max_ratio) > \(Self.number(v.secondValue ?? 0.9))
                """, block: true, variant: v,
                summary: "Tool {{ $labels.tool }} timeouts are exhausting the worker pool of \(w)",
                description: "{{ $value | humanizePercentage }} of calls to tool {{ $labels.tool }} in \(w) timed out over the last 5 minutes while its busiest worker pool is {{ with \(busiestPoolQuery) }}{{ . | first | value | humanizePercentage }}{{ end }} busy: workers wait on the timeouts and new work is about to fail.")
        }
    }

    mutating func renderLLM() {
        let w = whereText
        group("orchlog.llm", title: ["Failure mode 4: LLM rate-limit saturation."])
        record("provider_model:orch_llm_requests_rate_limited:ratio_rate5m", """
            sum by (\(by("provider", "model"))) (rate(orch_llm_requests_total{outcome="rate_limited"}[5m]))
            /
            sum by (\(by("provider", "model"))) (rate(orch_llm_requests_total[5m]))
            """, block: true)
        record("limiter:orch_llm_inflight:ratio_limit", """
            sum by (\(by("limiter"))) (orch_llm_inflight)
            /
            max by (\(by("limiter"))) (orch_llm_concurrency_limit > 0)
            """, block: true, comment: [
                "In flight in each source against the provider's concurrency limit.",
                "The limit belongs to the API account, so every process reports the",
                "same number: take it once (max), and add up what is in flight.",
            ])
        let limited = Self.minimumCount(.llmRateLimitSaturation)
        guardedAlert("OrchLLMRateLimitSaturation", .llmRateLimitSaturation, "orch_llm_requests_total", bad: #"outcome="rate_limited""#,
                     by: "provider", "model",
                     summary: "LLM requests from \(w) to {{ $labels.provider }}/{{ $labels.model }} are being rate limited",
                     description: { "{{ $value | humanizePercentage }} of LLM requests from \(w) to {{ $labels.provider }} model {{ $labels.model }} got HTTP 429 (outcome=\"rate_limited\") over the last 2 minutes (at least \(limited) of them), across all API keys\($0)." })
        recordedAlert("OrchLLMConcurrencyOverLimit", .llmConcurrencyOverLimit, "limiter:orch_llm_inflight:ratio_limit",
                      summary: "More LLM requests in flight in \(w) than limiter {{ $labels.limiter }} allows",
                      description: "LLM requests in flight in \(w) through limiter {{ $labels.limiter }}, summed over its processes, are {{ $value | humanizePercentage }} of its concurrency limit: the provider will answer the excess with HTTP 429.")
    }

    mutating func renderQueue() {
        let w = whereText
        group("orchlog.queue", title: [
            "The request queue. One alert name, three signals (label `signal`):",
            "near capacity (bounded queues), rejecting (backpressure engaged), growing",
            "(arrivals outpace service; the only signal for an unbounded queue).",
        ])
        record("queue:orch_queue_depth:max_ratio_capacity", "max by (\(by("queue"))) (orch_queue_depth / (orch_queue_capacity > 0))", block: true,
               comment: ["Queues are per process: the fullest one of each source counts."])
        recordedAlert("OrchQueueBackpressure", .queueNearCapacity, "queue:orch_queue_depth:max_ratio_capacity", labels: [("signal", "near_capacity")],
                      summary: "Queue {{ $labels.queue }} of \(w) is nearly full",
                      description: "Queue {{ $labels.queue }} of \(w) is {{ $value | humanizePercentage }} full in its fullest process: arrivals outpace the worker pool, and once it is full callers are rejected.")
        for v in Self.variants(thresholds[.queueRejecting]) {
            alert("OrchQueueBackpressure", "sum by (\(by("queue"))) (rate(\(Self.selector("orch_queue_rejections_total", v.matchers))[5m])) > \(Self.number(v.threshold))",
                  block: false, variant: v, labels: [("signal", "rejecting")],
                  summary: "Queue {{ $labels.queue }} of \(w) is rejecting callers",
                  description: "Queue {{ $labels.queue }} of \(w) has been turning callers away (backpressure) at {{ $value | printf \"%.2f\" }}/s, averaged over 5 minutes\(Self.held(v.forDuration, ", for "))."
            )
        }
        for v in Self.variants(thresholds[.queueGrowing]) {
            alert("OrchQueueBackpressure", "sum by (\(by("queue"))) (deriv(\(Self.selector("orch_queue_depth", v.matchers))[15m])) > \(Self.number(v.threshold))",
                  block: false, variant: v, labels: [("signal", "growing")],
                  summary: "Queue {{ $labels.queue }} of \(w) is growing",
                  description: "Queue {{ $labels.queue }} of \(w), summed over its processes, has been growing by {{ $value | printf \"%.2f\" }} items/s (a linear fit over 15 minutes)\(Self.held(v.forDuration)): the orchestrator serves fewer invocations than arrive.")
        }
    }

    mutating func renderSLO() {
        let w = whereText
        let s = thresholds.slo
        let pct = Self.percent(s.target)
        group("orchlog.slo", title: [
            "SLO: \(pct)% of invocations succeed (per agent of each source). Multi-window,",
            "multi-burn-rate alerts from the Google SRE workbook. $value is the burn rate of",
            "the long window: how many times faster than sustainable the budget is being spent.",
        ])
        for (i, window) in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"].enumerated() {
            record("agent:orch_invocations_errors:ratio_rate\(window)", """
                sum by (\(by("agent"))) (rate(orch_invocations_total{outcome!="success"}[\(window)]))
                /
                sum by (\(by("agent"))) (rate(orch_invocations_total[\(window)]))
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
                threshold: s.target, secondValue: nil, forDuration: tier.forDuration, severity: tier.severity,
                overrides: s.overrides.map {
                    RuleThresholds.Override(label: "agent", value: $0.agent, threshold: $0.target, secondValue: nil,
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
                      summary: "Agent {{ $labels.agent }} of \(w) is burning its error budget\(fast)",
                      description: "Agent {{ $labels.agent }} of \(w) is spending the error budget of its \(Self.percent(v.threshold))% invocation-success SLO {{ $value | printf \"%.1f\" }} times faster than sustainable (\(windows) windows): \(consequence)")
            }
        }
    }

    mutating func renderPipeline() {
        let w = whereText
        let by = pipelineBy()
        group("orchlog.pipeline", title: [
            "The pipeline itself: writers and collectors. These keep `instance` and",
            "`source`, because the broken log directory is what the alert is about.",
        ])
        /// `sum by (…) (increase(metric{matchers}[10m]))`.
        func increase(_ metric: String, by labels: String = by) -> ([String]) -> String {
            { "sum by (\(labels)) (increase(\(Self.selector(metric, $0))[10m]))" }
        }
        thresholdAlert("OrchEventsDropped", .pipelineEventsDropped, increase("orch_events_dropped_total", by: pipelineBy("reason")),
                      summary: "Writer of \(w) is dropping events",
                      description: "The OrchLog writer of source \(w) (collector {{ $labels.instance }}) dropped about {{ $value | printf \"%.0f\" }} events in the last 10 minutes (reason {{ $labels.reason }}): metrics and alerts for this source undercount.")
        thresholdAlert("OrchCollectorLagging", .pipelineCollectorLagging, { "max by (\(by)) (\(Self.selector("orchlog_collector_lag_seconds", $0)))" },
                      summary: "Collector {{ $labels.instance }} is behind on \(w)",
                      description: "Collector {{ $labels.instance }} is {{ $value | humanizeDuration }} behind the log of source \(w): its metrics, and every alert on them, describe the past.")
        thresholdAlert("OrchCollectorDecodeErrors", .pipelineDecodeErrors, increase("orchlog_collector_decode_errors_total"),
                      summary: "Collector {{ $labels.instance }} found corrupt frames in \(w)",
                      description: "Collector {{ $labels.instance }} could not decode about {{ $value | printf \"%.0f\" }} frame(s) of source \(w) in the last 10 minutes: the events in them are not counted.")
        thresholdAlert("OrchCollectorEventsLost", .pipelineEventsLost, increase("orchlog_collector_events_lost_total"),
                      summary: "Collector {{ $labels.instance }} lost events of \(w) to retention",
                      description: "About {{ $value | printf \"%.0f\" }} events of source \(w) were deleted by retention before collector {{ $labels.instance }} read them (last 10 minutes): they are missing from every metric.")
    }

    /// One rule per variant of `key`'s knobs: `expression(matchers) > threshold`.
    private mutating func thresholdAlert(_ name: String, _ key: RuleThresholds.AlertKey, labels: [(String, String)] = [],
                                         _ expression: ([String]) -> String, summary: String, description: String) {
        for v in Self.variants(thresholds[key]) {
            alert(name, "\(expression(v.matchers)) > \(Self.number(v.threshold))", block: false, variant: v, labels: labels,
                  summary: summary, description: description)
        }
    }

    /// `thresholdAlert` on a recorded series: `record{matchers} > threshold`.
    private mutating func recordedAlert(_ name: String, _ key: RuleThresholds.AlertKey, _ record: String, labels: [(String, String)] = [],
                                        summary: String, description: String) {
        thresholdAlert(name, key, labels: labels, { Self.selector(record, $0) }, summary: summary, description: description)
    }
}
