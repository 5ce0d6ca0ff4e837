import Foundation

extension RunSummary {
    /// Simulated seconds as h:mm:ss.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds)
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }

    private static func n(_ v: Int) -> String {
        let digits = String(v.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (v < 0 ? "-" : "") + out
    }

    private static func pct(_ part: Int, _ whole: Int) -> String {
        whole == 0 ? "0.0%" : String(format: "%.1f%%", 100 * Double(part) / Double(whole))
    }

    /// The end-of-run summary table.
    public func table() -> String {
        let i = invocations
        var rows: [(String, String)] = []
        rows.append(("invocations", "\(Self.n(i.total)) finished of \(Self.n(i.arrived)) arrived (+\(Self.n(i.resubmitted)) resubmitted) — success \(Self.n(i.success)) (\(String(format: "%.1f%%", successRate * 100))), failure \(Self.n(i.failure)), timeout \(Self.n(i.timeout)), rejected \(Self.n(i.rejected)); queued at end \(Self.n(i.queuedAtEnd)), running \(Self.n(i.runningAtEnd)); mean run time \(String(format: "%.1f", i.meanDurationSeconds)) s"))
        if !failureReasons.isEmpty {
            rows.append(("  causes", failureReasons.sorted { $0.value > $1.value }.map { "\($0.key) \(Self.n($0.value))" }.joined(separator: ", ")))
        }
        rows.append(("queue", "max depth \(Self.n(queue.maxDepth)), at end \(Self.n(queue.depthAtEnd)), capacity \(queue.capacity == 0 ? "unbounded" : Self.n(queue.capacity)), rejections \(Self.n(queue.rejections)), mean wait \(String(format: "%.1f", queue.meanWaitSeconds)) s"))
        rows.append(("agents", "\(pool.size) instances, max busy \(pool.maxBusy), utilization \(String(format: "%.0f%%", pool.utilization * 100))"))
        rows.append(("state", "\(state.shards) shard\(state.shards == 1 ? "" : "s"); reads \(Self.n(state.reads)) (\(Self.pct(state.readsFromCache, state.reads)) cached); writes \(Self.n(state.writes)): conflicts \(Self.n(state.conflicts)), timeouts \(Self.n(state.timeouts)) (\(Self.pct(state.timeouts, state.writes))); lost updates \(Self.n(state.lostUpdates)), stale reads \(Self.n(state.staleReads))"))
        rows.append(("memory", "store writes \(Self.n(memory.writes)), timeouts \(Self.n(memory.timeouts)); flushes \(Self.n(memory.flushes)) (\(Self.n(memory.flushedRecords)) records, \(Self.n(memory.flushTimeouts)) timed out), max pending \(Self.n(memory.maxPending))"))
        rows.append(("tools", "calls \(Self.n(tools.calls)): timeouts \(Self.n(tools.timeouts)), errors \(Self.n(tools.errors)), short-circuited \(Self.n(tools.shortCircuited)), fallbacks \(Self.n(tools.fallbacks)); breaker opened \(Self.n(tools.breakerOpens))×"))
        rows.append(("llm", "requests \(Self.n(llm.requests)): rate limited \(Self.n(llm.rateLimited)) (\(Self.pct(llm.rateLimited, llm.requests))), errors \(Self.n(llm.errors)), timeouts \(Self.n(llm.timeouts)); max in flight \(llm.maxInflight) / limit \(llm.concurrencyLimit), max waiting \(Self.n(llm.maxWaiting)); tokens in \(Self.n(llm.tokensInput)) out \(Self.n(llm.tokensOutput)); key rotations \(Self.n(llm.keyRotations))"))
        let speed = wallSeconds > 0 ? simulatedSeconds / wallSeconds : 0
        var out = "scenario \(scenario) · \(Self.n(Int(invocationsPerDay)))/day · protections: \(components) · seed \(seed)\n"
        out += "simulated \(Self.clock(simulatedSeconds)) in \(String(format: "%.1f", wallSeconds)) s wall (\(Self.n(Int(speed)))× real time)\(interrupted ? " — interrupted" : ""); \(Self.n(Int(events))) events\(source.isEmpty ? "" : " → \(source)")\n"
        let width = rows.map(\.0.count).max() ?? 0
        for (k, v) in rows {
            out += k.padding(toLength: width + 2, withPad: " ", startingAt: 0) + v + "\n"
        }
        return String(out.dropLast())
    }
}
