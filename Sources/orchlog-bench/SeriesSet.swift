import OrchMetrics

/// The render benchmark's metric set, defined so that bench/prometheus_client_render.py builds
/// exactly the same one: `target` series counted as Prometheus counts them (one per sample line:
/// each histogram bucket, `_sum` and `_count` is a series), half from counters and gauges, half
/// from histograms.
///
/// - 4 counters `orch_bench_{requests,errors,tokens,retries}_total` and 2 gauges
///   `orch_bench_{queue_depth,inflight}`, labels `source, agent, key`; label set k of a family:
///   `bench`, `agent-(k % 100)`, `key-(k / 100)`; scalar set j goes to family j % 6 as k = j / 6;
///   counter value 3k + 1, gauge value k + 0.25.
/// - 1 histogram `orch_bench_latency_seconds` (default buckets: 11 bounds + `+Inf`, `_sum`,
///   `_count` = 14 series per label set), same labels, observations (7k + 13o) % 100 / 10 for o in 0..<3.
enum SeriesSet {
    static let counters = ["orch_bench_requests", "orch_bench_errors", "orch_bench_tokens", "orch_bench_retries"]
    static let gauges = ["orch_bench_queue_depth", "orch_bench_inflight"]
    static let histogram = "orch_bench_latency_seconds"
    static let labelNames = ["source", "agent", "key"]
    static let seriesPerHistogram = MetricFamily.defaultBuckets.count + 3

    /// Label sets of scalars and of histograms for `target` series.
    static func shape(_ target: Int) -> (scalars: Int, histograms: Int) {
        let scalars = target / 2
        return (scalars, (target - scalars) / seriesPerHistogram)
    }

    /// Series (sample lines) of the set for `target`.
    static func seriesCount(_ target: Int) -> Int {
        let s = shape(target)
        return s.scalars + s.histograms * seriesPerHistogram
    }

    static func labels(_ k: Int) -> [String] { ["bench", "agent-\(k % 100)", "key-\(k / 100)"] }

    /// Builds the registry for `target` series.
    static func build(_ target: Int) throws -> MetricRegistry {
        let registry = MetricRegistry(seriesLimitPerFamily: target)
        var scalarFamilies: [(MetricFamilyID, Bool)] = []
        for name in counters {
            scalarFamilies.append((try registry.registerCounter(name: name, help: "Benchmark counter \(name).", labelNames: labelNames), true))
        }
        for name in gauges {
            scalarFamilies.append((try registry.registerGauge(name: name, help: "Benchmark gauge \(name).", labelNames: labelNames), false))
        }
        let latency = try registry.registerHistogram(name: histogram, help: "Benchmark histogram.", labelNames: labelNames, unit: "seconds")
        let (scalars, histograms) = shape(target)
        for j in 0..<scalars {
            let (family, isCounter) = scalarFamilies[j % scalarFamilies.count]
            let k = j / scalarFamilies.count
            let h = try registry.series(family, labelValues: labels(k))
            if isCounter { registry.add(h, Double(3 * k + 1)) } else { registry.set(h, Double(k) + 0.25) }
        }
        for k in 0..<histograms {
            let h = try registry.series(latency, labelValues: labels(k))
            for o in 0..<3 { registry.observe(h, Double((7 * k + 13 * o) % 100) / 10) }
        }
        return registry
    }
}
