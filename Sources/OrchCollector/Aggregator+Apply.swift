import OrchLog
import OrchMetrics

/// Applying a block's columns to the registry: one tight loop per event type, updating the
/// families' cells directly (no per-event handle checks), histogram buckets found on the
/// integer field (nanoseconds, counts) against precomputed integer bounds. Each update is
/// the one `MetricRegistry.add`/`set`/`observe` would make, in the same order per series.
extension Aggregator {
    /// Applies a block (`ingest`). Each family is fed by one event type, so applying type by
    /// type keeps the order of every series' updates; the state tracker, fed by reads and
    /// writes, runs first over both merged in row order and leaves its verdicts in
    /// `stale`/`lost`.
    func apply(_ v: BlockColumnsView, _ s: SourceAggregation, strings: Int) throws {
        stale.removeAll(keepingCapacity: true)
        stale.append(contentsOf: repeatElement(false, count: v.count(.stateRead)))
        lost.removeAll(keepingCapacity: true)
        lost.append(contentsOf: repeatElement(false, count: v.count(.stateWrite)))
        if s.internedCount < s.internLimit && s.internedCount + strings > s.internLimit {
            // The block's new label values may reach the intern limit, and which of them
            // still get an id depends on the order they are seen: apply in row order. (Once
            // the limit is reached, every new value is "__overflow__" whatever the order.)
            try applyInRowOrder(v, s)
        } else {
            track(v, s, reads: 0..<v.count(.stateRead), writes: 0..<v.count(.stateWrite))
            for case let plan? in catalog.plans where v.count(plan.type) > 0 {
                try apply(plan, 0..<v.count(plan.type), v, s)
            }
        }
    }

    /// Runs the state tracker over reads `reads` and writes `writes` (indices among the
    /// block's events of each type), merged in row order; records which reads were stale
    /// and which writes lost an update.
    func track(_ v: BlockColumnsView, _ s: SourceAggregation, reads: Range<Int>, writes: Range<Int>) {
        let f = trackedFields
        let readRows = v.rows(.stateRead), writeRows = v.rows(.stateWrite)
        let readShard = v.label(.stateRead, f.readShard), readKey = v.label(.stateRead, f.readKey)
        let readVersion = v.number(.stateRead, f.readVersion), readLatency = v.number(.stateRead, f.readLatency)
        let writeShard = v.label(.stateWrite, f.writeShard), writeKey = v.label(.stateWrite, f.writeKey)
        let writeBase = v.number(.stateWrite, f.writeBase), writeNew = v.number(.stateWrite, f.writeNew)
        let writeOutcome = v.number(.stateWrite, f.writeOutcome)
        if reads.isEmpty && writes.isEmpty { return }
        // The tracker is moved into a local for the loop (and back after): its tables are then
        // uniquely referenced from the stack, and its probes retain nothing.
        var tracker = StateTracker(capacity: 2)
        swap(&tracker, &self.tracker)
        defer { swap(&tracker, &self.tracker) }
        stale.withUnsafeMutableBufferPointer { stale in
            lost.withUnsafeMutableBufferPointer { lost in
                var r = reads.lowerBound, w = writes.lowerBound
                while r < reads.upperBound || w < writes.upperBound {
                    if w == writes.upperBound || (r < reads.upperBound && readRows[r] < writeRows[w]) {
                        let shard = UInt32(truncatingIfNeeded: readShard[r])
                        let ts = v.timestamps[Int(readRows[r])], latency = readLatency[r]
                        let start = ts >= latency ? ts - latency : 0
                        stale[r] = tracker.read(key: s.keyHash(UInt32(truncatingIfNeeded: readKey[r]), shard: shard),
                                                version: readVersion[r], startedAt: start)
                        r &+= 1
                    } else {
                        if writeOutcome[w] == f.committed {
                            let shard = UInt32(truncatingIfNeeded: writeShard[w])
                            lost[w] = tracker.committed(key: s.keyHash(UInt32(truncatingIfNeeded: writeKey[w]), shard: shard),
                                                        base: writeBase[w], new: writeNew[w], at: v.timestamps[Int(writeRows[w])])
                        }
                        w &+= 1
                    }
                }
            }
        }
    }

    /// Nanoseconds as the seconds a histogram records.
    @inline(__always)
    static func seconds(_ ns: UInt64) -> Double { double(ns) * 1e-9 }

    /// A count as the value a histogram records.
    @inline(__always)
    static func plain(_ n: UInt64) -> Double { double(n) }

    /// `Double(n)`: the same correctly rounded value, by the one-instruction signed
    /// conversion when the top bit is clear.
    @inline(__always)
    static func double(_ n: UInt64) -> Double {
        Int64(bitPattern: n) >= 0 ? Double(Int64(bitPattern: n)) : Double(n)
    }

    /// Applies the events in row order: each run of rows of one type in one go.
    func applyInRowOrder(_ v: BlockColumnsView, _ s: SourceAggregation) throws {
        for i in nextOfType.indices { nextOfType[i] = 0 }
        let rowTypes = v.rowTypes
        let plans = catalog.plans
        var row = 0
        while row < rowTypes.count {
            let t = Int(rowTypes[row])
            guard t < plans.count, let plan = plans[t] else {
                row &+= 1
                continue
            }
            // The run: rows of type t up to the next row of another type that feeds metrics.
            var count = 1
            var end = row &+ 1
            while end < rowTypes.count {
                let u = Int(rowTypes[end])
                if u == t {
                    count &+= 1
                } else if u < plans.count, plans[u] != nil {
                    break
                }
                end &+= 1
            }
            let first = nextOfType[t]
            if plan.type == .stateRead { track(v, s, reads: first..<first &+ count, writes: 0..<0) }
            if plan.type == .stateWrite { track(v, s, reads: 0..<0, writes: first..<first &+ count) }
            try apply(plan, first..<first &+ count, v, s)
            nextOfType[t] = first &+ count
            row = end
        }
    }
}
