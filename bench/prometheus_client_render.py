#!/usr/bin/env python3
"""Times Python prometheus_client's generate_latest on the render benchmark's series set.

The set is built exactly as orchlog-bench's SeriesSet (Sources/orchlog-bench/SeriesSet.swift):
`--series` counted as Prometheus counts them (each sample line, histogram buckets included),
half from 4 counters and 2 gauges, half from one histogram with the same 11 bucket bounds;
labels source, agent, key. `_created` samples are disabled so both sides expose the same lines.
Prints one JSON object: median/min/max milliseconds per format, bytes and sample lines.
"""
import argparse
import json
import statistics
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_openmetrics

COUNTERS = ["orch_bench_requests", "orch_bench_errors", "orch_bench_tokens", "orch_bench_retries"]
GAUGES = ["orch_bench_queue_depth", "orch_bench_inflight"]
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LABELS = ["source", "agent", "key"]
SERIES_PER_HISTOGRAM = len(BUCKETS) + 3  # + "+Inf", _sum, _count


def labels(k):
    return ("bench", f"agent-{k % 100}", f"key-{k // 100}")


def build(target):
    disable_created_metrics()
    registry = CollectorRegistry()
    scalars = [(Counter(n, f"Benchmark counter {n}.", LABELS, registry=registry), True) for n in COUNTERS]
    scalars += [(Gauge(n, f"Benchmark gauge {n}.", LABELS, registry=registry), False) for n in GAUGES]
    histogram = Histogram("orch_bench_latency_seconds", "Benchmark histogram.", LABELS, registry=registry,
                          buckets=BUCKETS, unit="seconds")
    scalar_sets = target // 2
    histogram_sets = (target - scalar_sets) // SERIES_PER_HISTOGRAM
    for j in range(scalar_sets):
        family, is_counter = scalars[j % len(scalars)]
        k = j // len(scalars)
        child = family.labels(*labels(k))
        if is_counter:
            child.inc(3 * k + 1)
        else:
            child.set(k + 0.25)
    for k in range(histogram_sets):
        child = histogram.labels(*labels(k))
        for o in range(3):
            child.observe(((7 * k + 13 * o) % 100) / 10)
    return registry, scalar_sets + histogram_sets * SERIES_PER_HISTOGRAM


def measure(render, warmup, runs):
    out = b""
    for _ in range(warmup):
        out = render()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        out = render()
        samples.append((time.perf_counter() - start) * 1000)
    lines = sum(1 for line in out.splitlines() if line and not line.startswith(b"#"))
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples),
            "runs": runs, "bytes": len(out), "sample_lines": lines}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    registry, series = build(args.series)
    result = {
        "series": series,
        "text": measure(lambda: generate_latest(registry), args.warmup, args.runs),
        "openmetrics": measure(lambda: generate_latest_openmetrics(registry), args.warmup, args.runs),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
