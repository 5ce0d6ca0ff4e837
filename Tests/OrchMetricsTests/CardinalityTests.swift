import OrchMetrics
import Testing

@Suite struct CardinalityTests {
    @Test func seriesPastTheLimitFoldIntoOneOverflowSeries() throws {
        let registry = MetricRegistry(seriesLimitPerFamily: 2)
        let calls = try registry.registerCounter(name: "orch_tool_calls_total", help: "Calls.", labelNames: ["source", "tool"])
        let other = try registry.registerGauge(name: "orch_workers", help: "Workers.", labelNames: ["pool"])
        let a = try registry.series(calls, labelValues: ["s", "a"])
        let b = try registry.series(calls, labelValues: ["s", "b"])
        let c = try registry.series(calls, labelValues: ["s", "c"])
        let d = try registry.series(calls, labelValues: ["s", "d"])
        #expect(a != b)
        #expect(c == d)
        #expect(registry.labelValues(c) == ["__overflow__", "__overflow__"])
        #expect(MetricRegistry.overflowLabelValue == "__overflow__")
        #expect(registry.droppedSeries(calls) == 2)
        #expect(registry.droppedSeries(other) == 0)
        #expect(registry.seriesCount(calls) == 3)
        #expect(try registry.series(calls, labelValues: ["s", "a"]) == a)
        #expect(registry.droppedSeries(calls) == 2)

        registry.add(a, 1)
        registry.add(c, 1)
        registry.add(d, 1)
        _ = try registry.series(other, labelValues: ["p"])
        #expect(registry.seriesCount == 4)
        #expect(sampleLines(rendered(registry, .prometheusText)) == [
            #"orch_tool_calls_total{source="s",tool="a"} 1"#,
            #"orch_tool_calls_total{source="s",tool="b"} 0"#,
            #"orch_tool_calls_total{source="__overflow__",tool="__overflow__"} 2"#,
            #"orch_workers{pool="p"} 0"#,
        ])
    }

    @Test func askingForTheOverflowSetDoesNotCountAsDropped() throws {
        let registry = MetricRegistry(seriesLimitPerFamily: 1)
        let family = try registry.registerGauge(name: "orch_g", help: "G.", labelNames: ["k"])
        let overflow = try registry.series(family, labelValues: ["__overflow__"])
        let first = try registry.series(family, labelValues: ["x"])
        #expect(overflow != first)
        #expect(registry.droppedSeries(family) == 0)
        #expect(try registry.series(family, labelValues: ["y"]) == overflow)
        #expect(registry.droppedSeries(family) == 1)
    }

    @Test func removingSeriesMakesRoomUnderTheLimit() throws {
        let registry = MetricRegistry(seriesLimitPerFamily: 1)
        let family = try registry.registerCounter(name: "orch_c_total", help: "C.", labelNames: ["source"])
        let a = try registry.series(family, labelValues: ["a"])
        let folded = try registry.series(family, labelValues: ["b"])
        #expect(registry.labelValues(folded) == ["__overflow__"])
        #expect(registry.removeSeries(a))
        let b = try registry.series(family, labelValues: ["b"])
        #expect(registry.labelValues(b) == ["b"])
        #expect(registry.droppedSeries(family) == 1)
    }

    @Test func defaultLimitIsTenThousand() throws {
        let registry = MetricRegistry()
        #expect(registry.seriesLimitPerFamily == 10_000)
        let family = try registry.registerCounter(name: "orch_many_total", help: "Many.", labelNames: ["id"])
        for i in 0 ..< 10_001 { _ = try registry.series(family, labelValues: [String(i)]) }
        #expect(registry.droppedSeries(family) == 1)
        #expect(registry.seriesCount(family) == 10_001)
    }

    @Test func wrongLabelCountIsAnErrorNotACrash() throws {
        let registry = MetricRegistry()
        let family = try registry.registerCounter(name: "orch_x_total", help: "X.", labelNames: ["a", "b"])
        #expect(throws: MetricsError.self) { try registry.series(family, labelValues: ["only one"]) }
        do {
            _ = try registry.series(family, labelValues: [])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .labelCountMismatch)
            #expect(error.message.contains("orch_x_total"))
        }
    }
}
