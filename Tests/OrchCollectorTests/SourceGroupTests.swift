import Foundation
import OrchLog
import OrchMetrics
import OrchTestSupport
import Testing
@testable import OrchCollector

/// Source groups: the processes (directories) of one service share one series set.
@Suite struct SourceGroupTests {
    /// Writes `events` of a mixed workload into `dir`, seeded.
    private func write(_ dir: String, seed: UInt64, depth: UInt64, breakerTo: BreakerState) throws {
        var options = EventLogOptions()
        options.fsync = .never
        options.blockSize = 2 << 10
        let log = try EventLog(directory: dir, options: options)
        defer { log.close() }
        var rng = HTTPTestRNG(seed: seed)
        let agent = log.label("planner"), queue = log.label("requests"), crm = log.label("crm"), shard = log.label("s1")
        var ts: UInt64 = 1_764_000_000_000_000_000 + seed * 1_000
        for i in 0..<2_000 {
            ts += 1_000_000
            switch rng.next() % 4 {
            case 0:
                log.emit(.invocationFinished(agent: agent, outcome: rng.next() % 5 == 0 ? .failure : .success,
                                             durationNs: rng.next() % 3_000_000_000, queueWaitNs: rng.next() % 100_000_000, invocationID: UInt64(i)), at: ts)
            case 1:
                log.emit(.toolCall(tool: crm, outcome: rng.next() % 7 == 0 ? .timeout : .success, latencyNs: rng.next() % 2_000_000_000,
                                   fallbackUsed: rng.next() % 2 == 0), at: ts)
            case 2:
                log.emit(.queueSample(queue: queue, depth: rng.next() % 50, capacity: 100), at: ts)
            default:
                log.emit(.stateRead(shard: shard, key: log.label("k\(rng.next() % 20)"), version: 1, source: .store, latencyNs: rng.next() % 5_000_000), at: ts)
            }
        }
        // The last word on the gauges: a known depth and breaker state per instance.
        log.emit(.queueSample(queue: queue, depth: depth, capacity: 100), at: ts + 1_000_000)
        log.emit(.breakerTransition(tool: crm, from: .closed, to: breakerTo), at: ts + 2_000_000)
    }

    private func collect(_ dirs: [String], _ configure: (inout CollectorOptions) -> Void = { _ in }) throws -> [String: Double] {
        var o = CollectorOptions()
        o.logDirs = dirs
        o.once = true
        configure(&o)
        let c = try Collector(options: o)
        c.ingestAll()
        return parseExposition(String(decoding: c.render(format: .prometheusText), as: UTF8.self))
    }

