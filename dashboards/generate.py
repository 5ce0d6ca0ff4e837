#!/usr/bin/env python3
"""Renders the orchlog Grafana dashboards.

    python3 dashboards/generate.py            # rewrite dashboards/*.json
    python3 dashboards/generate.py --check    # exit 1 if a JSON file differs
    python3 dashboards/generate.py --group-by cluster,namespace --out DIR

--group-by takes the labels a deployment adds to every series (relabelling,
external_labels), the same list as `orchlog rules --group-by`: every query
keeps them in its grouping, each gets a template variable that filters the
queries, and the legends name them. --out writes the JSON files to DIR
instead of dashboards/ (the checked-in files are the rendering without
--group-by).

The JSON files are what Grafana imports or provisions; this script is how they
are edited, so that both dashboards share panel definitions and the threshold
lines on the ratio panels are read from alerts/orchlog.rules.yml (they cannot
drift from the alerts). scripts/check-dashboards.py runs the --check mode.

Needs PyYAML (Debian: python3-yaml).
"""

import json
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("dashboards/generate.py: PyYAML is missing (apt-get install python3-yaml)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "alerts", "orchlog.rules.yml")
OUT = os.path.join(ROOT, "dashboards")

DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"


# --------------------------------------------------------------------------
# Thresholds, read from the alert rules: each alert ends in `> <number>`.
# --------------------------------------------------------------------------
def load_thresholds():
    """{alert[:signal]: [every number compared with `>` in its expr, in order]}, and the SLO."""
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    out, slo = {}, None
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            key = rule["alert"]
            signal = rule.get("labels", {}).get("signal")
            if signal:
                key += ":" + signal
            out.setdefault(key, [float(n) for n in re.findall(r">\s*([0-9.]+)", rule["expr"])])
            m = re.search(r"\(1 - ([0-9.]+)\)", rule["expr"])
            if m:
                slo = float(m.group(1))
    return out, slo


THRESHOLDS, SLO_TARGET = load_thresholds()


def threshold(key, index=0):
    """The index-th threshold of an alert (OrchToolTimeoutCascade: 0 tool ratio, 1 pool)."""
    values = THRESHOLDS.get(key, [])
    if len(values) <= index:
        sys.exit(f"dashboards/generate.py: no threshold {index} for {key} in {RULES}")
    return values[index]


# --------------------------------------------------------------------------
# Panel builders.
# --------------------------------------------------------------------------
# Histograms whose buckets carry exemplars ({invocation_id, trace_id}: docs/metrics.md).
EXEMPLAR_FAMILIES = ("orch_invocation_duration_seconds", "gen_ai_client_operation_duration_seconds",
                     "orch_tool_call_duration_seconds")


def target(expr, legend, ref):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "range": True, "refId": ref}
    # Grafana asks Prometheus for the exemplars of the buckets the query reads and draws them
    # as points to hover (docs/runbooks.md: from a slow bucket to the invocation behind it).
    if any(f + "_bucket" in expr for f in EXEMPLAR_FAMILIES):
        t["exemplar"] = True
    return t


def targets(*pairs):
    return [target(e, l, chr(ord("A") + i)) for i, (e, l) in enumerate(pairs)]


def timeseries(title, description, unit, tgts, *, alert_line=None, stack=False, w=8, h=8,
               minimum=0, maximum=None, draw="line", good_above=False):
    # alert_line: a dashed line at the alert's threshold; red above it, or
    # (good_above, for success ratios) red below it.
    defaults = {
        "unit": unit,
        "custom": {
            "drawStyle": draw,
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "thresholdsStyle": {"mode": "dashed" if alert_line is not None else "off"},
        },
        "thresholds": {
            "mode": "absolute",
            "steps": [{"color": "red" if good_above else "green", "value": None}]
            + ([{"color": "green" if good_above else "red", "value": alert_line}]
               if alert_line is not None else []),
        },
        "color": {"mode": "palette-classic"},
    }
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": tgts,
        "_size": (w, h),
    }


def stat(title, description, unit, tgts, *, steps, w=6, h=5, decimals=None):
    defaults = {
        "unit": unit,
        "thresholds": {"mode": "absolute", "steps": steps},
        "color": {"mode": "thresholds"},
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        },
        "targets": tgts,
        "_size": (w, h),
    }


BREAKER_MAPPINGS = [
    {"type": "value", "options": {
        "0": {"text": "closed", "color": "green", "index": 0},
        "1": {"text": "disabled", "color": "text", "index": 1},
        "2": {"text": "forced_open", "color": "purple", "index": 2},
        "3": {"text": "half_open", "color": "orange", "index": 3},
        "4": {"text": "open", "color": "red", "index": 4},
    }},
]


