import OrchMetrics
import Testing

@Suite struct EscapingTests {
    private func registryWithTrickyLabels() throws -> MetricRegistry {
        let registry = MetricRegistry()
        let family = try registry.registerGauge(name: "orch_escape_test", help: "Label escaping.", labelNames: ["source", "value"])
        let values = [#"back\slash"#, #"say "hi""#, "line1\nline2", "héllo ☃ 日本", "", #"all\"three"# + "\n"]
        for (i, value) in values.enumerated() {
            registry.set(try registry.series(family, labelValues: ["s", value]), Double(i))
        }
        return registry
    }

    private let expectedSamples = [
        #"orch_escape_test{source="s",value="back\\slash"} 0"#,
        #"orch_escape_test{source="s",value="say \"hi\""} 1"#,
        #"orch_escape_test{source="s",value="line1\nline2"} 2"#,
        #"orch_escape_test{source="s",value="héllo ☃ 日本"} 3"#,
        #"orch_escape_test{source="s",value=""} 4"#,
        #"orch_escape_test{source="s",value="all\\\"three\n"} 5"#,
    ]

    @Test func labelValuesAreEscapedInPrometheusText() throws {
        let text = rendered(try registryWithTrickyLabels(), .prometheusText)
        #expect(text == "# HELP orch_escape_test Label escaping.\n# TYPE orch_escape_test gauge\n" + expectedSamples.joined(separator: "\n") + "\n")
    }

    @Test func labelValuesAreEscapedInOpenMetrics() throws {
        let text = rendered(try registryWithTrickyLabels(), .openMetrics)
        #expect(text == "# TYPE orch_escape_test gauge\n# HELP orch_escape_test Label escaping.\n" + expectedSamples.joined(separator: "\n") + "\n# EOF\n")
    }

    @Test func unicodeLabelValuesAreWrittenAsRawUTF8() throws {
        var buffer: [UInt8] = []
        try registryWithTrickyLabels().render(format: .prometheusText, into: &buffer)
        let snowman: [UInt8] = [0xE2, 0x98, 0x83]
        #expect(buffer.indices.contains { buffer[$0...].starts(with: snowman) })
        #expect(!String(decoding: buffer, as: UTF8.self).contains("\\u"))
    }

    @Test func helpEscapesQuotesOnlyInOpenMetrics() throws {
        let registry = MetricRegistry()
        try registry.registerCounter(name: "orch_help_test_total", help: "Back\\slash \"quoted\"\nnext line")
        let text = rendered(registry, .prometheusText)
        let om = rendered(registry, .openMetrics)
        #expect(text.hasPrefix(#"# HELP orch_help_test_total Back\\slash "quoted"\nnext line"# + "\n"))
        #expect(om.contains(#"# HELP orch_help_test Back\\slash \"quoted\"\nnext line"# + "\n"))
    }

    @Test func emptyHelpRendersNoHelpLine() throws {
        let registry = MetricRegistry()
        try registry.registerGauge(name: "orch_no_help", help: "")
        #expect(rendered(registry, .prometheusText) == "# TYPE orch_no_help gauge\n")
        #expect(rendered(registry, .openMetrics) == "# TYPE orch_no_help gauge\n# EOF\n")
    }
}
