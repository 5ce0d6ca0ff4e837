import OrchPricing

/// Per-invocation fan-out as the collector derives it (orch_invocation_*): from an
/// invocation's `invocation_started` to its `invocation_finished`, the LLM requests and tool
/// calls it makes are tallied, and when it finishes the tally joins its agent's totals. The
/// summary's `fanout` ground truth; calls of an invocation that is not open are not counted.
public struct FanOutBook: Sendable {
    /// One invocation's calls so far.
    struct Tally: Sendable {
        var llmCalls = 0, toolCalls = 0
        var tokens = RunSummary.Tokens()
        var usd = 0.0
    }

    private var open: [UInt64: Tally] = [:]
    /// Per agent: the totals of its finished invocations (those that started).
    public private(set) var fanout: [String: RunSummary.FanOut] = [:]

    public init() {}

    /// Invocation `id` started.
    public mutating func started(_ id: UInt64) { open[id] = Tally() }

    /// An `llm_request` of invocation `id`.
    public mutating func llm(_ id: UInt64, _ usage: TokenUsage, reasoning: UInt64, usd: Double) {
        guard var t = open[id] else { return }
        t.llmCalls += 1
        t.tokens.input += Int(usage.input)
        t.tokens.output += Int(usage.output)
        t.tokens.cacheRead += Int(usage.cacheRead)
        t.tokens.cacheWrite += Int(usage.cacheWrite)
        t.tokens.reasoning += Int(reasoning)
        t.usd += usd
        open[id] = t
    }

    /// A `tool_call` of invocation `id`.
    public mutating func tool(_ id: UInt64) { open[id]?.toolCalls += 1 }

    /// Invocation `id` of `agent` finished.
    public mutating func finished(_ id: UInt64, agent: String) {
        guard let t = open.removeValue(forKey: id) else { return }
        var f = fanout[agent] ?? RunSummary.FanOut()
        f.invocations += 1
        f.llmCalls += t.llmCalls
        f.toolCalls += t.toolCalls
        f.llmCallsMax = max(f.llmCallsMax, t.llmCalls)
        f.tokens.add(t.tokens)
        f.costUsd += t.usd
        fanout[agent] = f
    }
}