def breaker_expr(sel, by):
    # One number per (tool, source): the code of its current state, from the
    # one series per state that is 1. `max by (tool)` shows the worst source.
    states = [("closed", 0), ("disabled", 1), ("forced_open", 2), ("half_open", 3), ("open", 4)]
    parts = "\n  or ".join(
        f'orch_circuit_breaker_state{{{sel}, state="{s}"}} * {code}' for s, code in states)
    return f"max by ({by}) (\n  sum by (tool, source, instance) (\n  {parts}\n  )\n)"


def state_timeline(title, description, tgts, w=24, h=8):
    return {
        "type": "state-timeline",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {
            "defaults": {
                "unit": "none",
                "mappings": BREAKER_MAPPINGS,
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
                "color": {"mode": "thresholds"},
                "custom": {"fillOpacity": 80, "lineWidth": 0},
            },
            "overrides": [],
        },
        "options": {
            "mergeValues": True,
            "showValue": "auto",
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        "targets": tgts,
        "_size": (w, h),
    }


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def layout(items):
    """Assigns ids and grid positions: rows span the width, panels flow left to right."""
    panels, x, y, line_h, next_id = [], 0, 0, 0, 1
    for item in items:
        w, h = item.pop("_size")
        if item["type"] == "row":
            if x:
                y += line_h
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
            x, line_h = 0, 0
        else:
            if x + w > 24:
                y += line_h
                x, line_h = 0, 0
            item["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
            x += w
            line_h = max(line_h, h)
        item["id"] = next_id
        next_id += 1
        panels.append(item)
    return panels


def quantile(q, metric, sel, by):
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{sel}}}[{RI}])))"


def ratio(metric, num_sel, sel, by):
    return (f"sum by ({by}) (rate({metric}{{{sel}, {num_sel}}}[{RI}]))\n/\n"
            f"sum by ({by}) (rate({metric}{{{sel}}}[{RI}]))")


# --------------------------------------------------------------------------
# Panels per section. `s` is the source selector; `d` says how finely to
# break down (overview: by the failure mode's dimension; source: finer).
# --------------------------------------------------------------------------
def slo_section(s, a, detail):
    sa = f"{s}, {a}"
    slo_steps = [{"color": "red", "value": None}, {"color": "orange", "value": 0.95},
                 {"color": "green", "value": 0.99}]
    items = [
        row("SLO: invocation success (target 99%)"),
        stat("Success ratio", "Share of invocations that ended with outcome=\"success\" over the rate interval, for the selected sources and agents. The SLO is 99% (docs/alerts.md); failure, timeout and rejected count against it.",
             "percentunit",
             targets((f'sum(rate(orch_invocations_total{{{sa}, outcome="success"}}[{RI}]))\n/\nsum(rate(orch_invocations_total{{{sa}}}[{RI}]))', "success")),
             steps=slo_steps, w=6, h=8, decimals=1),
        timeseries("Success ratio by agent", "Per agent: successful invocations / all invocations. The line is the 99% SLO.",
                   "percentunit",
                   targets((f'sum by (agent) (rate(orch_invocations_total{{{sa}, outcome="success"}}[{RI}]))\n/\nsum by (agent) (rate(orch_invocations_total{{{sa}}}[{RI}]))', "{{agent}}")),
                   alert_line=SLO_TARGET, good_above=True, minimum=None, maximum=1, w=9),
        timeseries("Invocations by outcome", "Invocations finished per second, by outcome (success, failure, rejected, timeout).",
                   "ops",
                   targets((f"sum by (outcome) (rate(orch_invocations_total{{{sa}}}[{RI}]))", "{{outcome}}")),
                   stack=True, w=9),
    ]
    if not detail:
        items.append(timeseries(
            "Error budget burn rate",
            "How many times faster than sustainable each agent of each source spends the 1% error budget of the 99% SLO, over the 1h and 6h windows, from the recording rules (per source and agent, as the alert sees it). 14.4 (1h) and 6 (6h) page; 3 (1d) and 1 (3d) warn.",
            "suffix:×",
            targets((f'agent:orch_invocations_errors:ratio_rate1h{{{sa}}} / (1 - 0.99)', "{{source}} {{agent}} 1h"),
                    (f'agent:orch_invocations_errors:ratio_rate6h{{{sa}}} / (1 - 0.99)', "{{source}} {{agent}} 6h")),
            alert_line=threshold("OrchInvocationErrorBudgetBurn"), w=12))
    items.append(timeseries(
        "Invocation duration p50 / p95", "Time from start to finish of an invocation (queue wait excluded), by agent.",
        "s",
        targets((quantile(0.5, "orch_invocation_duration_seconds", sa, "agent"), "{{agent}} p50"),
                (quantile(0.95, "orch_invocation_duration_seconds", sa, "agent"), "{{agent}} p95")),
        w=12 if not detail else 24))
    return items


