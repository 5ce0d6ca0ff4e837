import OrchMetrics
import Testing

@Suite struct RemovalTests {
    @Test func removingByLabelValueDropsThatSourceEverywhere() throws {
        let registry = MetricRegistry()
        let calls = try registry.registerCounter(name: "orch_tool_calls_total", help: "Calls.", labelNames: ["source", "tool"])
        let wait = try registry.registerHistogram(name: "orch_queue_wait_seconds", help: "Wait.", labelNames: ["queue", "source"], buckets: [1])
        let build = try registry.registerGauge(name: "orchlog_collector_build_info", help: "Build.", labelNames: ["version"])
        let a1 = try registry.series(calls, labelValues: ["a", "crm"])
        let b1 = try registry.series(calls, labelValues: ["b", "crm"])
        let a2 = try registry.series(calls, labelValues: ["a", "mail"])
        let aWait = try registry.series(wait, labelValues: ["q", "a"])
        let bWait = try registry.series(wait, labelValues: ["q", "b"])
        registry.set(try registry.series(build, labelValues: ["a"]), 1)
        registry.add(a1, 5)
        registry.add(b1, 6)
        registry.add(a2, 7)
        registry.observe(aWait, 0.5)
        registry.observe(bWait, 2)
        let generation = registry.removalGeneration

        #expect(registry.removeSeries(whereLabel: "source", equals: "a") == 3)
        #expect(registry.removalGeneration != generation)
        #expect(registry.seriesCount == 3)
        let text = rendered(registry, .prometheusText)
        #expect(!text.contains(#"source="a""#))
        #expect(text.contains(#"orchlog_collector_build_info{version="a"} 1"#))  // other label, same value: kept

        // Handles of surviving series still point at their series.
        registry.add(b1, 1)
        registry.observe(bWait, 0.1)
        #expect(sampleLines(rendered(registry, .prometheusText)) == [
            #"orch_tool_calls_total{source="b",tool="crm"} 7"#,
            #"orch_queue_wait_seconds_bucket{queue="q",source="b",le="1"} 1"#,
            #"orch_queue_wait_seconds_bucket{queue="q",source="b",le="+Inf"} 2"#,
            "orch_queue_wait_seconds_sum{queue=\"q\",source=\"b\"} 2.1",
            #"orch_queue_wait_seconds_count{queue="q",source="b"} 2"#,
            #"orchlog_collector_build_info{version="a"} 1"#,
        ])
    }

    @Test func seriesCreatedAfterRemovalStartFromZero() throws {
        let registry = MetricRegistry()
        let calls = try registry.registerCounter(name: "orch_c_total", help: "C.", labelNames: ["source"])
        let wait = try registry.registerHistogram(name: "orch_w_seconds", help: "W.", labelNames: ["source"], buckets: [1])
        registry.add(try registry.series(calls, labelValues: ["a"]), 9)
        registry.observe(try registry.series(wait, labelValues: ["a"]), 0.5)
        registry.add(try registry.series(calls, labelValues: ["keep"]), 1)
        #expect(registry.removeSeries(whereLabel: "source", equals: "a") == 2)

        let again = try registry.series(calls, labelValues: ["a"])
        let newWait = try registry.series(wait, labelValues: ["a"])
        #expect(registry.value(again) == 0)
        #expect(registry.observationCount(newWait) == 0)
        #expect(registry.value(newWait) == 0)
        #expect(sampleLines(rendered(registry, .prometheusText)).contains(#"orch_c_total{source="a"} 0"#))
        #expect(sampleLines(rendered(registry, .prometheusText)).contains(#"orch_c_total{source="keep"} 1"#))
    }

    @Test func manyRemovalsKeepPrefixesIntact() throws {
        let registry = MetricRegistry()
        let family = try registry.registerGauge(name: "orch_g", help: "G.", labelNames: ["source", "pad"])
        let padding = String(repeating: "x", count: 200)
        for round in 0 ..< 5 {
            for i in 0 ..< 50 {
                registry.set(try registry.series(family, labelValues: ["s\(i % 5)", padding + "\(round)-\(i)"]), Double(i))
            }
            for source in 0 ..< 4 { registry.removeSeries(whereLabel: "source", equals: "s\(source)") }
        }
        let lines = sampleLines(rendered(registry, .prometheusText))
        #expect(lines.count == 50)
        for line in lines {
            #expect(line.hasPrefix(#"orch_g{source="s4",pad=""# + padding))
        }
    }

    @Test func removingUnknownLabelOrValueRemovesNothing() throws {
        let registry = MetricRegistry()
        let family = try registry.registerGauge(name: "orch_g", help: "G.", labelNames: ["source"])
        let handle = try registry.series(family, labelValues: ["a"])
        let generation = registry.removalGeneration
        #expect(registry.removeSeries(whereLabel: "nope", equals: "a") == 0)
        #expect(registry.removeSeries(whereLabel: "source", equals: "b") == 0)
        #expect(registry.removalGeneration == generation)
        #expect(registry.removeSeries(handle))
        #expect(!registry.removeSeries(handle))
        #expect(registry.seriesCount == 0)
    }
}
