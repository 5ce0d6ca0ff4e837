import Foundation

/// The rule groups of issue 19: cost and fan-out (a runaway agent, a spend budget, a limiter
/// set above the provider's real limit), the age of the queue's backlog, the invocation
/// latency SLO, and absent data (a silent source, no collector at all).
extension RuleRenderer {
    mutating func renderCost() {
        let w = whereText
        group("orchlog.cost", title: [
            "Cost and fan-out: an agent stuck in a loop (its p99 LLM calls per invocation),",
            "spend against a daily budget, and 429s the client's own limiter did not expect.",
        ])
        record("agent:orch_invocation_llm_calls:p99_rate15m",
               "histogram_quantile(0.99, sum by (\(by("agent", "le"))) (rate(orch_invocation_llm_calls_bucket[15m])))", block: true, comment: [
                   "LLM requests (every attempt) per finished invocation, p99 per agent.",
               ])
        for window in ["5m", "30m", "1h", "6h"] {
            record("agent:orch_llm_cost_usd:rate\(window)", "sum by (\(by("agent"))) (rate(orch_llm_cost_usd_total[\(window)]))", block: false)
        }
        record("provider_model:orch_llm_rate_limited_provider:ratio_rate5m", """
            sum by (\(by("provider", "model"))) (rate(orch_llm_rate_limited_total{origin="provider"}[5m]))
            /
            sum by (\(by("provider", "model"))) (rate(orch_llm_requests_total[5m]))
            """, block: true, comment: ["429s the provider sent (origin=\"provider\"), as a share of all requests."])
        record("source:orch_llm_ratelimit_headroom:min_ratio", "min by (\(by())) (orch_llm_ratelimit_available / (orch_llm_ratelimit_capacity > 0))", block: true,
               comment: ["The client limiter's headroom: the emptiest bucket of each source."])
        for v in Self.variants(thresholds[.agentRunaway]) {
            alert("OrchAgentRunaway", "\(Self.selector("agent:orch_invocation_llm_calls:p99_rate15m", v.matchers)) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "Agent {{ $labels.agent }} of \(w) makes too many LLM calls per invocation",
                  description: "The slowest-stopping 1% of agent {{ $labels.agent }}'s invocations in \(w) made {{ $value | printf \"%.0f\" }} or more LLM calls each over the last 15 minutes (threshold \(Self.number(v.threshold))): an agent loop, a retry storm or a plan that never ends. Cost follows.")
        }
        for v in Self.variants(thresholds[.llmSpendBudget]) {
            // Burn rate: spend per day at the window's rate ÷ the daily budget; fast (2× over
            // 1h and 5m) or sustained (1× over 6h and 30m), the SRE workbook's two windows.
            let budget = Self.number(v.threshold)
            let expression = Self.burn("agent:orch_llm_cost_usd:rate", v.matchers, "* 86400 / \(budget)", [("1h", "5m", "2"), ("6h", "30m", "1")])
            alert("OrchLLMSpendBudgetBurn", expression, block: true, variant: v,
                  summary: "Agent {{ $labels.agent }} of \(w) is spending its LLM budget too fast",
                  description: "Agent {{ $labels.agent }} of \(w) spends on LLM calls at {{ $value | printf \"%.1f\" }} times its daily budget of \(budget) USD (1h/5m or 6h/30m windows, priced by the collector's --pricing.file): at this rate the day's budget is gone early.")
        }
        for v in Self.variants(thresholds[.llmLimiterMisconfigured]) {
            alert("OrchLLMLimiterMisconfigured", """
                \(Self.selector("provider_model:orch_llm_rate_limited_provider:ratio_rate5m", v.matchers)) > \(Self.number(v.threshold))
                and on (\(by()))
                source:orch_llm_ratelimit_headroom:min_ratio > \(Self.number(v.secondValue ?? 0.2))
                """, block: true, variant: v,
                  summary: "The provider rate limits \(w) although its own limiter has headroom",
                  description: "{{ $value | humanizePercentage }} of LLM requests from \(w) to {{ $labels.provider }}/{{ $labels.model }} got a 429 from the provider over the last 5 minutes while the client's limiter still had more than \(Self.percent(v.secondValue ?? 0.2))% of its bucket: the limiter is configured above the key's real limit (or the quota was cut). Unlike OrchLLMRateLimitSaturation, adding load control will not help: fix the limits.")
        }
    }