def queue_section(s, detail):
    # Per source, as OrchQueueBackpressure and OrchToolTimeoutCascade see it.
    by_src = ", source"
    return [
        row("Request queue and worker pool"),
        timeseries("Queue depth", "Invocations waiting in each queue (summed over sources), with its capacity. A depth that climbs for hours means arrivals outpace service (the reference incident: 4,200 and climbing).",
                   "short",
                   targets((f"sum by (queue) (orch_queue_depth{{{s}}})", "{{queue}} depth"),
                           (f"sum by (queue) (orch_queue_capacity{{{s}}})", "{{queue}} capacity"))),
        timeseries("Queue fill (fullest source)", "Depth / capacity of each queue of each source, in its fullest process. OrchQueueBackpressure (near_capacity) fires above the red line for 5 minutes.",
                   "percentunit",
                   targets((f"max by (queue{by_src}) (orch_queue_depth{{{s}}} / (orch_queue_capacity{{{s}}} > 0))", "{{source}} {{queue}}")),
                   alert_line=threshold("OrchQueueBackpressure:near_capacity"), maximum=1),
        timeseries("Rejections", "Callers turned away by backpressure per second, by queue and reason. OrchQueueBackpressure (rejecting) fires when this stays above zero for 5 minutes.",
                   "ops",
                   targets((f"sum by (queue, reason) (rate(orch_queue_rejections_total{{{s}}}[{RI}]))", "{{queue}} {{reason}}"))),
        timeseries("Queue wait p50 / p95", "Time invocations spent queued before a worker took them, by queue.",
                   "s",
                   targets((quantile(0.5, "orch_queue_wait_seconds", s, "queue"), "{{queue}} p50"),
                           (quantile(0.95, "orch_queue_wait_seconds", s, "queue"), "{{queue}} p95"))),
        timeseries("Worker pool busy (fullest source)", "Busy workers / pool size of each pool of each source, in its fullest process. Above 90% together with tool timeouts, OrchToolTimeoutCascade fires.",
                   "percentunit",
                   targets((f"max by (pool{by_src}) (orch_workers_busy{{{s}}} / (orch_workers{{{s}}} > 0))", "{{source}} {{pool}}")),
                   alert_line=threshold("OrchToolTimeoutCascade", 1), maximum=1),
        timeseries("Workers busy / size", "Busy workers and pool size, summed over sources.",
                   "short",
                   targets((f"sum by (pool) (orch_workers_busy{{{s}}})", "{{pool}} busy"),
                           (f"sum by (pool) (orch_workers{{{s}}})", "{{pool}} size"))),
    ]


def state_section(s, detail):
    shard = "source, shard"  # per source, as the alerts see it
    return [
        row("Failure mode: state consistency"),
        timeseries("Lost updates and stale reads", "Detected from versions by the collector: lost updates (two commits from one base version) and stale reads (a read older than an already committed version), per rate interval. Any is an alert (OrchStateLostUpdates): this failure mode raises no error anywhere else.",
                   "short",
                   targets((f"sum by ({shard}) (increase(orch_state_lost_updates_total{{{s}}}[{RI}]))", "{{source}} {{shard}} lost updates"),
                           (f"sum by ({shard}) (increase(orch_state_stale_reads_total{{{s}}}[{RI}]))", "{{source}} {{shard}} stale reads")),
                   draw="bars"),
        timeseries("OCC conflict ratio", "State write attempts rejected by the version check / all write attempts, by source and shard.",
                   "percentunit",
                   targets((ratio("orch_state_writes_total", 'outcome="conflict"', s, shard), "{{source}} {{shard}}"))),
        timeseries("OCC conflicts per invocation", "Conflicts on each shard per invocation started by its source, as OrchStateConflictRateHigh measures them (a hot record's conflicts are not diluted by the shard's other writes). It fires when the 2-minute value is above the red line, with at least 8 conflicts, for 1 minute.",
                   "short",
                   targets((f"sum by ({shard}) (increase(orch_state_writes_total{{{s}, outcome=\"conflict\"}}[{RI}]))\n/ on (source) group_left\n"
                            f"sum by (source) (increase(orch_invocations_started_total{{{s}}}[{RI}]))", "{{source}} {{shard}}")),
                   alert_line=threshold("OrchStateConflictRateHigh")),
        timeseries("Attempts per committed write p50 / p99", "How many attempts (OCC retries included) a committed write took. 1 means no retries.",
                   "short",
                   targets((f"histogram_quantile(0.5, sum by (le) (rate(orch_state_write_attempts_bucket{{{s}}}[{RI}])))", "p50"),
                           (f"histogram_quantile(0.99, sum by (le) (rate(orch_state_write_attempts_bucket{{{s}}}[{RI}])))", "p99"))),
        timeseries("State writes by outcome", "State write attempts per second by outcome (committed, conflict, timeout, error)" + (", by shard." if detail else "."),
                   "ops",
                   targets((f"sum by (outcome{', shard' if detail else ''}) (rate(orch_state_writes_total{{{s}}}[{RI}]))",
                            "{{outcome}}" + (" {{shard}}" if detail else ""))),
                   stack=True, w=12),
        timeseries("State reads by read source", "State reads per second by where they were served from (label read_source: cache or store).",
                   "ops",
                   targets((f"sum by (read_source{', shard' if detail else ''}) (rate(orch_state_reads_total{{{s}}}[{RI}]))",
                            "{{read_source}}" + (" {{shard}}" if detail else ""))),
                   stack=True, w=12),
    ]


