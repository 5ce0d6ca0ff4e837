import Foundation
import OrchTestSupport
import Testing

/// Issue 19's metrics against the reference orchestrator's own count: the collector, run on
/// the log of a simulated scenario with the shipped pricing file, equals the summary JSON's
/// ground truth — tokens by type, queue arrivals and per-agent fan-out exactly, cost exactly
/// per agent (summed in the same order) and to the last few bits in total (the collector sums
/// per series).
@Suite struct CostGroundTruthTests {
    static let repo = ConsumerPackageTests.repoRoot

    /// The run's summary (parsed, and its text), its `llm` object, and the collector's
    /// exposition of its log priced with `pricing`.
    static func collect(_ dir: TempDir, pricing: String) throws -> ([String: Any], String, [String: Any], [String: Double]) {
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.sub("summary.json")))) as? [String: Any])
        let text = try String(contentsOfFile: dir.sub("summary.json"), encoding: .utf8)
        let llm = try #require(summary["llm"] as? [String: Any])
        let collector = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--pricing.file", pricing])
        #expect(collector.status == 0, "\(collector.stderr)")
        return (summary, text, llm, parseExposition(collector.stdout))
    }

    /// The sum of the series of `m` whose names start with `prefix` and pass `filter`.
    static func sum(_ m: [String: Double], _ prefix: String, _ filter: (String) -> Bool) -> Double {
        m.filter { $0.key.hasPrefix(prefix) && filter($0.key) }.values.reduce(0, +)
    }

    /// `fanout.<agent>.cost_usd` of the summary's text, parsed by `Double(_:)` (exact).
    static func fanOutCost(_ text: String, _ agent: String) throws -> Double? {
        let fanout = try #require(text.range(of: "\"fanout\""))
        let block = try #require(text.range(of: "\"\(agent)\" : {", range: fanout.upperBound..<text.endIndex))
        let key = try #require(text.range(of: "\"cost_usd\" : ", range: block.upperBound..<text.endIndex))
        return Double(text[key.upperBound...].prefix { "0123456789.eE+-".contains($0) })
    }

    @Test(arguments: ["production-naive", "llm-quota-cut"])
    func theCollectorEqualsTheSummaryForCostTokensAndFanOut(_ scenario: String) throws {
        let dir = TempDir("cost-truth")
        defer { dir.remove() }
        let pricing = Self.repo + "/deploy/pricing.yml"
        let ref = try runTool("reference-orchestrator", ["--scenario", scenario, "--out", dir.sub("root"), "--duration", "20m", "--quiet",
                                                         "--summary-json", dir.sub("summary.json"), "--pricing.file", pricing])
        #expect(ref.status == 0, "\(ref.stderr)")
        let (summary, summaryText, llm, m) = try Self.collect(dir, pricing: pricing)
        func sum(_ prefix: String, _ filter: (String) -> Bool = { _ in true }) -> Double { Self.sum(m, prefix, filter) }
        // Tokens by type.
        let tokens = try #require(llm["tokens"] as? [String: Int])
        for (type, key) in [("input", "input"), ("output", "output"), ("cache_read", "cache_read"), ("cache_write", "cache_write"), ("reasoning", "reasoning")] {
            #expect(sum("orch_llm_tokens_total{", { $0.contains("type=\"\(type)\"") }) == Double(try #require(tokens[key])), "\(type)")
        }
        #expect(tokens["cache_read"]! > 0 && tokens["cache_write"]! > 0 && tokens["reasoning"]! > 0, "the simulated provider caches and reasons")
        // Cost: every token of gpt-4o is priced.
        let cost = try #require(llm["cost_usd"] as? Double)
        #expect(cost > 0)
        #expect(abs(sum("orch_llm_cost_usd_total{") - cost) <= cost * 1e-12, "cost \(sum("orch_llm_cost_usd_total{")) vs \(cost)")
        #expect(llm["unpriced_tokens"] as? Int == 0 && sum("orchlog_collector_unpriced_tokens_total{") == 0)
        // Rate limits: every 429 is the provider's, each with its limit type.
        let limited = try #require(llm["rate_limited"] as? Int)
        #expect(sum("orch_llm_rate_limited_total{", { $0.contains("origin=\"provider\"") }) == Double(limited))
        #expect(sum("orch_llm_rate_limited_total{", { $0.contains("rate_limit_type=\"unspecified\"") }) == 0)
        if scenario == "llm-quota-cut" { #expect(sum("orch_llm_rate_limited_total{", { $0.contains("rate_limit_type=\"quota\"") }) > 0) }
        #expect(m.keys.contains { $0.hasPrefix("orch_llm_provider_remaining_requests{") })
        #expect(sum("gen_ai_client_operation_time_to_first_chunk_seconds_count{") == Double(try #require(llm["requests"] as? Int)) - Double(limited)
                - Double(llm["errors"] as? Int ?? 0) - Double(llm["timeouts"] as? Int ?? 0), "every completed request streamed")
        // The queue's arrivals.
        let queue = try #require(summary["queue"] as? [String: Any])
        #expect(sum("orch_queue_enqueued_total{") == Double(try #require(queue["enqueued"] as? Int)))
        // Fan-out per agent.
        let fanout = try #require(summary["fanout"] as? [String: [String: Any]])
        #expect(fanout.count >= 2)
        for (agent, f) in fanout {
            let a = "{source=\"\(scenario)\",agent=\"\(agent)\"}"
            #expect(m["orch_invocation_llm_calls_count" + a] == Double(f["invocations"] as! Int), "\(agent)")
            #expect(m["orch_invocation_llm_calls_sum" + a] == Double(f["llm_calls"] as! Int), "\(agent)")
            #expect(m["orch_invocation_tool_calls_sum" + a] == Double(f["tool_calls"] as! Int), "\(agent)")
            // JSONSerialization rounds some doubles: read the number's text as written.
            #expect(m["orch_invocation_cost_usd_sum" + a] == (try Self.fanOutCost(summaryText, agent)), "\(agent): the same sums in the same order")
            let t = f["tokens"] as! [String: Int]
            for type in ["input", "output", "cache_read", "cache_write", "reasoning"] {
                #expect(m["orch_invocation_tokens_sum{source=\"\(scenario)\",agent=\"\(agent)\",type=\"\(type)\"}"] == Double(t[type]!), "\(agent) \(type)")
            }
        }
        #expect(m["orchlog_collector_invocations_untracked_total{source=\"\(scenario)\"}"] ?? 0 == 0)
    }

    /// Live, over real HTTP: `reference-backends` streams the completions (server-sent events,
    /// chunk by chunk) and names the limit of each 429; the live client measures the time to
    /// the first chunk, reads the usage details and the x-ratelimit headers, and the collector
    /// equals the live summary's ground truth.
    @Test func liveStreamedRequestsTheirCostAndProviderLimitsReachTheCollector() throws {
        let dir = TempDir("cost-live")
        defer { dir.remove() }
        let pricing = Self.repo + "/deploy/pricing.yml"
        let run = try runTool("reference-orchestrator", ["--scenario", "llm-quota-cut", "--live", "--state-store", "redis", "--speed", "100",
                                                         "--duration", "15", "--out", dir.sub("root"), "--summary-json", dir.sub("summary.json"),
                                                         "--quiet", "--pricing.file", pricing])
        #expect(run.status == 0, "\(run.stderr)")
        let (summary, summaryText, llm, m) = try Self.collect(dir, pricing: pricing)
        func sum(_ prefix: String, _ filter: (String) -> Bool = { _ in true }) -> Double { Self.sum(m, prefix, filter) }
        let tokens = try #require(llm["tokens"] as? [String: Int])
        for type in ["input", "output", "cache_read", "cache_write", "reasoning"] {
            #expect(sum("orch_llm_tokens_total{", { $0.contains("type=\"\(type)\"") }) == Double(try #require(tokens[type])), "\(type)")
        }
        #expect(tokens["cache_read"]! > 0 && tokens["reasoning"]! > 0, "usage details read from the responses")
        let cost = try #require(llm["cost_usd"] as? Double)
        #expect(cost > 0 && abs(sum("orch_llm_cost_usd_total{") - cost) <= cost * 1e-9)
        // Streamed: every answered request has its time to first chunk.
        #expect(sum("gen_ai_client_operation_time_to_first_chunk_seconds_count{") > 0)
        #expect(sum("gen_ai_client_operation_time_to_first_chunk_seconds_sum{") <= sum("gen_ai_client_operation_duration_seconds_sum{"),
                "the first chunk comes before the end")
        // The quota cut's 429s come from the provider and say so.
        #expect(sum("orch_llm_rate_limited_total{", { $0.contains("origin=\"provider\"") && $0.contains("rate_limit_type=\"quota\"") }) > 0)
        #expect(sum("orch_llm_rate_limited_total{") == Double(try #require(llm["rate_limited"] as? Int)))
        #expect(m.keys.contains { $0.hasPrefix("orch_llm_provider_remaining_tokens{") })
        #expect((llm["provider_limit_events"] as? Int ?? 0) > 0)
        // Fan-out per agent, tied by invocation id across threads.
        let fanout = try #require(summary["fanout"] as? [String: [String: Any]])
        #expect(!fanout.isEmpty)
        for (agent, f) in fanout {
            let a = "{source=\"llm-quota-cut\",agent=\"\(agent)\"}"
            #expect(m["orch_invocation_llm_calls_count" + a] == Double(f["invocations"] as! Int), "\(agent)")
            #expect(m["orch_invocation_llm_calls_sum" + a] == Double(f["llm_calls"] as! Int), "\(agent)")
            #expect(m["orch_invocation_tool_calls_sum" + a] == Double(f["tool_calls"] as! Int), "\(agent)")
            let c = try #require(try Self.fanOutCost(summaryText, agent))
            #expect(abs((m["orch_invocation_cost_usd_sum" + a] ?? -1) - c) <= max(c, 1e-9) * 1e-9, "\(agent)")
        }
    }
}
