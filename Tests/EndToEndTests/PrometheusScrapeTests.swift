import Foundation
import OrchTestSupport
import Testing

@Suite struct PrometheusScrapeTests {
    @Test func realPrometheusScrapesTheCollectorAndSeesExactCounts() throws {
        let dir = TempDir("prom")
        defer { dir.remove() }
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "20000", "--summary-json", dir.sub("s.json")])
        #expect(gen.status == 0)
        let summary = try readJSON(dir.sub("s.json"))
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        defer { collector.stop() }
        let prometheus = try PrometheusServer(targets: ["127.0.0.1:\(port)"], dir: dir)
        defer { prometheus.stop() }
        var up: Double = 0
        Daemon.waitUntil(timeout: 30) {
            up = (try? prometheus.query("up{job=\"orchlog\"}"))?.first?.1 ?? 0
            return up == 1
        }
        #expect(up == 1)
        let expected = Double((summary["invocations_by_outcome"] as! [String: Int])["success"]!)
        var seen: Double = -1
        Daemon.waitUntil(timeout: 30) {
            seen = (try? prometheus.query("sum(orch_invocations_total{outcome=\"success\",source=\"app\"})"))?.first?.1 ?? -1
            return seen == expected
        }
        #expect(seen == expected)
        let tokens = (summary["llm_tokens"] as! [String: Int])["input"]!
        #expect(try prometheus.query("sum(orch_llm_tokens_total{type=\"input\"})").first?.1 == Double(tokens))
    }
}
