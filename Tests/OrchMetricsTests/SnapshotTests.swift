import Foundation
import OrchMetrics
import Testing

@Suite struct SnapshotTests {
    /// Registers the same families in any registry.
    private func register(_ registry: MetricRegistry, includeGauge: Bool = true, buckets: [Double] = [0.1, 1, 10]) throws -> (MetricFamilyID, MetricFamilyID?, MetricFamilyID) {
        let counter = try registry.registerCounter(name: "orch_tool_calls_total", help: "Calls.", labelNames: ["source", "tool", "outcome"])
        let gauge = includeGauge ? try registry.registerGauge(name: "orch_queue_depth", help: "Depth.", labelNames: ["source", "queue"]) : nil
        let histogram = try registry.registerHistogram(name: "orch_tool_call_duration_seconds", help: "Latency.", labelNames: ["source", "tool"], buckets: buckets, unit: "seconds")
        return (counter, gauge, histogram)
    }

    private func populated() throws -> MetricRegistry {
        let registry = MetricRegistry(seriesLimitPerFamily: 4)
        let (counter, gauge, histogram) = try register(registry)
        for (i, tool) in ["crm", "search", "mail \"x\"\n", "日本", "", "extra1", "extra2"].enumerated() {
            registry.add(try registry.series(counter, labelValues: ["a", tool, i % 2 == 0 ? "ok" : "error"]), Double(i) + 0.5)
        }
        let gaugeFamily = try #require(gauge)
        registry.set(try registry.series(gaugeFamily, labelValues: ["a", "nan"]), .nan)
        registry.set(try registry.series(gaugeFamily, labelValues: ["a", "inf"]), .infinity)
        registry.set(try registry.series(gaugeFamily, labelValues: ["a", "neg"]), -.infinity)
        registry.set(try registry.series(gaugeFamily, labelValues: ["b", "real"]), 0.1 + 0.2)
        let h = try registry.series(histogram, labelValues: ["a", "crm"])
        for value in [0.05, 0.3, 2, 20, 0.7] { registry.observe(h, value) }
        _ = try registry.series(histogram, labelValues: ["b", "empty"])
        // Make a hole so slot reuse and order are exercised.
        #expect(registry.removeSeries(gaugeFamily, whereLabel: "queue", equals: "neg") == 1)
        registry.set(try registry.series(gaugeFamily, labelValues: ["c", "reused"]), 7)
        return registry
    }

    @Test func snapshotRestoreReproducesTheExpositionExactly() throws {
        let original = try populated()
        let snapshot = original.snapshot()
        let restored = MetricRegistry(seriesLimitPerFamily: 4)
        _ = try register(restored)
        let result = restored.restore(snapshot)
        #expect(result.ignoredFamilies.isEmpty)
        #expect(result.foldedSeries == 0)
        #expect(result.restoredSeries == original.seriesCount)
        for format in ExpositionFormat.allCases {
            #expect(rendered(restored, format) == rendered(original, format))
        }
        #expect(restored.snapshot() == snapshot)
        let calls = try #require(restored.family(named: "orch_tool_calls_total"))
        #expect(restored.droppedSeries(calls) == 3)
    }

    @Test func snapshotSurvivesJSONWithNonFiniteValues() throws {
        let original = try populated()
        let snapshot = original.snapshot()
        let data = try JSONEncoder().encode(snapshot)
        let decoded = try JSONDecoder().decode(MetricSnapshot.self, from: data)
        #expect(decoded == snapshot)
        let restored = MetricRegistry(seriesLimitPerFamily: 4)
        _ = try register(restored)
        restored.restore(decoded)
        #expect(rendered(restored, .openMetrics) == rendered(original, .openMetrics))
        #expect(rendered(restored, .prometheusText).contains(#"orch_queue_depth{source="a",queue="nan"} NaN"#))
    }

    @Test func finiteValuesAreEncodedAsPlainNumbers() throws {
        let registry = MetricRegistry()
        let counter = try registry.registerCounter(name: "orch_c_total", help: "C.", labelNames: ["k"])
        registry.add(try registry.series(counter, labelValues: ["v"]), 42)
        let json = String(decoding: try JSONEncoder().encode(registry.snapshot()), as: UTF8.self)
        #expect(json.contains("\"values\":[42]"))
        #expect(!json.contains("valueBits"))
    }

    @Test func restoredCountersKeepCounting() throws {
        let original = try populated()
        let restored = MetricRegistry(seriesLimitPerFamily: 4)
        let (counter, _, histogram) = try register(restored)
        restored.restore(original.snapshot())
        let crm = try restored.series(counter, labelValues: ["a", "crm", "ok"])
        restored.add(crm, 1)
        #expect(restored.value(crm) == 1.5)
        let h = try restored.series(histogram, labelValues: ["a", "crm"])
        restored.observe(h, 0.01)
        #expect(restored.cumulativeBucketCounts(h) == [2, 4, 5, 6])
    }

    @Test func unknownAndChangedFamiliesAreIgnoredAndCounted() throws {
        let original = try populated()
        let restored = MetricRegistry(seriesLimitPerFamily: 4)
        _ = try register(restored, includeGauge: false, buckets: [0.5, 5])
        let result = restored.restore(original.snapshot())
        #expect(result.ignoredFamilyCount == 2)
        #expect(Set(result.ignoredFamilies) == ["orch_queue_depth", "orch_tool_call_duration_seconds"])
        #expect(rendered(restored, .prometheusText).contains(#"orch_tool_calls_total{source="a",tool="crm",outcome="ok"} 0.5"#))
    }

    @Test func malformedSnapshotFamiliesAreIgnoredNotTrusted() throws {
        let registry = MetricRegistry()
        _ = try register(registry)
        var snapshot = registry.snapshot()
        snapshot.families[0].labelValues = ["a", "b"]   // 2 values, 3 labels
        snapshot.families[0].values = [1]
        snapshot.families[2].labelValues = ["a", "t"]
        snapshot.families[2].values = [1]
        snapshot.families[2].bucketCounts = [1]        // needs 4
        let result = registry.restore(snapshot)
        #expect(result.ignoredFamilies == ["orch_tool_calls_total", "orch_tool_call_duration_seconds"])
        #expect(registry.seriesCount == 0)
    }

    @Test func restoreUnderALowerLimitMergesIntoOverflow() throws {
        let original = MetricRegistry()
        let (counter, _, _) = try register(original)
        for i in 0 ..< 5 { original.add(try original.series(counter, labelValues: ["a", "t\(i)", "ok"]), 10) }
        let restored = MetricRegistry(seriesLimitPerFamily: 2)
        let (restoredCounter, _, _) = try register(restored)
        let result = restored.restore(original.snapshot())
        #expect(result.foldedSeries == 3)
        #expect(restored.droppedSeries(restoredCounter) == 3)
        #expect(sampleLines(rendered(restored, .prometheusText)).contains(#"orch_tool_calls_total{source="__overflow__",tool="__overflow__",outcome="__overflow__"} 30"#))
    }
}