    /// The series of `values` with `source="…"` removed, summed over sources, `orch_*` only.
    private func bySeries(_ values: [String: Double], keep: (String) -> Bool = { _ in true }) -> [String: Double] {
        var out: [String: Double] = [:]
        for (k, v) in values where k.hasPrefix("orch_") && keep(k) {
            let key = k.replacingOccurrences(of: #"source="[^"]*",?"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: ",}", with: "}").replacingOccurrences(of: "{}", with: "")
            out[key, default: 0] += v
        }
        return out
    }

    @Test func aTwoLevelRootGroupsInstancesByServiceAndTotalsAreTheSumOfInstances() throws {
        let dir = TempDir("groups-two-level")
        defer { dir.remove() }
        let states: [BreakerState] = [.open, .open, .closed]
        for i in 0..<3 {
            try write(dir.sub("root/checkout/pod-\(i)"), seed: UInt64(i + 1), depth: UInt64(10 * (i + 1)), breakerTo: states[i])
        }
        let grouped = try collect([dir.sub("root")])
        #expect(grouped.keys.contains { $0.contains("source=\"checkout\"") })
        #expect(!grouped.keys.contains { $0.hasPrefix("orch_") && $0.contains("pod-") }, "instances do not leak into series")
        var separate: [String: Double] = [:]
        for i in 0..<3 {
            let one = try collect([dir.sub("root/checkout/pod-\(i)")])
            for (k, v) in bySeries(one) { separate["sum:" + k, default: 0] += v }
        }
        // Counters, histogram buckets and counts: exactly the sum. Histogram sums: the same
        // additions in another order, so equal to rounding.
        let group = bySeries(grouped)
        var compared = 0
        for (k, v) in group where !k.contains("_sum") && !k.hasPrefix("orch_queue_depth") && !k.hasPrefix("orch_circuit_breaker_state") {
            let want = separate["sum:" + k] ?? .nan
            #expect(v == want, "\(k): group \(v), instances \(want)")
            compared += 1
        }
        for (k, v) in group where k.contains("_sum") {
            let want = separate["sum:" + k] ?? .nan
            #expect(abs(v - want) <= 1e-9 * max(1, abs(want)), "\(k): group \(v), instances \(want)")
        }
        #expect(compared > 50)
        // Gauges combine as declared: depth is the sum of the instances' last depths, a breaker
        // state the count of instances in it.
        #expect(grouped["orch_queue_depth{source=\"checkout\",queue=\"requests\"}"] == 60)
        #expect(grouped["orch_queue_capacity{source=\"checkout\",queue=\"requests\"}"] == 300)
        #expect(grouped["orch_circuit_breaker_state{source=\"checkout\",tool=\"crm\",state=\"open\"}"] == 2)
        #expect(grouped["orch_circuit_breaker_state{source=\"checkout\",tool=\"crm\",state=\"closed\"}"] == 1)
        #expect(grouped["orchlog_collector_events_ingested_total{source=\"checkout\"}"] == 6_006.0)
        #expect(grouped["orchlog_collector_sources"] == 3)
    }

    @Test func sourceGroupRegexGroupsOneLevelDirectoriesAndPerInstanceKeepsInstanceDir() throws {
        let dir = TempDir("groups-regex")
        defer { dir.remove() }
        try write(dir.sub("root/checkout-api-1a2b"), seed: 1, depth: 5, breakerTo: .open)
        try write(dir.sub("root/checkout-api-3c4d"), seed: 2, depth: 7, breakerTo: .open)
        try write(dir.sub("root/search"), seed: 3, depth: 1, breakerTo: .closed)
        let values = try collect([dir.sub("root")]) {
            $0.sourceGroup = "^(checkout-api)-[0-9a-f]+$"
            $0.perInstance = true
        }
        #expect(values["orch_queue_depth{source=\"checkout-api\",queue=\"requests\"}"] == 12)
        #expect(values["orch_queue_depth{source=\"search\",queue=\"requests\"}"] == 1, "a name that does not match keeps its own")
        #expect(values["orch_circuit_breaker_state{source=\"checkout-api\",tool=\"crm\",state=\"open\"}"] == 2)
        #expect(values["orchlog_collector_events_ingested_total{source=\"checkout-api\",instance_dir=\"checkout-api-1a2b\"}"] == 2_002)
        #expect(values["orchlog_collector_events_ingested_total{source=\"checkout-api\",instance_dir=\"checkout-api-3c4d\"}"] == 2_002)
        #expect(throws: CollectorError.self) { _ = try SourceGrouping(pattern: "^checkout-api-[0-9a-f]+$") }
        #expect(throws: CollectorError.self) { _ = try SourceGrouping(pattern: "(unclosed") }
    }

    @Test func aLostUpdateBetweenTwoInstancesOfOneGroupIsDetected() throws {
        let dir = TempDir("groups-lost-update")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.fsync = .never
        // Two processes of one service read version 1 of the same key and both commit 2:
        // the second overwrote the first without seeing it.
        let t0: UInt64 = 1_764_000_000_000_000_000
        for (i, offset) in [(0, UInt64(0)), (1, UInt64(5_000_000))] {
            let log = try EventLog(directory: dir.sub("root/billing/pod-\(i)"), options: options)
            let shard = log.label("s1"), key = log.label("account:42")
            log.emit(.stateWrite(shard: shard, key: key, baseVersion: 1, newVersion: 2, outcome: .committed, latencyNs: 1_000_000, attempt: 1), at: t0 + offset)
            log.close()
        }
        let grouped = try collect([dir.sub("root")])
        #expect(grouped["orch_state_lost_updates_total{source=\"billing\",shard=\"s1\"}"] == 1)
        // Apart (one source each) the same writes are two unrelated keys.
        let apart = try collect([dir.sub("root/billing")])
        #expect(apart["orch_state_lost_updates_total{source=\"pod-0\",shard=\"s1\"}"] == 0)
        #expect(apart["orch_state_lost_updates_total{source=\"pod-1\",shard=\"s1\"}"] == 0)
    }

    @Test func aRestartWithGroupsIsExact() throws {
        let dir = TempDir("groups-restart")
        defer { dir.remove() }
        try write(dir.sub("root/checkout/pod-0"), seed: 1, depth: 10, breakerTo: .open)
        try write(dir.sub("root/checkout/pod-1"), seed: 2, depth: 20, breakerTo: .open)
        let checkpoint = dir.sub("state/checkpoint.json")
        try FileManager.default.createDirectory(atPath: dir.sub("state"), withIntermediateDirectories: true)
        func exposition(_ c: Collector) -> [String: Double] {
            parseExposition(String(decoding: c.render(format: .prometheusText), as: UTF8.self))
        }
        var o = CollectorOptions()
        o.logDirs = [dir.sub("root")]
        o.once = true
        o.checkpointFile = checkpoint
        do {
            let c = try Collector(options: o)
            c.ingestAll()
            #expect(c.checkpoint())
        }
        // More events after the restart: pod-0 lowers its depth, pod-1 is silent.
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: dir.sub("root/checkout/pod-0"), options: options)
        log.emit(.queueSample(queue: log.label("requests"), depth: 4, capacity: 100), at: 1_764_000_100_000_000_000)
        log.emit(.breakerTransition(tool: log.label("crm"), from: .open, to: .closed), at: 1_764_000_100_000_000_001)
        log.close()
        let restarted = try Collector(options: o)
        restarted.ingestAll()
        let after = exposition(restarted)
        // The group's depth is pod-0's new 4 plus pod-1's 20 from before the restart.
        #expect(after["orch_queue_depth{source=\"checkout\",queue=\"requests\"}"] == 24)
        #expect(after["orch_circuit_breaker_state{source=\"checkout\",tool=\"crm\",state=\"open\"}"] == 1)
        #expect(after["orch_circuit_breaker_state{source=\"checkout\",tool=\"crm\",state=\"closed\"}"] == 1)
        // Every series — counters, histogram buckets and sums, gauges — as one run over
        // everything has it: each event counted once, each gauge combined from its instances.
        let fresh = try collect([dir.sub("root")])
        let families = { (k: String) in k.hasPrefix("orch_") || k.hasPrefix("gen_ai_") }
        #expect(Set(fresh.keys.filter(families)) == Set(after.keys.filter(families)), "the same series after the restart")
        #expect(fresh.keys.filter(families).count > 50, "the comparison covers the mix's series")
        for (k, v) in fresh where families(k) {
            if k.contains("_sum{") {
                // A group's sums add its instances' observations in the order their blocks
                // were read, which a restart changes: equal to the last bits, not bit for bit.
                #expect(abs((after[k] ?? .nan) - v) <= 1e-12 * abs(v), "\(k): restarted \(after[k] ?? .nan), single run \(v)")
            } else {
                #expect(after[k] == v, "\(k): restarted \(after[k] ?? .nan), single run \(v)")
            }
        }
    }

