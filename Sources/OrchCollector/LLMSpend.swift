import OrchLog
import OrchMetrics
import OrchPricing

/// Prices LLM requests: for each `llm_request` of a block, its tokens of each type times its
/// model's price (`--pricing.file`) go to `orch_llm_cost_usd_total{provider,model,key,agent}`,
/// and the tokens it has no price for to `orchlog_collector_unpriced_tokens_total`. A pass
/// of its own after the feeds (a price is a lookup, not a feed), with one dictionary lookup
/// per request keyed by the interned label ids.
///
/// Not thread-safe: the aggregator calls it with the collector's lock held.
final class LLMSpend {
    let pricing: PriceTable
    let registry: MetricRegistry
    let catalog: MetricCatalog

    /// The series and price of one label combination (interned ids of provider, model, key,
    /// agent) of one source.
    struct Entry {
        let price: PriceTable.Price?
        /// nil: the model has no price at all (no cost series), or the family is not exported.
        let cost: SeriesHandle?
        /// Made when the first unpriced token is seen.
        var unpriced: SeriesHandle?
    }

    /// One source's entries, by (provider << 32 | model, key << 32 | agent) interned ids.
    final class Book {
        var table = PairKeyTable<Entry>()
    }

    /// Per source: its entries. Cleared when the registry removes series (handles may then
    /// point at reused slots).
    @exclusivity(unchecked) private var entries: [ObjectIdentifier: Book] = [:]
    @exclusivity(unchecked) private var generation: UInt64 = 0
    /// Per `llm_request` of the last block, in order: its cost, and whether every token was
    /// priced (the invocation tracker reads it).
    @exclusivity(unchecked) private(set) var rowCosts: [(Double, Bool)] = []
    let fields: Fields

    /// The `llm_request` slots read, found by name once.
    struct Fields {
        let provider, model, key, agent: Int
        let input, output, cacheRead, cacheWrite: Int

        init() {
            let schema = EventSchema.of(.llmRequest)
            func slot(_ name: String) -> Int {
                guard let f = schema.field(named: name) else { preconditionFailure("llm_request has no field \(name)") }
                return f.slot
            }
            provider = slot("provider")
            model = slot("model")
            key = slot("key")
            agent = slot("agent")
            input = slot("input_tokens")
            output = slot("output_tokens")
            cacheRead = slot("cache_read_tokens")
            cacheWrite = slot("cache_write_tokens")
        }
    }

    init(pricing: PriceTable, registry: MetricRegistry, catalog: MetricCatalog) {
        self.pricing = pricing
        self.registry = registry
        self.catalog = catalog
        fields = Fields()
    }

    /// Whether either family is exported (else the pass is skipped).
    var active: Bool { registry.isExported(catalog.llmCost) || registry.isExported(catalog.unpricedTokens) }

    /// Prices the block's LLM requests of source `s` (its block strings already begun).
    func ingest(_ v: BlockColumnsView, _ s: SourceAggregation) throws {
        rowCosts.removeAll(keepingCapacity: true)
        let n = v.count(.llmRequest)
        guard n > 0, active else { return }
        if registry.removalGeneration != generation {
            generation = registry.removalGeneration
            entries.removeAll()
        }
        let f = fields
        let providers = v.label(.llmRequest, f.provider), models = v.label(.llmRequest, f.model)
        let keys = v.label(.llmRequest, f.key), agents = v.label(.llmRequest, f.agent)
        let input = v.number(.llmRequest, f.input), output = v.number(.llmRequest, f.output)
        let cacheRead = v.number(.llmRequest, f.cacheRead), cacheWrite = v.number(.llmRequest, f.cacheWrite)
        let id = ObjectIdentifier(s)
        let mine: Book
        if let found = entries[id] {
            mine = found
        } else {
            mine = Book()
            entries[id] = mine
        }
        rowCosts.reserveCapacity(n)
        for k in 0..<n {
            let p = UInt32(truncatingIfNeeded: providers[k]), m = UInt32(truncatingIfNeeded: models[k])
            let a = UInt32(truncatingIfNeeded: agents[k]), kk = UInt32(truncatingIfNeeded: keys[k])
            let hi = UInt64(s.id(p)) << 32 | UInt64(s.id(m)), lo = UInt64(s.id(kk)) << 32 | UInt64(s.id(a))
            var entry: Entry
            if let found = mine.table.get(hi, lo) {
                entry = found
            } else {
                entry = try make(s, provider: p, model: m, key: kk, agent: a)
                mine.table.set(hi, lo, entry)
            }
            let usage = TokenUsage(input: input[k], output: output[k], cacheRead: cacheRead[k], cacheWrite: cacheWrite[k])
            let (usd, unpriced) = entry.price?.cost(usage) ?? (0, usage.total)
            rowCosts.append((usd, unpriced == 0 && entry.price != nil))
            if let cost = entry.cost, usd > 0 { registry.add(cost, usd) }
            if unpriced > 0 {
                if entry.unpriced == nil {
                    entry.unpriced = try series(catalog.unpricedTokens, [s.name, s.text(p), s.text(m)])
                    mine.table.set(hi, lo, entry)
                }
                if let h = entry.unpriced { registry.add(h, Double(unpriced)) }
            }
        }
    }

    @inline(never)
    private func make(_ s: SourceAggregation, provider p: UInt32, model m: UInt32, key k: UInt32, agent a: UInt32) throws -> Entry {
        let provider = s.text(p), model = s.text(m)
        let price = pricing.price(provider: provider, model: model)
        var cost: SeriesHandle?
        if price != nil { cost = try series(catalog.llmCost, [s.name, provider, model, s.text(k), s.text(a)]) }
        return Entry(price: price, cost: cost, unpriced: nil)
    }

    private func series(_ family: MetricFamilyID, _ values: [String]) throws -> SeriesHandle? {
        guard registry.isExported(family) else { return nil }
        do { return try registry.series(family, labelValues: values) } catch { throw CollectorError(.invalidArgument, "\(error)") }
    }
}
