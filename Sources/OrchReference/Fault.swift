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
}