def memory_section(s, detail):
    return [
        row("Failure mode: memory layer throughput"),
        timeseries("Write timeout ratio", "State writes that timed out / all state writes, by source and shard. OrchMemoryWriteTimeouts fires when the 2-minute ratio is above the red line, with at least 3 timeouts, for 1 minute (the reference incident: 18%).",
                   "percentunit",
                   targets((ratio("orch_state_writes_total", 'outcome="timeout"', s, "source, shard"), "{{source}} {{shard}}")),
                   alert_line=threshold("OrchMemoryWriteTimeouts")),
        timeseries("Write latency p99", "99th percentile of state write latency, by source and shard. OrchMemoryWriteLatencyHigh fires above the red line for 10 minutes.",
                   "s",
                   targets((quantile(0.99, "orch_state_write_duration_seconds", s, "source, shard"), "{{source}} {{shard}}")),
                   alert_line=threshold("OrchMemoryWriteLatencyHigh")),
        timeseries("Write-back pending", "Writes acknowledged from the cache and not yet flushed to the backing store, by shard (summed over sources). A backlog that only grows means flushes cannot keep up.",
                   "short",
                   targets((f"sum by (shard) (orch_memory_writeback_pending{{{s}}})", "{{shard}}"))),
        timeseries("Flush latency p99", "99th percentile of write-back flush duration, by shard.",
                   "s",
                   targets((quantile(0.99, "orch_memory_flush_duration_seconds", s, "shard"), "{{shard}}"))),
        timeseries("Flushes by outcome", "Write-back flushes per second by outcome (success, error, timeout).",
                   "ops",
                   targets((f"sum by (outcome{', shard' if detail else ''}) (rate(orch_memory_flushes_total{{{s}}}[{RI}]))",
                            "{{outcome}}" + (" {{shard}}" if detail else ""))),
                   stack=True, w=16),
    ]


def tool_section(s, detail):
    by = "tool, source" if detail else "tool"
    legend = "{{tool}} {{source}}" if detail else "{{tool}}"
    return [
        row("Failure mode: tool call timeout cascade"),
        state_timeline("Circuit breaker state", "State of each tool's circuit breaker" + (" on each source" if detail else " on its worst source") + ": closed, half_open (probing), open (calls short-circuited to the fallback), forced_open (by an operator), disabled. OrchToolCircuitOpen fires when a breaker stays open or half-open for 5 minutes.",
                       [target(breaker_expr(s, by), legend, "A")]),
        timeseries("Tool calls by outcome", "Tool calls per second by tool and outcome (success, error, timeout, short_circuited).",
                   "ops",
                   targets((f"sum by (tool, outcome) (rate(orch_tool_calls_total{{{s}}}[{RI}]))", "{{tool}} {{outcome}}")),
                   w=12),
        timeseries("Tool timeout ratio", "Tool calls that timed out / all tool calls, by source and tool. With the worker pool above 90% busy, OrchToolTimeoutCascade fires above the red line for 5 minutes.",
                   "percentunit",
                   targets((ratio("orch_tool_calls_total", 'outcome="timeout"', s, "source, tool"), "{{source}} {{tool}}")),
                   alert_line=threshold("OrchToolTimeoutCascade"), w=12),
        timeseries("Tool call latency p99", "99th percentile of tool call duration, by tool. A p99 at the timeout means calls are timing out.",
                   "s",
                   targets((quantile(0.99, "orch_tool_call_duration_seconds", s, "tool"), "{{tool}}"))),
        timeseries("Fallbacks", "Calls answered by the tool's fallback instead of the tool, per second.",
                   "ops",
                   targets((f"sum by (tool) (rate(orch_tool_fallbacks_total{{{s}}}[{RI}]))", "{{tool}}"))),
        timeseries("Breaker transitions", "Circuit breaker state changes per rate interval, by tool and transition.",
                   "short",
                   targets((f"sum by (tool, from, to) (increase(orch_circuit_breaker_transitions_total{{{s}}}[{RI}]))", "{{tool}} {{from}}→{{to}}")),
                   draw="bars"),
    ]


