import Foundation
import OrchLog
import OrchMetrics
import OrchPricing
import OrchTestSupport
import Testing
@testable import OrchCollector

/// The collector prices LLM requests from the pricing file: each token type at its model's
/// price, nothing guessed for a model (or a token type) without one.
@Suite struct LLMSpendTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Aggregates `emit`'s events with `pricing`; the rendered text exposition, parsed.
    static func aggregate(_ pricing: PriceTable, _ emit: (EventLog) -> Void) throws -> [String: Double] {
        let dir = TempDir("spend")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        emit(log)
        log.close()
        let registry = MetricRegistry()
        let aggregator = Aggregator(registry: registry, catalog: try MetricCatalog(registry: registry), trackedKeys: 100, pricing: pricing)
        let source = try aggregator.source("src")
        let reader = SourceReader(source: try #require(try LogDirectory.sources(at: dir.path).first))
        try reader.pollBlocks { try aggregator.ingest($0, into: source) }
        var out: [UInt8] = []
        registry.render(format: .prometheusText, into: &out)
        return parseExposition(String(decoding: out, as: UTF8.self))
    }

    @Test func tokensOfEachTypeArePricedAndUnpricedOnesCounted() throws {
        let pricing = PriceTable(prices: ["openai": ["gpt-4o": .init(input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5),
                                                     "partial": .init(input: 1, output: 2)]])
        let m = try Self.aggregate(pricing) { log in
            let p = log.label("openai"), k = log.label("k1"), a = log.label("triage"), b = log.label("billing")
            // 1,000 input, 500 output (200 of them reasoning), 4,000 cache reads, 100 cache writes.
            log.emit(.llmRequest(provider: p, model: log.label("gpt-4o"), key: k, outcome: .success, inputTokens: 1_000, outputTokens: 500,
                                 latencyNs: 1, rateLimitWaitNs: 0, invocationID: 1, agent: a, cacheReadTokens: 4_000, cacheWriteTokens: 100, reasoningTokens: 200))
            log.emit(.llmRequest(provider: p, model: log.label("gpt-4o"), key: k, outcome: .success, inputTokens: 10, outputTokens: 0,
                                 latencyNs: 1, rateLimitWaitNs: 0, invocationID: 2, agent: b))
            log.emit(.llmRequest(provider: p, model: log.label("partial"), key: k, outcome: .success, inputTokens: 100, outputTokens: 50,
                                 latencyNs: 1, rateLimitWaitNs: 0, agent: a, cacheReadTokens: 30))
            log.emit(.llmRequest(provider: p, model: log.label("llama-local"), key: k, outcome: .success, inputTokens: 7, outputTokens: 3,
                                 latencyNs: 1, rateLimitWaitNs: 0, agent: a))
        }
        let cost = "orch_llm_cost_usd_total{source=\"src\",provider=\"openai\","
        let triageInput: Double = 1_000 * 2.5 / 1e6, triageOutput: Double = 500 * 10 / 1e6
        let triageRead: Double = 4_000 * 1.25 / 1e6, triageWrite: Double = 100 * 2.5 / 1e6
        let triage = triageInput + triageOutput + triageRead + triageWrite
        #expect(m[cost + "model=\"gpt-4o\",key=\"k1\",agent=\"triage\"}"] == triage)
        #expect(m[cost + "model=\"gpt-4o\",key=\"k1\",agent=\"billing\"}"] == 10 * 2.5 / 1e6)
        let partial: Double = 100 * 1 / 1e6 + 50 * 2 / 1e6
        #expect(m[cost + "model=\"partial\",key=\"k1\",agent=\"triage\"}"] == partial, "the priced types only")
        #expect(m[cost + "model=\"llama-local\",key=\"k1\",agent=\"triage\"}"] == nil, "no price: no cost series, never a guess")
        let unpriced = "orchlog_collector_unpriced_tokens_total{source=\"src\",provider=\"openai\","
        #expect(m[unpriced + "model=\"partial\"}"] == 30, "cache reads of a model without a cache_read price")
        #expect(m[unpriced + "model=\"llama-local\"}"] == 10)
        #expect(m[unpriced + "model=\"gpt-4o\"}"] == nil)
        let tokens = "orch_llm_tokens_total{source=\"src\",provider=\"openai\",model=\"gpt-4o\","
        #expect(m[tokens + "type=\"input\"}"] == 1_010 && m[tokens + "type=\"output\"}"] == 500)
        #expect(m[tokens + "type=\"cache_read\"}"] == 4_000 && m[tokens + "type=\"cache_write\"}"] == 100 && m[tokens + "type=\"reasoning\"}"] == 200)
    }

    @Test func withoutAPricingFileEveryTokenIsUnpriced() throws {
        let m = try Self.aggregate(PriceTable()) { log in
            log.emit(.llmRequest(provider: log.label("openai"), model: log.label("gpt-4o"), key: .none, outcome: .success, inputTokens: 12,
                                 outputTokens: 8, latencyNs: 1, rateLimitWaitNs: 0, cacheReadTokens: 5))
        }
        #expect(m["orchlog_collector_unpriced_tokens_total{source=\"src\",provider=\"openai\",model=\"gpt-4o\"}"] == 25)
        #expect(!m.keys.contains { $0.hasPrefix("orch_llm_cost_usd_total{") })
    }

    @Test func theShippedPricingFileReadsAndPricesTheReferenceModel() throws {
        let table = try PriceTable.load(path: Self.repo + "/deploy/pricing.yml")
        #expect(table.read == "2026-12-03")
        #expect(table.price(provider: "openai", model: "gpt-4o") == .init(input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5))
        #expect(table.price(provider: "anthropic", model: "claude-sonnet-4-5")?.cacheWrite == 3.75)
        #expect(table.prices.keys.sorted() == ["anthropic", "google", "openai"])
        #expect(table.prices.values.allSatisfy { $0.values.allSatisfy { $0.input != nil && $0.output != nil && $0.cacheRead != nil && $0.cacheWrite != nil } })
    }

    @Test(arguments: [
        ("openai: [1, 2]\n", "line 1: provider openai: expected a mapping of models, got a sequence"),
        ("openai:\n  gpt-4o: 3\n", "line 2: openai gpt-4o: expected a mapping of token types"),
        ("openai:\n  gpt-4o: {input: 1, outptu: 2}\n", "line 2: openai gpt-4o: unknown token type outptu"),
        ("openai:\n  gpt-4o: {input: -1}\n", "line 2: openai gpt-4o input: \"-1\" is not a price"),
        ("openai:\n  gpt-4o: {input: cheap}\n", "line 2: openai gpt-4o input: \"cheap\" is not a price"),
        ("openai: {a: {input: 1}}\nopenai: {b: {input: 1}}\n", "line 2: provider openai twice"),
        ("openai: {a: {input: 1\n", "invalid YAML"),
    ])
    func aBadPricingFileIsRefusedWithItsLine(_ text: String, _ message: String) {
        #expect {
            _ = try PriceTable.parse(Array(text.utf8), name: "p.yml")
        } throws: { error in
            let m = (error as? PricingError)?.message ?? ""
            return m.hasPrefix("pricing file p.yml") && m.contains(message)
        }
    }
}
