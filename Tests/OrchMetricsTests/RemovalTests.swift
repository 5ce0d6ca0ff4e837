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

    @Test func lookupsStayExactThroughRandomCreateAndRemove() throws {
        struct SplitMix {
            var state: UInt64
            mutating func next(_ bound: Int) -> Int {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return Int((z ^ (z >> 31)) % UInt64(bound))
            }
        }
        var random = SplitMix(state: 42)
        let registry = MetricRegistry()
        let family = try registry.registerCounter(name: "orch_r_total", help: "R.", labelNames: ["source", "key"])
        var model: [String: (handle: SeriesHandle, value: Double)] = [:]
        for step in 0 ..< 20_000 {
            let source = "s\(random.next(8))"
            let key = "k\(random.next(300))"
            switch random.next(10) {
            case 0:
                let removed = registry.removeSeries(whereLabel: "source", equals: source)
                let doomed = model.keys.filter { $0.hasPrefix(source + "/") }
                #expect(removed == doomed.count, "step \(step)")
                for name in doomed { model[name] = nil }
            default:
                let handle = try registry.series(family, labelValues: [source, key])
                if let known = model[source + "/" + key] {
                    #expect(known.handle == handle, "step \(step)")
                    #expect(registry.value(handle) == known.value, "step \(step)")
                } else {
                    #expect(registry.value(handle) == 0, "step \(step)")
                }
                registry.add(handle, 1)
                model[source + "/" + key] = (handle, (model[source + "/" + key]?.value ?? 0) + 1)
            }
        }
        #expect(registry.seriesCount == model.count)
        for (name, entry) in model {
            let parts = name.split(separator: "/").map(String.init)
            #expect(try registry.series(family, labelValues: parts) == entry.handle)
            #expect(registry.labelValues(entry.handle) == parts)
            #expect(registry.value(entry.handle) == entry.value)
        }
    }
}