def llm_section(s, detail):
    return [
        row("Failure mode: LLM rate limits"),
        timeseries("429 ratio", "LLM requests answered with HTTP 429 (outcome=rate_limited) / all LLM requests, by source, provider and model, over all keys. OrchLLMRateLimitSaturation fires when the 2-minute ratio is above the red line, with at least 5 429s, for 1 minute (the reference incident: 23%).",
                   "percentunit",
                   targets((ratio("orch_llm_requests_total", 'outcome="rate_limited"', s, "source, provider, model"), "{{source}} {{provider}}/{{model}}")),
                   alert_line=threshold("OrchLLMRateLimitSaturation")),
        timeseries("In flight vs concurrency limit", "LLM requests in flight per source (summed over its processes) and the limiter's concurrency limit (the account's, reported by every process), as OrchLLMConcurrencyOverLimit compares them. The reference incident: 40 in flight against a limit of 20.",
                   "short",
                   targets((f"sum by (source, limiter) (orch_llm_inflight{{{s}}})", "{{source}} {{limiter}} in flight"),
                           (f"max by (source, limiter) (orch_llm_concurrency_limit{{{s}}})", "{{source}} {{limiter}} limit"))),
        timeseries("Token bucket available", "Tokens (requests) available in each client-side rate limiter's bucket, summed over sources. At zero, requests wait.",
                   "short",
                   targets((f"sum by (limiter) (orch_llm_ratelimit_available{{{s}}})", "{{limiter}}"))),
        timeseries("LLM requests by key and outcome" if detail else "LLM requests by outcome",
                   "LLM requests per second by outcome" + (", provider, model and API key alias." if detail else " and model."),
                   "ops",
                   targets((f"sum by (provider, model, key, outcome) (rate(orch_llm_requests_total{{{s}}}[{RI}]))", "{{model}} {{key}} {{outcome}}")
                           if detail else
                           (f"sum by (model, outcome) (rate(orch_llm_requests_total{{{s}}}[{RI}]))", "{{model}} {{outcome}}")),
                   w=12),
        timeseries("Rate-limit wait p95", "95th percentile of the time requests waited in the client-side limiter before being sent, by provider and model.",
                   "s",
                   targets((quantile(0.95, "orch_llm_ratelimit_wait_seconds", s, "provider, model"), "{{provider}}/{{model}}")),
                   w=12),
        timeseries("Tokens", "LLM tokens per second by model and type (input, output).",
                   "suffix: tokens/s",
                   targets((f"sum by (model, type) (rate(orch_llm_tokens_total{{{s}}}[{RI}]))", "{{model}} {{type}}"))),
        timeseries("Key rotations", "API key rotations per second, by provider and reason.",
                   "ops",
                   targets((f"sum by (provider, reason) (rate(orch_llm_key_rotations_total{{{s}}}[{RI}]))", "{{provider}} {{reason}}"))),
        timeseries("LLM operation duration p95 (GenAI)", "95th percentile of LLM operation duration from the OpenTelemetry GenAI metric gen_ai_client_operation_duration_seconds, by model.",
                   "s",
                   targets((quantile(0.95, "gen_ai_client_operation_duration_seconds", s, "gen_ai_request_model"), "{{gen_ai_request_model}}"))),
    ]


