import OrchMetrics
import Testing

@Suite struct ValueFormattingTests {
    private func render(_ value: Double, _ format: ExpositionFormat = .prometheusText) throws -> String {
        let registry = MetricRegistry()
        let gauge = try registry.registerGauge(name: "orch_value", help: "A value.")
        registry.set(try registry.series(gauge, labelValues: []), value)
        let lines = sampleLines(rendered(registry, format))
        #expect(lines.count == 1)
        return String(lines.first?.dropFirst("orch_value ".count) ?? "")
    }

    @Test func nonFiniteGaugesRenderCanonically() throws {
        for format in ExpositionFormat.allCases {
            #expect(try render(.nan, format) == "NaN")
            #expect(try render(.infinity, format) == "+Inf")
            #expect(try render(-.infinity, format) == "-Inf")
        }
    }

    @Test func integersRenderWithoutDecimalPointOrExponent() throws {
        #expect(try render(42) == "42")
        #expect(try render(0) == "0")
        #expect(try render(-0.0) == "0")
        #expect(try render(-3) == "-3")
        #expect(try render(1_000_000) == "1000000")
        #expect(try render(9_007_199_254_740_992) == "9007199254740992")
        #expect(try render(42, .openMetrics) == "42")
    }

    @Test func fractionsRenderAsShortestRoundTrip() throws {
        #expect(try render(0.1 + 0.2) == "0.30000000000000004")
        #expect(try render(2.5) == "2.5")
        #expect(try render(0.001) == "0.001")
        #expect(try render(0.0001) == "0.0001")
        #expect(try render(0.00001) == "1e-05")
        #expect(try render(-1.5e-7) == "-1.5e-07")
        #expect(try render(1234567.5) == "1.2345675e+06")
        #expect(try render(123.456) == "123.456")
        #expect(try render(1.5e300) == "1.5e+300")
        #expect(try render(.leastNonzeroMagnitude) == "5e-324")
        for value in [0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0 * 1e-9, 123456.789e10, .pi] {
            #expect(try Double(render(value)) == value)
        }
    }

    @Test func countersIgnoreNegativeAndNaNIncrements() throws {
        let registry = MetricRegistry()
        let counter = try registry.registerCounter(name: "orch_events_total", help: "Events.")
        let series = try registry.series(counter, labelValues: [])
        registry.add(series, 2)
        registry.add(series, -1)
        registry.add(series, .nan)
        registry.increment(series)
        #expect(registry.value(series) == 3)
        #expect(sampleLines(rendered(registry, .prometheusText)) == ["orch_events_total 3"])
    }

    @Test func gaugesGoUpAndDown() throws {
        let registry = MetricRegistry()
        let gauge = try registry.registerGauge(name: "orch_queue_depth", help: "Depth.", labelNames: ["queue"])
        let series = try registry.series(gauge, labelValues: ["q"])
        registry.add(series, 5)
        registry.add(series, -7)
        #expect(sampleLines(rendered(registry, .prometheusText)) == [#"orch_queue_depth{queue="q"} -2"#])
    }
}
