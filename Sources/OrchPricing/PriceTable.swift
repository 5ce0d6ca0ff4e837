import Glibc
import OrchYAML

/// LLM prices by provider and model, in USD per million tokens of each type, as a pricing file
/// states them (`orchlog-collector --pricing.file`, deploy/pricing.yml):
///
/// ```yaml
/// read: "2026-12-03"          # when the prices were read (optional)
/// openai:
///   gpt-4o: {input: 2.50, output: 10.00, cache_read: 1.25, cache_write: 2.50}
/// ```
///
/// A model that is not in the table, or a token type its entry leaves out, has no price: it is
/// never guessed (`cost(_:)` returns those tokens as unpriced).
public struct PriceTable: Sendable, Equatable {
    /// USD per million tokens of each type; nil: no price for that type.
    public struct Price: Sendable, Equatable {
        public var input, output, cacheRead, cacheWrite: Double?

        public init(input: Double?, output: Double?, cacheRead: Double? = nil, cacheWrite: Double? = nil) {
            self.input = input
            self.output = output
            self.cacheRead = cacheRead
            self.cacheWrite = cacheWrite
        }

        /// What `usage` costs, in USD, and how many of its tokens had no price. Reasoning
        /// tokens are part of the output tokens and priced with them.
        public func cost(_ usage: TokenUsage) -> (usd: Double, unpriced: UInt64) {
            var usd = 0.0
            var unpriced: UInt64 = 0
            func add(_ tokens: UInt64, _ price: Double?) {
                guard tokens > 0 else { return }
                if let price { usd += Double(tokens) * price / 1_000_000 } else { unpriced &+= tokens }
            }
            add(usage.input, input)
            add(usage.output, output)
            add(usage.cacheRead, cacheRead)
            add(usage.cacheWrite, cacheWrite)
            return (usd, unpriced)
        }
    }

    /// When the prices were read (the file's `read:`), if it says.
    public var read: String?
    /// provider → model → price.
    public var prices: [String: [String: Price]]

    public init(prices: [String: [String: Price]] = [:], read: String? = nil) {
        self.prices = prices
        self.read = read
    }

    /// The price of `model` at `provider`, or nil.
    public func price(provider: String, model: String) -> Price? { prices[provider]?[model] }

    /// What one request costs (see `Price.cost`); every token is unpriced for a model the
    /// table does not know.
    public func cost(provider: String, model: String, _ usage: TokenUsage) -> (usd: Double, unpriced: UInt64) {
        guard let p = price(provider: provider, model: model) else { return (0, usage.total) }
        return p.cost(usage)
    }

    static let typeKeys = ["input", "output", "cache_read", "cache_write"]

    /// Reads the pricing file at `path`.
    /// - Throws: `PricingError` naming the file (and line) when it cannot be read or is not a
    ///   pricing table: not YAML, a provider or model that is not a mapping, an unknown token
    ///   type, a price that is not a non-negative number.
    public static func load(path: String) throws(PricingError) -> PriceTable {
        guard let f = fopen(path, "rb") else {
            throw PricingError("pricing file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { bytes += chunk[0..<n] }
            if n < chunk.count {
                if ferror(f) != 0 { throw PricingError("pricing file \(path): read error") }
                break
            }
        }
        return try parse(bytes, name: path)
    }

    /// Parses a pricing file's bytes; `name` names it in messages.
    /// - Throws: `PricingError` (see `load(path:)`).
    public static func parse(_ bytes: [UInt8], name: String) throws(PricingError) -> PriceTable {
        let what = "pricing file \(name)"
        let root: YAMLNode?
        do { root = try YAMLNode.load(bytes, name: what) } catch { throw PricingError((error as? YAMLError)?.message ?? "\(what): \(error)") }
        guard let root, !root.isNull else { return PriceTable() }
        guard case .mapping(let providers) = root.kind else {
            throw PricingError("\(what): line \(root.line): expected a mapping of providers, got \(root.kindName)")
        }
        var table = PriceTable()
        for (key, value) in providers {
            let provider = try scalar(key, what)
            if provider == "read" {
                table.read = try scalar(value, what)
                continue
            }
            guard table.prices[provider] == nil else { throw PricingError("\(what): line \(key.line): provider \(provider) twice") }
            guard case .mapping(let models) = value.kind else {
                throw PricingError("\(what): line \(value.line): provider \(provider): expected a mapping of models, got \(value.kindName)")
            }
            var byModel: [String: Price] = [:]
            for (modelKey, entry) in models {
                let model = try scalar(modelKey, what)
                guard byModel[model] == nil else { throw PricingError("\(what): line \(modelKey.line): \(provider) model \(model) twice") }
                guard case .mapping(let types) = entry.kind else {
                    throw PricingError("\(what): line \(entry.line): \(provider) \(model): expected a mapping of token types (\(typeKeys.joined(separator: ", "))), got \(entry.kindName)")
                }
                var values: [String: Double] = [:]
                for (typeKey, priceNode) in types {
                    let type = try scalar(typeKey, what)
                    guard typeKeys.contains(type) else {
                        throw PricingError("\(what): line \(typeKey.line): \(provider) \(model): unknown token type \(type) (known: \(typeKeys.joined(separator: ", ")))")
                    }
                    guard values[type] == nil else { throw PricingError("\(what): line \(typeKey.line): \(provider) \(model): \(type) twice") }
                    let text = try scalar(priceNode, what)
                    guard let v = Double(text), v.isFinite, v >= 0 else {
                        throw PricingError("\(what): line \(priceNode.line): \(provider) \(model) \(type): \"\(text)\" is not a price (USD per million tokens, ≥ 0)")
                    }
                    values[type] = v
                }
                byModel[model] = Price(input: values["input"], output: values["output"], cacheRead: values["cache_read"], cacheWrite: values["cache_write"])
            }
            table.prices[provider] = byModel
        }
        return table
    }

    private static func scalar(_ node: YAMLNode, _ what: String) throws(PricingError) -> String {
        guard case .scalar(let s, _) = node.kind else { throw PricingError("\(what): line \(node.line): expected a scalar, got \(node.kindName)") }
        return s
    }
}

/// Token counts of one LLM request by type (see `EventSchema` `llm_request`).
public struct TokenUsage: Sendable, Equatable {
    public var input, output, cacheRead, cacheWrite: UInt64

    public init(input: UInt64, output: UInt64, cacheRead: UInt64 = 0, cacheWrite: UInt64 = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    /// All tokens (reasoning tokens are in `output`).
    public var total: UInt64 { input &+ output &+ cacheRead &+ cacheWrite }
}

/// A pricing file that cannot be read or is not a price table; the message names the file
/// and line.
public struct PricingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