def cost_section(s, a, detail):
    # Issue 19: what invocations cost and fan out to, the provider's headroom, backlog age.
    by = "source, agent" if detail else "agent"
    return [
        row("Cost and fan-out"),
        timeseries("LLM spend (USD/day at this rate)", "What LLM requests cost, priced by the collector from --pricing.file, as USD per day at the current rate, by agent. OrchLLMSpendBudgetBurn compares it with the daily budget.",
                   "currencyUSD",
                   targets((f"sum by ({by}) (rate(orch_llm_cost_usd_total{{{s}, {a}}}[{RI}])) * 86400", "{{agent}}"))),
        timeseries("LLM calls per invocation p50 / p99", "LLM requests (every attempt) per finished invocation, by agent. OrchAgentRunaway fires when the p99 stays above the red line.",
                   "short",
                   targets((quantile(0.5, "orch_invocation_llm_calls", f"{s}, {a}", by), "{{agent}} p50"),
                           (quantile(0.99, "orch_invocation_llm_calls", f"{s}, {a}", by), "{{agent}} p99")),
                   alert_line=threshold("OrchAgentRunaway")),
        timeseries("Cost per invocation p50 / p99", "USD per finished invocation (all its LLM requests), by agent.",
                   "currencyUSD",
                   targets((quantile(0.5, "orch_invocation_cost_usd", f"{s}, {a}", by), "{{agent}} p50"),
                           (quantile(0.99, "orch_invocation_cost_usd", f"{s}, {a}", by), "{{agent}} p99"))),
        timeseries("Tokens by type", "LLM tokens per second by type: input, output, cache_read, cache_write, reasoning (a part of output).",
                   "suffix: tokens/s",
                   targets((f"sum by (type) (rate(orch_llm_tokens_total{{{s}}}[{RI}]))", "{{type}}"))),
        timeseries("Unpriced tokens", "Tokens of models (or token types) --pricing.file has no price for: their cost is missing from the spend.",
                   "suffix: tokens/s",
                   targets((f"sum by (provider, model) (rate(orchlog_collector_unpriced_tokens_total{{{s}}}[{RI}]))", "{{provider}}/{{model}}"))),
        timeseries("Time to first chunk p95 (GenAI)", "95th percentile of the time from sending a streamed LLM request to its first chunk, by model.",
                   "s",
                   targets((quantile(0.95, "gen_ai_client_operation_time_to_first_chunk_seconds", s, "gen_ai_request_model"), "{{gen_ai_request_model}}"))),
        row("Provider headroom and backlog age"),
        timeseries("Provider remaining requests", "What the provider's x-ratelimit-remaining-requests said at its last response, per key (the lowest over processes).",
                   "short",
                   targets((f"min by (provider, model, key) (orch_llm_provider_remaining_requests{{{s}}})", "{{model}} {{key}}"))),
        timeseries("Provider remaining tokens", "What the provider's x-ratelimit-remaining-tokens said at its last response, per key.",
                   "short",
                   targets((f"min by (provider, model, key) (orch_llm_provider_remaining_tokens{{{s}}})", "{{model}} {{key}}"))),
        timeseries("429s by limit and origin", "Rate-limited LLM requests per second by the limit hit and who enforced it: provider 429s while the client limiter has headroom are OrchLLMLimiterMisconfigured.",
                   "ops",
                   targets((f"sum by (rate_limit_type, origin) (rate(orch_llm_rate_limited_total{{{s}}}[{RI}]))", "{{origin}} {{rate_limit_type}}"))),
        timeseries("Oldest waiting request", "How long the oldest request in each queue has waited (worst process). OrchQueueBacklogAge fires above the red line.",
                   "s",
                   targets((f"max by (queue{', source' if detail else ''}) (orch_queue_oldest_age_seconds{{{s}}})", "{{queue}}")),
                   alert_line=threshold("OrchQueueBacklogAge")),
        timeseries("Arrivals vs starts", "Requests accepted into the queues per second against invocations started: a gap that lasts is a growing backlog.",
                   "ops",
                   targets((f"sum by (queue) (rate(orch_queue_enqueued_total{{{s}}}[{RI}]))", "{{queue}} enqueued"),
                           (f"sum by (source) (rate(orch_invocations_started_total{{{s}}}[{RI}]))", "{{source}} started"))),
    ]


def pipeline_section(s, detail):
    return [
        row("Pipeline: writers and collectors"),
        timeseries("Events dropped by writers", "Events the OrchLog writer had to drop, per rate interval, by source and reason. Any is an alert (OrchEventsDropped): the source's metrics undercount.",
                   "short",
                   targets((f"sum by (source, reason) (increase(orch_events_dropped_total{{{s}}}[{RI}]))", "{{source}} {{reason}}")),
                   draw="bars"),
        timeseries("Collector lag", "How far each collector is behind each source's log. OrchCollectorLagging fires above the red line for 5 minutes.",
                   "s",
                   targets((f"max by (instance, source) (orchlog_collector_lag_seconds{{{s}}})", "{{instance}} {{source}}")),
                   alert_line=threshold("OrchCollectorLagging")),
        timeseries("Events ingested", "Events the collectors decoded and aggregated per second, by source.",
                   "suffix: events/s",
                   targets((f"sum by (source) (rate(orchlog_collector_events_ingested_total{{{s}}}[{RI}]))", "{{source}}"))),
        timeseries("Decode errors and events lost", "Per rate interval: frames the collector could not decode (corruption) and events deleted by retention before they were read, by source.",
                   "short",
                   targets((f"sum by (source) (increase(orchlog_collector_decode_errors_total{{{s}}}[{RI}]))", "{{source}} decode errors"),
                           (f"sum by (source) (increase(orchlog_collector_events_lost_total{{{s}}}[{RI}]))", "{{source}} events lost")),
                   draw="bars", w=24),
    ]


