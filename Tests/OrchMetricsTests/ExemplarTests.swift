import OrchMetrics
import Testing

@Suite struct ExemplarTests {
    private static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// A histogram with bounds 0.1, 0.5, 1 and one series (`tool="crm"`) that carries exemplars.
    private func histogram() throws -> (MetricRegistry, MetricFamilyID, SeriesHandle) {
        let registry = MetricRegistry(clock: { 1_700_000_000 })
        let family = try registry.registerHistogram(name: "orch_tool_call_duration_seconds", help: "Latency.", labelNames: ["tool"],
                                                    buckets: [0.1, 0.5, 1], unit: "seconds")
        #expect(registry.enableExemplars(family))
        return (registry, family, try registry.series(family, labelValues: ["crm"]))
    }

    private func exemplar(_ id: String, trace: String = "", value: Double, at ts: Double? = 1_700_000_000.123) throws -> Exemplar {
        try #require(Exemplar(labelNames: ["invocation_id", "trace_id"], labelValues: [id, trace], value: value, timestamp: ts))
    }

    @Test func bucketLinesCarryTheirExemplarInOpenMetricsOnly() throws {
        let (registry, _, crm) = try histogram()
        var text: [UInt8] = []
        registry.observe(crm, 0.31)
        registry.observe(crm, 2)
        registry.render(format: .prometheusText, into: &text)
        #expect(registry.setExemplar(crm, try exemplar("42", trace: Self.trace, value: 0.31)))
        #expect(registry.setExemplar(crm, try exemplar("43", value: 2, at: nil)))
        #expect(rendered(registry, .openMetrics) == """
            # TYPE orch_tool_call_duration_seconds histogram
            # UNIT orch_tool_call_duration_seconds seconds
            # HELP orch_tool_call_duration_seconds Latency.
            orch_tool_call_duration_seconds_bucket{tool="crm",le="0.1"} 0
            orch_tool_call_duration_seconds_bucket{tool="crm",le="0.5"} 1 # {invocation_id="42",trace_id="\(Self.trace)"} 0.31 1700000000.123
            orch_tool_call_duration_seconds_bucket{tool="crm",le="1.0"} 1
            orch_tool_call_duration_seconds_bucket{tool="crm",le="+Inf"} 2 # {invocation_id="43"} 2
            orch_tool_call_duration_seconds_sum{tool="crm"} 2.31
            orch_tool_call_duration_seconds_count{tool="crm"} 2
            orch_tool_call_duration_seconds_created{tool="crm"} 1700000000
            # EOF

            """)
        // The text format 0.0.4 has no exemplars: byte for byte what it was without them.
        #expect(rendered(registry, .prometheusText) == String(decoding: text, as: UTF8.self))
    }

    @Test func theLatestExemplarOfABucketReplacesTheOneBefore() throws {
        let (registry, _, crm) = try histogram()
        registry.observe(crm, 0.2)
        registry.observe(crm, 0.4)
        registry.setExemplar(crm, try exemplar("1", value: 0.2))
        registry.setExemplar(crm, try exemplar("2", value: 0.4, at: 1_700_000_001))
        #expect(sampleLines(rendered(registry, .openMetrics))[1]
            == #"orch_tool_call_duration_seconds_bucket{tool="crm",le="0.5"} 2 # {invocation_id="2"} 0.4 1700000001"#)
        #expect(registry.exemplar(crm, bucket: 1)?.renderedLabels == #"{invocation_id="2"}"#)
        #expect(registry.exemplar(crm, bucket: 0) == nil)
    }

    @Test func anOlderExemplarDoesNotReplaceANewerOne() throws {
        // Prometheus refuses an exemplar older than the last it stored for a bucket's series.
        let (registry, _, crm) = try histogram()
        registry.observe(crm, 0.2)
        registry.observe(crm, 0.4)
        #expect(registry.setExemplar(crm, try exemplar("new", value: 0.4, at: 1_700_000_005)))
        #expect(!registry.setExemplar(crm, try exemplar("old", value: 0.2, at: 1_700_000_004.999)))
        #expect(registry.exemplar(crm, bucket: 1)?.renderedLabels == #"{invocation_id="new"}"#)
        // The same time replaces (a later observation of the same millisecond); no timestamp
        // always replaces, and any timestamp replaces an exemplar without one.
        #expect(registry.setExemplar(crm, try exemplar("same", value: 0.3, at: 1_700_000_005)))
        #expect(registry.setExemplar(crm, try exemplar("untimed", value: 0.3, at: nil)))
        #expect(registry.setExemplar(crm, try exemplar("timed", value: 0.3, at: 1_600_000_000)))
        #expect(registry.exemplar(crm, bucket: 1)?.renderedLabels == #"{invocation_id="timed"}"#)
    }

    @Test func labelsStayWithin128CodePointsByDroppingTheLastOnes() throws {
        // 13 + 20 = 33 characters for the id: a trace_id value of 128 - 33 - 8 = 87 fits, 88 does not.
        let id = "18446744073709551615"
        let fits = try #require(Exemplar(labelNames: ["invocation_id", "trace_id"], labelValues: [id, String(repeating: "a", count: 87)], value: 1, timestamp: nil))
        #expect(fits.renderedLabels == "{invocation_id=\"\(id)\",trace_id=\"\(String(repeating: "a", count: 87))\"}")
        let over = try #require(Exemplar(labelNames: ["invocation_id", "trace_id"], labelValues: [id, String(repeating: "a", count: 88)], value: 1, timestamp: nil))
        #expect(over.renderedLabels == "{invocation_id=\"\(id)\"}")
        // Code points, not bytes: "é" is two UTF-8 bytes and one character.
        let accents = String(repeating: "é", count: 87)
        #expect(Exemplar(labelNames: ["invocation_id", "trace_id"], labelValues: [id, accents], value: 1, timestamp: nil)?.renderedLabels
            == "{invocation_id=\"\(id)\",trace_id=\"\(accents)\"}")
        // A first label that alone is over the limit: no exemplar at all, never an invalid one.
        #expect(Exemplar(labelNames: ["invocation_id"], labelValues: [String(repeating: "9", count: 116)], value: 1, timestamp: nil) == nil)
        #expect(Exemplar(labelNames: ["invocation_id"], labelValues: [String(repeating: "9", count: 115)], value: 1, timestamp: nil) != nil)
    }

    @Test func valuesAreEscapedAndTheEscapesDoNotCount() throws {
        let e = try #require(Exemplar(labelNames: ["note"], labelValues: ["a\"b\\c\nd"], value: 0.5, timestamp: nil))
        #expect(e.renderedLabels == #"{note="a\"b\\c\nd"}"#)
        // 4 + 124 characters, of which 60 quotes that render as two bytes each: still within the limit.
        let quoted = String(repeating: "\"", count: 60) + String(repeating: "x", count: 64)
        #expect(Exemplar(labelNames: ["note"], labelValues: [quoted], value: 0.5, timestamp: nil) != nil)
    }

    @Test func invalidExemplarsAreNeverMade() {
        #expect(Exemplar(labelNames: ["bad-name"], labelValues: ["1"], value: 1, timestamp: nil) == nil)
        #expect(Exemplar(labelNames: ["a", "a"], labelValues: ["1", "2"], value: 1, timestamp: nil) == nil)
        #expect(Exemplar(labelNames: ["a"], labelValues: [""], value: 1, timestamp: nil) == nil)
        #expect(Exemplar(labelNames: ["a"], labelValues: ["1", "2"], value: 1, timestamp: nil) == nil)
        #expect(Exemplar(labelNames: ["a"], labelValues: ["1"], value: .nan, timestamp: nil) == nil)
        #expect(Exemplar(labelNames: ["a"], labelValues: ["1"], value: 1, timestamp: .infinity) == nil)
        // An empty value leaves its label out (a trace_id not known).
        #expect(Exemplar(labelNames: ["a", "b"], labelValues: ["", "2"], value: 1, timestamp: nil)?.renderedLabels == #"{b="2"}"#)
    }

    @Test func anExemplarMustLieWithinItsBucket() throws {
        let (registry, family, crm) = try histogram()
        registry.observe(crm, 0.3)
        let e = try exemplar("1", value: 0.3)
        #expect(!registry.setExemplar(family: family, slot: crm.slot, bucket: 0, e))  // le 0.1
        #expect(!registry.setExemplar(family: family, slot: crm.slot, bucket: 2, e))  // le 1
        #expect(!registry.setExemplar(family: family, slot: crm.slot, bucket: 9, e))
        #expect(registry.setExemplar(family: family, slot: crm.slot, bucket: 1, e))
        // Bounds are inclusive: 0.5 belongs to le="0.5".
        #expect(registry.setExemplar(family: family, slot: crm.slot, bucket: 1, try exemplar("2", value: 0.5)))
        #expect(!registry.setExemplar(family: family, slot: crm.slot, bucket: 2, try exemplar("3", value: 0.5)))
    }

    @Test func onlyHistogramsThatCarryExemplarsKeepThem() throws {
        let registry = MetricRegistry(clock: { 1_700_000_000 })
        let plain = try registry.registerHistogram(name: "plain_seconds", help: "", buckets: [1])
        let counter = try registry.registerCounter(name: "calls_total", help: "")
        #expect(!registry.enableExemplars(counter))
        let h = try registry.series(plain, labelValues: [])
        registry.observe(h, 0.5)
        #expect(!registry.carriesExemplars(plain))
        #expect(!registry.setExemplar(h, try exemplar("1", value: 0.5)))
        #expect(!rendered(registry, .openMetrics).contains(" # {"))
    }

    @Test func aRemovedSeriesTakesItsExemplarsAlong() throws {
        let (registry, family, crm) = try histogram()
        let other = try registry.series(family, labelValues: ["search"])
        registry.observe(crm, 0.3)
        registry.setExemplar(crm, try exemplar("1", value: 0.3))
        registry.observe(other, 0.3)
        registry.setExemplar(other, try exemplar("2", value: 0.3))
        #expect(registry.removeSeries(crm))
        // The freed slot is reused by the next series: it starts without an exemplar.
        let reused = try registry.series(family, labelValues: ["billing"])
        #expect(reused.slot == crm.slot)
        #expect(registry.exemplar(reused, bucket: 1) == nil)
        #expect(registry.exemplar(other, bucket: 1)?.renderedLabels == #"{invocation_id="2"}"#)
        let om = rendered(registry, .openMetrics)
        #expect(!om.contains(#"invocation_id="1""#) && om.contains(#"invocation_id="2""#))
    }

    /// Sets one exemplar when asked, and counts the times it was asked.
    private final class LateSource: ExemplarSource {
        let series: SeriesHandle
        var asked = 0
        init(_ series: SeriesHandle) { self.series = series }
        func flushExemplars(into registry: MetricRegistry) {
            asked += 1
            registry.setExemplar(series, Exemplar(labelNames: ["invocation_id"], labelValues: ["\(asked)"], value: 0.3, timestamp: nil)!)
        }
    }

    @Test func anExemplarSourceIsAskedBeforeOpenMetricsRenderingsAndReadsOnly() throws {
        let (registry, _, crm) = try histogram()
        registry.observe(crm, 0.3)
        let source = LateSource(crm)
        registry.exemplarSource = source
        _ = rendered(registry, .prometheusText)
        #expect(source.asked == 0, "the text format has no exemplars")
        #expect(rendered(registry, .openMetrics).contains(#"le="0.5"} 1 # {invocation_id="1"} 0.3"#))
        #expect(registry.exemplar(crm, bucket: 1)?.renderedLabels == #"{invocation_id="2"}"#)
        #expect(source.asked == 2)
    }

    @Test func timestampsAreWrittenInPlainDecimals() throws {
        let (registry, _, crm) = try histogram()
        registry.observe(crm, 0.00001)
        registry.setExemplar(crm, try exemplar("1", value: 0.00001, at: 1_764_000_000.5))
        // The value as sample values are written (1e-05), the time without an exponent.
        #expect(rendered(registry, .openMetrics).contains(#"le="0.1"} 1 # {invocation_id="1"} 1e-05 1764000000.5"# + "\n"))
    }
}
