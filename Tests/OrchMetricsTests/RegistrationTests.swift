import OrchMetrics
import Testing

@Suite struct RegistrationTests {
    private func code(_ body: () throws -> Void) -> MetricsError.Code? {
        do {
            try body()
            return nil
        } catch let error as MetricsError {
            return error.code
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func invalidNamesAreRejected() {
        let registry = MetricRegistry()
        #expect(code { try registry.registerGauge(name: "9lives", help: "") } == .invalidMetricName)
        #expect(code { try registry.registerGauge(name: "has-dash", help: "") } == .invalidMetricName)
        #expect(code { try registry.registerGauge(name: "", help: "") } == .invalidMetricName)
        #expect(code { try registry.registerGauge(name: "__reserved", help: "") } == .invalidMetricName)
        #expect(code { try registry.registerGauge(name: "orch_gauge_total", help: "") } == .invalidMetricName)
        #expect(code { try registry.registerGauge(name: "ok", help: "", labelNames: ["bad-label"]) } == .invalidLabelName)
        #expect(code { try registry.registerGauge(name: "ok", help: "", labelNames: ["a", "a"]) } == .invalidLabelName)
        #expect(code { try registry.registerGauge(name: "ok", help: "", labelNames: ["__name__"]) } == .invalidLabelName)
        #expect(code { try registry.registerHistogram(name: "ok", help: "", labelNames: ["le"]) } == .invalidLabelName)
        #expect(code { try registry.registerHistogram(name: "ok", help: "", buckets: [1, 1]) } == .invalidBuckets)
        #expect(code { try registry.registerHistogram(name: "ok", help: "", buckets: [2, 1]) } == .invalidBuckets)
        #expect(code { try registry.registerHistogram(name: "ok", help: "", buckets: [.nan]) } == .invalidBuckets)
        #expect(registry.families.isEmpty)
    }

    @Test func sampleNameClashesAreRejected() throws {
        let registry = MetricRegistry()
        try registry.registerCounter(name: "orch_requests_total", help: "")
        try registry.registerHistogram(name: "orch_latency_seconds", help: "")
        #expect(code { try registry.registerCounter(name: "orch_requests", help: "") } == .nameClash)
        #expect(code { try registry.registerGauge(name: "orch_requests", help: "") } == .nameClash)
        #expect(code { try registry.registerGauge(name: "orch_requests_created", help: "") } == .nameClash)
        #expect(code { try registry.registerGauge(name: "orch_latency_seconds_count", help: "") } == .nameClash)
        #expect(code { try registry.registerGauge(name: "orch_latency_seconds_bucket", help: "") } == .nameClash)
        #expect(registry.families.map(\.name) == ["orch_requests_total", "orch_latency_seconds"])
    }

    @Test func familiesAreListedWithTheirDescriptions() throws {
        let registry = MetricRegistry()
        let id = try registry.registerHistogram(name: "orch_h_seconds", help: "H.", labelNames: ["source"], buckets: [1, 2, .infinity], unit: "seconds")
        let family = registry.family(id)
        #expect(family.buckets == [1, 2])
        #expect(family.type == .histogram)
        #expect(family.labelNames == ["source"])
        #expect(registry.family(named: "orch_h_seconds") == id)
        #expect(registry.family(named: "nope") == nil)
    }

    @Test func updatesOfTheWrongKindAreIgnored() throws {
        let registry = MetricRegistry()
        let counter = try registry.series(try registry.registerCounter(name: "orch_c_total", help: ""), labelValues: [])
        let histogram = try registry.series(try registry.registerHistogram(name: "orch_h", help: "", buckets: [1]), labelValues: [])
        registry.observe(counter, 5)
        registry.add(histogram, 5)
        registry.set(histogram, 5)
        #expect(registry.value(counter) == 0)
        #expect(registry.value(histogram) == 0)
        #expect(registry.observationCount(histogram) == 0)
    }
}