# --------------------------------------------------------------------------
# Dashboards.
# --------------------------------------------------------------------------
def variables(multi_source):
    ds_var = {
        "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
        "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [],
        "refresh": 1, "regex": "", "skipUrlSync": False,
    }
    src_q = "label_values(orchlog_collector_events_ingested_total, source)"
    source = {
        "name": "source", "label": "Source", "type": "query", "datasource": DS,
        "definition": src_q, "query": {"query": src_q, "refId": "source"},
        "current": {}, "hide": 0, "includeAll": multi_source, "multi": multi_source, "options": [],
        "refresh": 2, "regex": "", "sort": 1, "skipUrlSync": False,
    }
    if multi_source:
        source["allValue"] = ".*"
    agent_q = 'label_values(orch_invocations_total{source=~"$source"}, agent)'
    agent = {
        "name": "agent", "label": "Agent", "type": "query", "datasource": DS,
        "definition": agent_q, "query": {"query": agent_q, "refId": "agent"},
        "current": {}, "hide": 0, "includeAll": True, "multi": True, "allValue": ".*", "options": [],
        "refresh": 2, "regex": "", "sort": 1, "skipUrlSync": False,
    }
    return {"list": [ds_var, source, agent]}


ANNOTATIONS = {"list": [
    {
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts", "type": "dashboard",
    },
    {
        "datasource": DS, "enable": True, "hide": False, "iconColor": "red",
        "name": "orchlog alerts",
        "expr": 'ALERTS{alertstate="firing", alertname=~"Orch.*"}',
        "step": "1m", "titleFormat": "{{alertname}}", "tagKeys": "severity,alertname",
        "textFormat": "{{severity}} {{shard}}{{tool}}{{provider}} {{model}}{{limiter}}{{queue}}{{agent}}{{source}}",
        "useValueForTime": False,
    },
]}


# --------------------------------------------------------------------------
# --group-by: extra labels in every query's grouping, a variable each.
# --------------------------------------------------------------------------
GROUP_BY = []


def extra_selector():
    """`cluster=~"$cluster", …` for the --group-by labels (empty without)."""
    return "".join(f', {g}=~"${g}"' for g in GROUP_BY)


def regroup(expr):
    """Puts the --group-by labels first in every aggregation's `by (…)` and every vector
    match's `on (…)`; an aggregation without one gets `by (<the labels>)`."""
    if not GROUP_BY:
        return expr
    labels = ", ".join(GROUP_BY)
    expr = re.sub(r"\b(sum|max|min|avg|count) by \(", lambda m: f"{m.group(1)} by ({labels}, ", expr)
    expr = re.sub(r"\bon \(", f"on ({labels}, ", expr)
    return re.sub(r"\b(sum|max|min|avg|count)\(", lambda m: f"{m.group(1)} by ({labels}) (", expr)


def regroup_panels(panels):
    for p in panels:
        for t in p.get("targets", []):
            t["expr"] = regroup(t["expr"])
            t["legendFormat"] = "".join("{{" + g + "}} " for g in GROUP_BY) + t["legendFormat"]
        regroup_panels(p.get("panels", []))
    return panels


def group_variables(templating):
    """A multi-value variable per --group-by label, before `source`, which they filter."""
    out = []
    for i, g in enumerate(GROUP_BY):
        before = "".join(f'{h}=~"${h}", ' for h in GROUP_BY[:i]).rstrip(", ")
        q = f"label_values(orchlog_collector_events_ingested_total{{{before}}}, {g})" if before \
            else f"label_values(orchlog_collector_events_ingested_total, {g})"
        out.append({
            "name": g, "label": g, "type": "query", "datasource": DS,
            "definition": q, "query": {"query": q, "refId": g},
            "current": {}, "hide": 0, "includeAll": True, "multi": True, "allValue": ".*", "options": [],
            "refresh": 2, "regex": "", "sort": 1, "skipUrlSync": False,
        })
    if GROUP_BY:
        source = next(v for v in templating["list"] if v["name"] == "source")
        sel = ", ".join(f'{g}=~"${g}"' for g in GROUP_BY)
        q = f"label_values(orchlog_collector_events_ingested_total{{{sel}}}, source)"
        source["definition"], source["query"] = q, {"query": q, "refId": "source"}
    templating["list"][1:1] = out
    return templating


