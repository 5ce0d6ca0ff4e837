/// A fault injected into a simulated backend or the workload for a window of simulated time.
public struct Fault: Sendable, Equatable {
    /// What goes wrong.
    public enum Kind: Sendable, Equatable {
        /// The named tool answers every call with an error after a short delay.
        case toolDown(tool: String)
        /// The named tool accepts calls and never answers (its clients time out).
        case toolHang(tool: String)
        /// The named tool's service time is multiplied by `factor`.
        case toolSlow(tool: String, factor: Double)
        /// The LLM provider cuts the listed keys' request and token quotas to `fraction`
        /// (and their concurrency limit in proportion, at least 1).
        case llmQuotaCut(keys: [String], fraction: Double)
        /// The backing store's service times are multiplied by `factor`.
        case storeSlow(factor: Double)
        /// `share` of invocations touch the hottest account (a viral ticket, a bulk job).
        case hotKey(share: Double)
        /// `share` of the named agent's invocations never converge: after their plan's
        /// first LLM step they think and call `tool` again and again, `iterations` times (an
        /// agent loop), before the rest of the plan.
        case agentLoop(agent: String, share: Double, iterations: Int, tool: String)
        /// Every prompt of the named agent's invocations carries `factor` times its tokens (a
        /// retrieval step that stuffs whole documents into the context): the same work at a
        /// multiple of the cost.
        case promptBloat(agent: String, factor: Double)
        /// The LLM provider's latencies (first byte and generation) are multiplied by `factor`.
        case llmSlow(factor: Double)
        /// Only `healthy` agent instances of the pool take new invocations (a bad deploy,
        /// instances stuck on a dependency); the others finish what they run and wait.
        case poolStall(healthy: Int)
    }

    /// Start (ns since the start of the simulation, inclusive).
    public var fromNs: UInt64
    /// End (exclusive).
    public var toNs: UInt64
    /// What goes wrong.
    public var kind: Kind

    /// A fault of `kind` from `from` to `to` (ns of simulated time).
    public init(from: UInt64, to: UInt64, _ kind: Kind) {
        fromNs = from
        toNs = to
        self.kind = kind
    }

    /// Whether the fault is active at `t`.
    public func active(at t: UInt64) -> Bool { t >= fromNs && t < toNs }

    /// Whether the live orchestrator can inject it (on the real backends or its own
    /// components); the others exist in simulation only.
    public var injectableLive: Bool {
        switch kind {
        case .toolDown, .toolHang, .toolSlow, .llmQuotaCut, .storeSlow, .hotKey: true
        case .agentLoop, .promptBloat, .llmSlow, .poolStall: false
        }
    }
}
