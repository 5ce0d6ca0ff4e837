import OrchMetrics
import Testing

@Suite struct OpenMetricsTests {
    private func toolCalls() throws -> MetricRegistry {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerCounter(name: "orch_tool_calls_total", help: "Tool calls by outcome.", labelNames: ["source", "tool", "outcome"])
        registry.add(try registry.series(family, labelValues: ["a", "crm", "error"]), 3)
        return registry
    }

    @Test func countersAreNamedWithoutTotalInMetadataAndWithTotalInSamples() throws {
        #expect(rendered(try toolCalls(), .openMetrics) == """
            # TYPE orch_tool_calls counter
            # HELP orch_tool_calls Tool calls by outcome.
            orch_tool_calls_total{source="a",tool="crm",outcome="error"} 3
            orch_tool_calls_created{source="a",tool="crm",outcome="error"} 1.7000000005e+09
            # EOF

            """)
    }

    @Test func prometheusTextNamesCountersWithTotalAndHasNoEOF() throws {
        #expect(rendered(try toolCalls(), .prometheusText) == """
            # HELP orch_tool_calls_total Tool calls by outcome.
            # TYPE orch_tool_calls_total counter
            orch_tool_calls_total{source="a",tool="crm",outcome="error"} 3

            """)
    }

    @Test func counterRegisteredWithoutTotalGetsTotalSamplesAndUnit() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let family = try registry.registerCounter(name: "orch_llm_ratelimit_wait_seconds", help: "Time spent waiting.", unit: "seconds")
        registry.add(try registry.series(family, labelValues: []), 1.5)
        #expect(rendered(registry, .openMetrics) == """
            # TYPE orch_llm_ratelimit_wait_seconds counter
            # UNIT orch_llm_ratelimit_wait_seconds seconds
            # HELP orch_llm_ratelimit_wait_seconds Time spent waiting.
            orch_llm_ratelimit_wait_seconds_total 1.5
            orch_llm_ratelimit_wait_seconds_created 1.7000000005e+09
            # EOF

            """)
        #expect(rendered(registry, .prometheusText).contains("# TYPE orch_llm_ratelimit_wait_seconds_total counter\norch_llm_ratelimit_wait_seconds_total 1.5\n"))
        #expect(registry.family(named: "orch_llm_ratelimit_wait_seconds_total") == family)
    }

    @Test func unitLineOnlyWhenNameEndsWithUnit() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        try registry.registerGauge(name: "orch_queue_depth", help: "Depth.", unit: "seconds")
        try registry.registerGauge(name: "orch_resident_memory_bytes", help: "Memory.", unit: "bytes")
        let om = rendered(registry, .openMetrics)
        #expect(!om.contains("# UNIT orch_queue_depth"))
        #expect(om.contains("# UNIT orch_resident_memory_bytes bytes\n"))
        #expect(!rendered(registry, .prometheusText).contains("# UNIT"))
    }

    @Test func eofIsTheLastLineExactlyOnce() throws {
        let registry = try toolCalls()
        try registry.registerGauge(name: "orch_workers", help: "Workers.")
        let om = rendered(registry, .openMetrics)
        #expect(om.hasSuffix("\n# EOF\n"))
        #expect(om.components(separatedBy: "# EOF").count == 2)
        var buffer: [UInt8] = []
        registry.render(format: .openMetrics, into: &buffer, terminate: false)
        #expect(!String(decoding: buffer, as: UTF8.self).contains("# EOF"))
    }

    @Test func renderAppendsToExistingBytes() throws {
        var buffer = Array("prefix\n".utf8)
        try toolCalls().render(format: .prometheusText, into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self).hasPrefix("prefix\n# HELP orch_tool_calls_total"))
    }

    @Test func familiesRenderInRegistrationOrder() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        try registry.registerGauge(name: "zzz_first", help: "First.")
        try registry.registerGauge(name: "aaa_second", help: "Second.")
        let text = rendered(registry, .prometheusText)
        let first = try #require(text.range(of: "zzz_first"))
        let second = try #require(text.range(of: "aaa_second"))
        #expect(first.lowerBound < second.lowerBound)
    }

    @Test func contentTypesAreExact() {
        #expect(ExpositionFormat.prometheusText.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }

    @Test func infoFamiliesAreInfoInOpenMetricsAndGaugesInText() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000.5 })
        let build = try registry.registerInfo(name: "orchlog_collector_build_info", help: "Build.", labelNames: ["version"])
        registry.set(try registry.series(build, labelValues: ["1.2.3"]), 1)
        #expect(rendered(registry, .openMetrics) == """
            # TYPE orchlog_collector_build info
            # HELP orchlog_collector_build Build.
            orchlog_collector_build_info{version="1.2.3"} 1
            # EOF

            """)
        #expect(rendered(registry, .prometheusText) == """
            # HELP orchlog_collector_build_info Build.
            # TYPE orchlog_collector_build_info gauge
            orchlog_collector_build_info{version="1.2.3"} 1

            """)
        // An info family is named <family>_info, and its names are taken.
        #expect(throws: MetricsError.self) { try registry.registerInfo(name: "build", help: "x") }
        #expect(throws: MetricsError.self) { try registry.registerInfo(name: "_info", help: "x") }
        #expect(throws: MetricsError.self) { try registry.registerGauge(name: "orchlog_collector_build", help: "x") }
    }

    @Test func createdTimesSurviveASnapshotAndInfoFamiliesAreNotCarried() throws {
        func registry(_ at: Double) throws -> (MetricRegistry, MetricFamilyID, MetricFamilyID) {
            let r = MetricRegistry(clock: { at })
            let calls = try r.registerCounter(name: "calls_total", help: "", labelNames: ["tool"])
            let info = try r.registerInfo(name: "build_info", help: "", labelNames: ["version"])
            return (r, calls, info)
        }
        let (first, calls, info) = try registry(100)
        first.add(try first.series(calls, labelValues: ["crm"]), 2)
        first.set(try first.series(info, labelValues: ["1"]), 1)
        let snapshot = first.snapshot()
        #expect(!snapshot.families.contains { $0.name == "build_info" })
        let (second, calls2, _) = try registry(999)
        let result = second.restore(snapshot)
        #expect(result.ignoredFamilies.isEmpty)
        second.add(try second.series(calls2, labelValues: ["kb"]), 1)
        let text = rendered(second, .openMetrics)
        #expect(text.contains("calls_created{tool=\"crm\"} 100\n") && text.contains("calls_created{tool=\"kb\"} 999\n"), "\(text)")
        #expect(!rendered(second, .prometheusText).contains("_created"), "text 0.0.4 unchanged")
        // A snapshot from before created times were kept restores them as created now.
        var old = snapshot
        old.families = old.families.map { var f = $0; f.created = []; return f }
        let (third, _, _) = try registry(555)
        _ = third.restore(old)
        #expect(rendered(third, .openMetrics).contains("calls_created{tool=\"crm\"} 555\n"))
    }
}
