import OrchMetrics

/// What the status page keeps of one source at one moment: the counters and gauges its
/// indicators are computed from, summed over the source's series (agents, shards, tools,
/// models, queues). Counters are the collector's cumulative totals; an indicator is the
/// difference between two samples. 13 `Double`s: 104 bytes.
public struct StatusSample: Sendable, Equatable, Codable {
    /// Seconds since the Unix epoch (the collector's wall clock when it was taken).
    public var time: Double
    /// `orch_invocations_total`: all outcomes, and `{outcome="success"}`.
    public var invocations = 0.0, successes = 0.0
    /// `orch_queue_depth` and `orch_queue_capacity`, summed over queues; the fullest queue's
    /// depth / capacity (among queues with a capacity; 0 without one).
    public var queueDepth = 0.0, queueCapacity = 0.0, queueFill = 0.0
    /// `orch_queue_rejections_total`.
    public var rejections = 0.0
    /// `orch_state_writes_total`: all outcomes, and `{outcome="timeout"}`.
    public var writes = 0.0, writeTimeouts = 0.0
    /// `orch_state_lost_updates_total` plus `orch_state_stale_reads_total`.
    public var lostUpdates = 0.0
    /// Breakers whose `orch_circuit_breaker_state` is 1 for `open` or `half_open`.
    public var openBreakers = 0.0
    /// `orch_llm_requests_total`: all outcomes, and `{outcome="rate_limited"}`.
    public var llmRequests = 0.0, rateLimited = 0.0

    public init(time: Double) { self.time = time }

    /// Reads every source's sample from `registry` (the caller holds the collector's lock).
    /// Series of the overflow source (`__overflow__`) are left out.
    static func read(_ r: MetricRegistry, _ c: MetricCatalog, at time: Double) -> [String: StatusSample] {
        var out: [String: StatusSample] = [:]
        // Every orch_ family's first label is `source`; `outcome`/`state` is its last.
        func each(_ family: MetricFamilyID, _ body: (inout StatusSample, ArraySlice<String>, Double) -> Void) {
            r.forEachSeries(family) { labels, value in
                guard let source = labels.first, source != MetricRegistry.overflowLabelValue else { return }
                body(&out[source, default: StatusSample(time: time)], labels, value)
            }
        }
        each(c.invocations) { s, labels, v in
            s.invocations += v
            if labels.last == "success" { s.successes += v }
        }
        each(c.queueDepth) { s, _, v in s.queueDepth += v }
        each(c.queueCapacity) { s, _, v in s.queueCapacity += v }
        each(c.queueRejections) { s, _, v in s.rejections += v }
        each(c.stateWrites) { s, labels, v in
            s.writes += v
            if labels.last == "timeout" { s.writeTimeouts += v }
        }
        each(c.lostUpdates) { s, _, v in s.lostUpdates += v }
        each(c.staleReads) { s, _, v in s.lostUpdates += v }
        each(c.breakerState) { s, labels, v in
            if v == 1, labels.last == "open" || labels.last == "half_open" { s.openBreakers += 1 }
        }
        each(c.llmRequests) { s, labels, v in
            s.llmRequests += v
            if labels.last == "rate_limited" { s.rateLimited += v }
        }
        // The fullest queue: depth and capacity of the same (source, queue).
        var capacity: [ArraySlice<String>: Double] = [:]
        r.forEachSeries(c.queueCapacity) { labels, v in capacity[labels] = v }
        r.forEachSeries(c.queueDepth) { labels, depth in
            guard let source = labels.first, out[source] != nil, let cap = capacity[labels], cap > 0 else { return }
            out[source]!.queueFill = max(out[source]!.queueFill, depth / cap)
        }
        return out
    }
}
