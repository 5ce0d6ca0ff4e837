import OrchMetrics
import Testing

@Suite struct HistogramRenderingTests {
    @Test func emptyHistogramSeriesRendersZeroBucketsSumAndCount() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerHistogram(name: "orch_queue_wait_seconds", help: "Queue wait.", labelNames: ["queue"], buckets: [0.1, 1], unit: "seconds")
        _ = try registry.series(family, labelValues: ["q"])
        #expect(rendered(registry, .prometheusText) == """
            # HELP orch_queue_wait_seconds Queue wait.
            # TYPE orch_queue_wait_seconds histogram
            orch_queue_wait_seconds_bucket{queue="q",le="0.1"} 0
            orch_queue_wait_seconds_bucket{queue="q",le="1"} 0
            orch_queue_wait_seconds_bucket{queue="q",le="+Inf"} 0
            orch_queue_wait_seconds_sum{queue="q"} 0
            orch_queue_wait_seconds_count{queue="q"} 0

            """)
        #expect(rendered(registry, .openMetrics) == """
            # TYPE orch_queue_wait_seconds histogram
            # UNIT orch_queue_wait_seconds seconds
            # HELP orch_queue_wait_seconds Queue wait.
            orch_queue_wait_seconds_bucket{queue="q",le="0.1"} 0
            orch_queue_wait_seconds_bucket{queue="q",le="1.0"} 0
            orch_queue_wait_seconds_bucket{queue="q",le="+Inf"} 0
            orch_queue_wait_seconds_sum{queue="q"} 0
            orch_queue_wait_seconds_count{queue="q"} 0
            orch_queue_wait_seconds_created{queue="q"} 1.7000000005e+09
            # EOF

            """)
    }

    @Test func histogramFamilyWithoutSeriesRendersOnlyMetadata() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        try registry.registerHistogram(name: "orch_unused_seconds", help: "Never observed.")
        #expect(rendered(registry, .prometheusText) == "# HELP orch_unused_seconds Never observed.\n# TYPE orch_unused_seconds histogram\n")
        #expect(rendered(registry, .openMetrics) == "# TYPE orch_unused_seconds histogram\n# HELP orch_unused_seconds Never observed.\n# EOF\n")
    }

    @Test func bucketsAreCumulativeAndInfBucketEqualsCount() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerHistogram(name: "orch_tool_call_duration_seconds", help: "Tool latency.", buckets: [0.1, 1, 10])
        let series = try registry.series(family, labelValues: [])
        for value in [0.0625, 0.5, 0.5, 1, 4, 50, 100] { registry.observe(series, value) }
        registry.observe(series, .nan)  // ignored
        #expect(sampleLines(rendered(registry, .prometheusText)) == [
            #"orch_tool_call_duration_seconds_bucket{le="0.1"} 1"#,
            #"orch_tool_call_duration_seconds_bucket{le="1"} 4"#,
            #"orch_tool_call_duration_seconds_bucket{le="10"} 5"#,
            #"orch_tool_call_duration_seconds_bucket{le="+Inf"} 7"#,
            "orch_tool_call_duration_seconds_sum 156.0625",
            "orch_tool_call_duration_seconds_count 7",
        ])
        #expect(registry.cumulativeBucketCounts(series) == [1, 4, 5, 7])
        #expect(registry.observationCount(series) == 7)
        #expect(registry.value(series) == 156.0625)
    }

    @Test func boundValueFallsIntoItsOwnBucket() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerHistogram(name: "orch_sizes_bytes", help: "Sizes.", buckets: Array(stride(from: 1.0, through: 40, by: 1)))
        let series = try registry.series(family, labelValues: [])
        registry.observe(series, 20)  // more than 16 bounds: binary search path
        registry.observe(series, 20.5)
        registry.observe(series, 0)
        let counts = registry.cumulativeBucketCounts(series)
        #expect(counts[0] == 1)   // le=1 holds 0
        #expect(counts[18] == 1)  // le=19
        #expect(counts[19] == 2)  // le=20 holds 20
        #expect(counts[20] == 3)  // le=21 holds 20.5
        #expect(counts.last == 3)
    }

    @Test func leValuesAreCanonicalPerFormat() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let bounds = [1e-05, 0.005, 0.5, 1, 2.5, 10, 100_000, 1_000_000]
        let family = try registry.registerHistogram(name: "orch_le_test", help: "Bounds.", buckets: bounds)
        _ = try registry.series(family, labelValues: [])
        func les(_ format: ExpositionFormat) -> [String] {
            sampleLines(rendered(registry, format)).filter { $0.contains("_bucket") }.map {
                String($0.split(separator: "\"")[1])
            }
        }
        #expect(les(.prometheusText) == ["1e-05", "0.005", "0.5", "1", "2.5", "10", "100000", "1e+06", "+Inf"])
        #expect(les(.openMetrics) == ["1e-05", "0.005", "0.5", "1.0", "2.5", "10.0", "100000.0", "1e+06", "+Inf"])
    }

    @Test func openMetricsOmitsSumWhenABoundIsNegative() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerHistogram(name: "orch_clock_skew_seconds", help: "Skew.", buckets: [-1, 0, 1])
        let series = try registry.series(family, labelValues: [])
        registry.observe(series, -0.5)
        #expect(!rendered(registry, .openMetrics).contains("_sum"))
        #expect(rendered(registry, .prometheusText).contains("orch_clock_skew_seconds_sum -0.5\n"))
        #expect(rendered(registry, .openMetrics).contains(#"orch_clock_skew_seconds_bucket{le="-1.0"} 0"#))
    }

    @Test func trailingInfinityBoundIsNotRenderedTwice() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerHistogram(name: "orch_inf_test", help: "Bounds.", buckets: [1, .infinity])
        _ = try registry.series(family, labelValues: [])
        #expect(sampleLines(rendered(registry, .prometheusText)).filter { $0.contains("+Inf") }.count == 1)
    }
}