    @Test func metricsDropAndKeepFilterFamiliesAndFeedNothingDropped() throws {
        let dir = TempDir("families-filter")
        defer { dir.remove() }
        try write(dir.sub("root/checkout"), seed: 1, depth: 5, breakerTo: .open)
        let dropped = try collect([dir.sub("root")]) { $0.metricsDrop = ["gen_ai_.*", "orch_tool_.*"] }
        #expect(!dropped.keys.contains { $0.hasPrefix("gen_ai_") || $0.hasPrefix("orch_tool_") })
        #expect(dropped["orch_queue_depth{source=\"checkout\",queue=\"requests\"}"] == 5)
        let kept = try collect([dir.sub("root")]) { $0.metricsKeep = ["orch_queue_.*", "orchlog_collector_.*"] }
        #expect(kept.keys.contains { $0.hasPrefix("orch_queue_depth") })
        #expect(!kept.keys.contains { $0.hasPrefix("orch_invocations") || $0.hasPrefix("process_") })
        let all = try collect([dir.sub("root")])
        let keptSeries = kept["orchlog_collector_series"] ?? .nan, allSeries = all["orchlog_collector_series"] ?? .nan
        #expect(keptSeries <= allSeries - 25, "dropped families are not fed: \(keptSeries) series of \(allSeries)")
        #expect(throws: CollectorError.self) { _ = try FamilyFilter(keep: ["(bad"], drop: []) }
    }
}