def annotations():
    if not GROUP_BY:
        return ANNOTATIONS
    a = json.loads(json.dumps(ANNOTATIONS))
    alert = a["list"][1]
    alert["expr"] = 'ALERTS{alertstate="firing", alertname=~"Orch.*"' + extra_selector() + "}"
    alert["textFormat"] = "".join("{{" + g + "}} " for g in GROUP_BY) + alert["textFormat"]
    return a


def dashboard(uid, title, description, items, multi_source, link_title, link_uid):
    return {
        "annotations": annotations(),
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {"title": link_title, "type": "link", "icon": "dashboard", "tooltip": "",
             "url": f"/d/{link_uid}", "includeVars": True, "keepTime": True,
             "targetBlank": False, "asDropdown": False, "tags": []},
            {"title": "Runbooks", "type": "link", "icon": "doc", "tooltip": "What to do when an orchlog alert fires",
             "url": "https://github.com/orchlog/orchlog/blob/main/docs/runbooks.md",
             "includeVars": False, "keepTime": False, "targetBlank": True, "asDropdown": False, "tags": []},
        ],
        "panels": regroup_panels(layout(items)),
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["orchlog"],
        "templating": group_variables(variables(multi_source)),
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def overview():
    s, a = 'source=~"$source"' + extra_selector(), 'agent=~"$agent"'
    items = (slo_section(s, a, False) + queue_section(s, False) + state_section(s, False)
             + memory_section(s, False) + tool_section(s, False) + llm_section(s, False)
             + cost_section(s, a, False) + pipeline_section(s, False))
    return dashboard("orchlog-overview", "orchlog / Overview",
                     "Agent orchestrators at a glance: the invocation SLO, the request queue, and a row per failure mode (state consistency, memory layer, tool cascades, LLM rate limits), then the log pipeline itself.",
                     items, True, "orchlog / Source", "orchlog-source")


def source():
    s, a = 'source=~"$source"' + extra_selector(), 'agent=~"$agent"'
    items = (slo_section(s, a, True) + queue_section(s, True) + state_section(s, True)
             + memory_section(s, True) + tool_section(s, True) + llm_section(s, True)
             + cost_section(s, a, True) + pipeline_section(s, True))
    return dashboard("orchlog-source", "orchlog / Source",
                     "One source (an orchestrator process's log directory) in detail: the same rows as the overview, broken down by shard, tool, API key and source.",
                     items, False, "orchlog / Overview", "orchlog-overview")


def render(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def parse_args(argv):
    """--check, --group-by LABELS (comma-separated, repeatable), --out DIR."""
    check, group_by, out, i = False, [], OUT, 0
    while i < len(argv):
        arg = argv[i]
        name, _, inline = arg.partition("=")
        if arg == "--check":
            check = True
        elif name in ("--group-by", "--out"):
            if not inline:
                i += 1
                if i >= len(argv):
                    sys.exit(f"dashboards/generate.py: {name} needs a value")
                inline = argv[i]
            if name == "--out":
                out = inline
            else:
                group_by += inline.split(",")
        else:
            sys.exit(f"dashboards/generate.py: unknown argument {arg} (see the docstring)")
        i += 1
    reserved = {"source", "instance", "agent", "shard", "tool", "pool", "provider", "model", "limiter",
                "queue", "reason", "outcome", "state", "key", "read_source", "type", "from", "to", "le"}
    for g in group_by:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", g) or g.startswith("__"):
            sys.exit(f"dashboards/generate.py: --group-by: {g!r} is not a valid label name")
        if g in reserved:
            sys.exit(f"dashboards/generate.py: --group-by: {g} is a label of orchlog's metrics; "
                     "group by the labels your deployment adds (cluster, namespace, ...)")
    if len(set(group_by)) != len(group_by):
        sys.exit("dashboards/generate.py: --group-by: a label is given twice")
    if check and (group_by or out != OUT):
        sys.exit("dashboards/generate.py: --check compares dashboards/ with the rendering without --group-by")
    return check, group_by, out


def main():
    global GROUP_BY
    check, GROUP_BY, out = parse_args(sys.argv[1:])
    os.makedirs(out, exist_ok=True)
    outputs = {"orchlog-overview.json": render(overview()), "orchlog-source.json": render(source())}
    stale = []
    for name, text in outputs.items():
        path = os.path.join(out, name)
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit("dashboards/generate.py: out of date: " + ", ".join(stale)
                 + " (run: python3 dashboards/generate.py)")


if __name__ == "__main__":
    main()