    mutating func renderBacklogAndLatency() {
        let w = whereText
        group("orchlog.backlog", title: ["The age of the queue's backlog: how long the oldest waiting request has waited."])
        for v in Self.variants(thresholds[.queueBacklogAge]) {
            alert("OrchQueueBacklogAge", "max by (\(by("queue"))) (\(Self.selector("orch_queue_oldest_age_seconds", v.matchers))) > \(Self.number(v.threshold))",
                  block: false, variant: v,
                  summary: "The oldest request in queue {{ $labels.queue }} of \(w) has waited too long",
                  description: "The oldest request waiting in queue {{ $labels.queue }} of \(w) has waited {{ $value | humanizeDuration }} in its worst process (threshold \(Self.number(v.threshold)) s): callers are timing out before work starts, whatever the queue's depth says.")
        }
        let knobs = thresholds[.latencySLO]
        let le = Self.number(knobs.secondValue ?? 60)
        group("orchlog.latency_slo", title: [
            "Latency SLO: \(Self.percent(knobs.threshold))% of each agent's invocations finish within \(le) s (a bucket",
            "bound of orch_invocation_duration_seconds). Multi-window, multi-burn-rate.",
        ])
        // Prometheus stores the bound as the exposition wrote it: "60" from the text format,
        // "60.0" from OpenMetrics (which it prefers when it scrapes the collector).
        let bound = le.contains(".") ? le.replacingOccurrences(of: ".", with: "\\\\.") : le + "(\\\\.0)?"
        for window in ["5m", "30m", "1h", "6h"] {
            record("agent:orch_invocations_slow:ratio_rate\(window)", """
                1 - (
                  sum by (\(by("agent"))) (rate(orch_invocation_duration_seconds_bucket{le=~"\(bound)"}[\(window)]))
                  /
                  sum by (\(by("agent"))) (rate(orch_invocation_duration_seconds_count[\(window)]))
                )
                """, block: true)
        }
        for v in Self.variants(knobs) {
            let target = Self.number(v.threshold)
            let expression = Self.burn("agent:orch_invocations_slow:ratio_rate", v.matchers, "/ (1 - \(target))", [("1h", "5m", "14.4"), ("6h", "30m", "6")])
            alert("OrchInvocationLatencySLOBurn", expression, block: true, variant: v,
                  summary: "Agent {{ $labels.agent }} of \(w) is burning its latency budget",
                  description: "Agent {{ $labels.agent }} of \(w) is spending the budget of its \(Self.percent(v.threshold))% within \(le) s latency SLO {{ $value | printf \"%.1f\" }} times faster than sustainable (1h/5m or 6h/30m windows).")
        }
    }

    mutating func renderAbsence() {
        let w = whereText
        group("orchlog.absence", title: ["Absent data: a source that stopped writing, or no collector reporting at all."])
        for v in Self.variants(thresholds[.pipelineSourceSilent]) {
            let minutes = Self.number(v.threshold)
            alert("OrchSourceSilent", """
                sum by (\(pipelineBy())) (increase(\(Self.selector("orchlog_collector_events_ingested_total", v.matchers))[\(minutes)m:1m])) == 0
                unless
                sum by (\(pipelineBy())) (\(Self.selector("orchlog_collector_events_ingested_total", v.matchers))) == 0
                """, block: true, variant: v,
                  summary: "Source \(w) has written no event for \(minutes) minutes",
                  description: "Collector {{ $labels.instance }} has ingested no event of source \(w) for \(minutes) minutes although it did before: the orchestrator stopped, its writer is stuck, or its log directory moved. Every other alert on this source is blind meanwhile.")
        }
        for v in Self.variants(thresholds[.pipelineCollectorAbsent]) {
            alert("OrchCollectorAbsent", "absent_over_time(orchlog_collector_sources[\(Self.number(v.threshold))m])", block: false, variant: v,
                  summary: "No orchlog collector is reporting",
                  description: "Prometheus has scraped no orchlog-collector for \(Self.number(v.threshold)) minutes: every orchlog metric and alert is silent. Check the collectors' processes and the scrape configuration.")
        }
    }

    /// A multi-window burn-rate condition: for each (long, short, factor), the recorded
    /// `record<window>` series of both windows, `scale`d to a burn rate, above the factor.
    static func burn(_ record: String, _ matchers: [String], _ scale: String, _ pairs: [(String, String, String)]) -> String {
        pairs.map { long, short, factor in
            """
            (
              \(selector(record + long, matchers)) \(scale) > \(factor)
              and
              \(selector(record + short, matchers)) \(scale) > \(factor)
            )
            """
        }.joined(separator: "\nor\n")
    }
}
