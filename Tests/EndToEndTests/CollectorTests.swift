import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

@Suite struct CollectorTests {
    /// Generates a log and returns the summary JSON.
    func generate(_ dir: TempDir, source: String = "app", events: Int = 20_000, seed: Int = 3) throws -> [String: Any] {
        let r = try runTool("orchlog", ["generate", "--out", dir.sub("root/\(source)"), "--events", "\(events)", "--seed", "\(seed)", "--summary-json", dir.sub("\(source).json")])
        #expect(r.status == 0, "\(r.stderr)")
        return try readJSON(dir.sub("\(source).json"))
    }

    func once(_ dir: TempDir, _ extra: [String] = [], status: Int32 = 0) throws -> [String: Double] {
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")] + extra)
        #expect(r.status == status, "\(r.stderr)")
        return parseExposition(r.stdout)
    }

    func assertTotalsMatch(_ m: [String: Double], _ summary: [String: Any], source: String = "app") {
        let outcomes = summary["invocations_by_outcome"] as! [String: Int]
        for (outcome, count) in outcomes {
            let sum = m.filter { $0.key.hasPrefix("orch_invocations_total{source=\"\(source)\",") && $0.key.contains("outcome=\"\(outcome)\"") }.values.reduce(0, +)
            #expect(sum == Double(count), "\(outcome)")
        }
        let tokens = summary["llm_tokens"] as! [String: Int]
        for type in ["input", "output"] {
            let sum = m.filter { $0.key.hasPrefix("orch_llm_tokens_total{source=\"\(source)\",") && $0.key.contains("type=\"\(type)\"") }.values.reduce(0, +)
            #expect(sum == Double(tokens[type]!), "\(type) tokens")
        }
        #expect(m["orchlog_collector_events_ingested_total{source=\"\(source)\"}"] == Double(summary["events"] as! Int))
        let byType = summary["by_type"] as! [String: Int]
        let tools = m.filter { $0.key.hasPrefix("orch_tool_calls_total{source=\"\(source)\",") }.values.reduce(0, +)
        #expect(tools == Double(byType["tool_call"]!))
        let llm = m.filter { $0.key.hasPrefix("orch_llm_requests_total{source=\"\(source)\",") }.values.reduce(0, +)
        #expect(llm == Double(byType["llm_request"]!))
    }

    @Test func onceTotalsEqualTheGeneratorSummaryAndPassPromtool() throws {
        let dir = TempDir("once")
        defer { dir.remove() }
        let summary = try generate(dir)
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")])
        #expect(r.status == 0)
        assertTotalsMatch(parseExposition(r.stdout), summary)
        let check = try run("/usr/bin/promtool", ["check", "metrics"], stdin: r.stdout)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool lint: \(check.stdout)\(check.stderr)")
    }

    /// The state tracker's keys survive a restart from the checkpoint: a lost update whose
    /// first commit was read by an earlier collector process is still detected, even though
    /// the new process sees the shard's label for the first time in a different order.
    @Test func lostUpdatesAreDetectedAcrossACollectorRestart() throws {
        let dir = TempDir("lost-restart")
        defer { dir.remove() }
        let checkpoint = dir.sub("collector.checkpoint")
        let t: UInt64 = 1_700_000_000_000_000_000
        do {
            let log = try EventLog(directory: dir.sub("root/svc"))
            let shard = log.label("shard-1"), key = log.label("account:7")
            log.emit(.stateWrite(shard: shard, key: key, baseVersion: 5, newVersion: 6, outcome: .committed, latencyNs: 1_000, attempt: 1), at: t)
            log.close()
        }
        let first = try once(dir, ["--checkpoint.file", checkpoint])
        #expect(first["orch_state_lost_updates_total{source=\"svc\",shard=\"shard-1\"}"] == 0)
        do {
            // A second writer session: other shards and keys come first this time.
            let log = try EventLog(directory: dir.sub("root/svc"))
            let other = log.label("shard-0"), shard = log.label("shard-1"), key = log.label("account:7")
            for i in 0..<20 {
                let k = log.label("account:\(100 + i)")
                log.emit(.stateWrite(shard: other, key: k, baseVersion: 1, newVersion: 2, outcome: .committed, latencyNs: 1_000, attempt: 1), at: t + 10)
            }
            // Read v5 before the first commit, overwrote it: a lost update.
            log.emit(.stateWrite(shard: shard, key: key, baseVersion: 5, newVersion: 6, outcome: .committed, latencyNs: 1_000, attempt: 1), at: t + 20)
            log.close()
        }
        let second = try once(dir, ["--checkpoint.file", checkpoint])
        #expect(second["orch_state_writes_total{source=\"svc\",shard=\"shard-1\",outcome=\"committed\"}"] == 2)
        #expect(second["orch_state_lost_updates_total{source=\"svc\",shard=\"shard-1\"}"] == 1)
        #expect(second["orch_state_lost_updates_total{source=\"svc\",shard=\"shard-0\"}"] == 0)
    }

    /// A source directory deleted and written anew between two collector runs: the checkpoint
    /// points into a segment another writer wrote since. Every new event is counted once, the
    /// collector says why it started over, and nothing is reported as lost or corrupt.
    @Test func aRecreatedSourceIsCountedFromItsStartAfterACheckpoint() throws {
        let dir = TempDir("recreated")
        defer { dir.remove() }
        let checkpoint = dir.sub("collector.checkpoint")
        _ = try generate(dir, events: 1_000, seed: 1)
        let first = try once(dir, ["--checkpoint.file", checkpoint])
        let before = first["orchlog_collector_events_ingested_total{source=\"app\"}"] ?? 0
        #expect(before >= 1_000)
        try FileManager.default.removeItem(atPath: dir.sub("root/app"))
        let summary = try generate(dir, events: 5_000, seed: 2)
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--checkpoint.file", checkpoint])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("restarted:") && r.stderr.contains("recreated"), "\(r.stderr)")
        let second = parseExposition(r.stdout)
        #expect(second["orchlog_collector_events_ingested_total{source=\"app\"}"] == before + Double(summary["events"] as! Int))
        #expect(second["orchlog_collector_events_lost_total{source=\"app\"}"] == 0)
        #expect(second["orchlog_collector_decode_errors_total{source=\"app\"}"] == 0)
        // And once only: a third run from the new checkpoint adds nothing.
        let third = try once(dir, ["--checkpoint.file", checkpoint])
        #expect(third["orchlog_collector_events_ingested_total{source=\"app\"}"] == second["orchlog_collector_events_ingested_total{source=\"app\"}"])
    }

    @Test func lostUpdatesAndStaleReadsAreDetectedFromVersions() throws {
        let dir = TempDir("lost")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("root/svc"))
        let shard = log.label("shard-1"), key = log.label("account:7"), other = log.label("account:8")
        let t: UInt64 = 1_700_000_000_000_000_000
        // Two writers read v5; both commit "v6": the second overwrote the first.
        log.emit(.stateWrite(shard: shard, key: key, baseVersion: 5, newVersion: 6, outcome: .committed, latencyNs: 1_000, attempt: 1), at: t)
        log.emit(.stateWrite(shard: shard, key: key, baseVersion: 5, newVersion: 6, outcome: .committed, latencyNs: 1_000, attempt: 1), at: t + 10)
        // A read that started after v6 was committed but returned v5: stale.
        log.emit(.stateRead(shard: shard, key: key, version: 5, source: .store, latencyNs: 100), at: t + 1_000)
        // A read that started before the commit: not stale.
        log.emit(.stateRead(shard: shard, key: other, version: 1, source: .cache, latencyNs: 0), at: t)
        log.emit(.stateWrite(shard: shard, key: other, baseVersion: 1, newVersion: 2, outcome: .committed, latencyNs: 1_000, attempt: 1), at: t + 5)
        log.emit(.stateRead(shard: shard, key: other, version: 1, source: .store, latencyNs: 1_000), at: t + 6)
        // OCC done right: conflict, retry from the fresh version, commit.
        log.emit(.stateWrite(shard: shard, key: other, baseVersion: 1, newVersion: 2, outcome: .conflict, latencyNs: 1_000, attempt: 1), at: t + 20)
        log.emit(.stateWrite(shard: shard, key: other, baseVersion: 2, newVersion: 3, outcome: .committed, latencyNs: 1_000, attempt: 2), at: t + 30)
        log.close()
        let m = try once(dir)
        #expect(m["orch_state_lost_updates_total{source=\"svc\",shard=\"shard-1\"}"] == 1)
        #expect(m["orch_state_stale_reads_total{source=\"svc\",shard=\"shard-1\"}"] == 1)
        #expect(m["orch_state_writes_total{source=\"svc\",shard=\"shard-1\",outcome=\"conflict\"}"] == 1)
        #expect(m["orch_state_write_retries_total{source=\"svc\",shard=\"shard-1\"}"] == 1)
        #expect(m["orch_state_write_attempts_bucket{source=\"svc\",shard=\"shard-1\",le=\"1\"}"] == 3)
        #expect(m["orch_state_write_attempts_bucket{source=\"svc\",shard=\"shard-1\",le=\"2\"}"] == 4)
        #expect(m["orch_state_reads_total{source=\"svc\",shard=\"shard-1\",read_source=\"store\"}"] == 2)
    }

    @Test func breakerStateIsOneSeriesPerStateAndDropsAreExported() throws {
        let dir = TempDir("breaker")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("root/svc"))
        let crm = log.label("crm")
        log.emit(.breakerTransition(tool: crm, from: .closed, to: .open))
        log.emit(.breakerTransition(tool: crm, from: .open, to: .halfOpen))
        log.emit(.eventsDropped(count: 17, reason: .diskFull))
        log.close()
        let m = try once(dir)
        for (state, value) in [("closed", 0.0), ("open", 0), ("half_open", 1), ("forced_open", 0), ("disabled", 0)] {
            #expect(m["orch_circuit_breaker_state{source=\"svc\",tool=\"crm\",state=\"\(state)\"}"] == value, "\(state)")
        }
        #expect(m["orch_circuit_breaker_transitions_total{source=\"svc\",tool=\"crm\",from=\"closed\",to=\"open\"}"] == 1)
        #expect(m["orch_events_dropped_total{source=\"svc\",reason=\"disk_full\"}"] == 17)
    }

    @Test func corruptFramesAreCountedAndTheRestIngested() throws {
        let dir = TempDir("corrupt")
        defer { dir.remove() }
        _ = try generate(dir, events: 40_000)
        let segment = try LogDirectory.segments(in: dir.sub("root/app"))[0].path
        let reader = try SegmentReader(path: segment)
        guard case let .frame(first, _) = try reader.readFrame(at: SegmentReader.firstFrameOffset) else { Issue.record("no frame"); return }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[Int(SegmentReader.firstFrameOffset) + 60] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: segment))
        let m = try once(dir, status: 1)  // corruption found: exit 1, as tail and inspect (docs/exit-status.md)
        #expect(m["orchlog_collector_decode_errors_total{source=\"app\"}"] == 1)
        let summary = try readJSON(dir.sub("app.json"))
        #expect(m["orchlog_collector_events_ingested_total{source=\"app\"}"] == Double((summary["events"] as! Int) - Int(first.eventCount)))
    }

    @Test func cardinalityGuardFoldsNewSeriesIntoOverflow() throws {
        let dir = TempDir("cardinality")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("root/svc"))
        for i in 0..<50 {
            log.emit(.toolCall(tool: log.label("tool-\(i)"), outcome: .success, latencyNs: 1_000_000, fallbackUsed: false))
        }
        log.close()
        let m = try once(dir, ["--metrics.max-series-per-family", "40"])
        let calls = m.filter { $0.key.hasPrefix("orch_tool_calls_total{") }
        #expect(calls.count == 41, "40 series + overflow")
        #expect(calls.values.reduce(0, +) == 50, "nothing lost: folded into overflow")
        #expect((m["orchlog_collector_series_dropped_total{metric=\"orch_tool_calls_total\"}"] ?? 0) > 0)
    }

    @Test func servesNegotiatedFormatsGzipLandingHealthAnd404() throws {
        let dir = TempDir("http")
        defer { dir.remove() }
        _ = try generate(dir, events: 5_000)
        let (daemon, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        let base = "http://127.0.0.1:\(port)"
        #expect(Daemon.waitUntil { (try? curl(["-f", base + "/-/ready"]))?.status == 0 })
        let text = try curl(["-D", "-", base + "/metrics"])
        #expect(text.stdout.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        #expect(text.stdout.contains("orch_invocations_total{source=\"app\""))
        let om = try curl(["-D", "-", "-H", "Accept: application/openmetrics-text; version=1.0.0", base + "/metrics"])
        #expect(om.stdout.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"))
        #expect(om.stdout.hasSuffix("# EOF\n"))
        #expect(om.stdout.contains("# TYPE orch_invocations counter"))
        let gz = try curl(["-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", base + "/metrics"])
        #expect(gz.stdout.lowercased().contains("content-encoding: gzip"))
        let landing = try curl([base + "/"])
        #expect(landing.stdout.contains("<a href=\"/metrics\">") && landing.stdout.contains(">app<"))
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", base + "/-/healthy"]).stdout == "200")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", base + "/nope"]).stdout == "404")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/metrics"]).stdout == "405")
        #expect(daemon.stop() == 0)
        #expect(daemon.stderr.contains("stopped"))
    }

    @Test func newSourcesAppearLiveAndVanishedOnesExpireAfterTheTTL() throws {
        let dir = TempDir("live")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("root"), withIntermediateDirectories: true)
        let (daemon, port) = try startCollector(["--log.dir", dir.sub("root"), "--source.ttl", "1"], dir: dir)
        defer { daemon.stop() }
        let log = try EventLog(directory: dir.sub("root/newcomer"))
        log.emit(.queueSample(queue: log.label("q"), depth: 42, capacity: 100))
        log.close()
        let url = "http://127.0.0.1:\(port)/metrics"
        #expect(Daemon.waitUntil { (try? curl([url]))?.stdout.contains("orch_queue_depth{source=\"newcomer\",queue=\"q\"} 42") == true })
        try FileManager.default.removeItem(atPath: dir.sub("root/newcomer"))
        #expect(Daemon.waitUntil { (try? curl([url]))?.stdout.contains("source=\"newcomer\"") == false }, "series removed after the TTL")
    }

    @Test func killedAtRandomMomentsAndRestartedItCountsEveryEventExactlyOnce() throws {
        let dir = TempDir("exact")
        defer { dir.remove() }
        let a = try generate(dir, source: "a", events: 300_000, seed: 11)
        let b = try generate(dir, source: "b", events: 100_000, seed: 12)
        let checkpoint = dir.sub("state/collector.checkpoint")
        try FileManager.default.createDirectory(atPath: dir.sub("state"), withIntermediateDirectories: true)
        for i in 0..<12 {
            let daemon = try Daemon(binaryPath("orchlog-collector"), ["--web.listen-address", "127.0.0.1:0", "--log.dir", dir.sub("root"),
                                    "--checkpoint.file", checkpoint, "--checkpoint.interval", "0.02"], dir: dir, name: "c\(i)")
            usleep(UInt32.random(in: 30_000...400_000))
            daemon.signal(SIGKILL)
            daemon.process.waitUntilExit()
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.sub("state")).filter { $0.contains(".tmp.") }
            for name in leftovers { try FileManager.default.removeItem(atPath: dir.sub("state/\(name)")) }
            if FileManager.default.fileExists(atPath: checkpoint) {
                #expect((try? readJSON(checkpoint)) != nil, "the checkpoint is never half-written")
            }
        }
        let m = try once(dir, ["--checkpoint.file", checkpoint])
        assertTotalsMatch(m, a, source: "a")
        assertTotalsMatch(m, b, source: "b")
    }

    @Test func metricsReferenceMatchesTheCollectorsFamilies() throws {
        let dir = TempDir("docs")
        defer { dir.remove() }
        _ = try generate(dir, events: 2_000)
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")])
        var exported: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            exported[String(parts[2])] = String(parts[3])
        }
        let docsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/metrics.md").path
        let docs = try String(contentsOfFile: docsPath, encoding: .utf8)
        var documented: [String: String] = [:]
        for line in docs.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            // Prometheus text 0.0.4 has no info type: an info family is a gauge there.
            documented[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1] == "info" ? "gauge" : cells[1]
        }
        #expect(!exported.isEmpty)
        #expect(documented == exported, "docs/metrics.md must list exactly the exported families with their types")
        // And it is the collector's own reference, byte for byte.
        let reference = try runTool("orchlog-collector", ["--metrics.reference"])
        #expect(reference.status == 0 && reference.stdout == docs, "regenerate: orchlog-collector --metrics.reference > docs/metrics.md")
    }
}

@Suite struct CollectorGapTests {
    @Test func retentionDeletingUnreadDataIsCountedAsLostNotHidden() throws {
        let dir = TempDir("gap")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.segmentMaxBytes = 4096
        options.blockSize = 1024
        options.compressionLevel = 0
        options.retentionMaxBytes = 20_000
        let checkpoint = dir.sub("collector.checkpoint")
        // Batch 1: read by the collector, checkpointed.
        var log = try EventLog(directory: dir.sub("root/svc"), options: options)
        var q = log.label("q")
        for i in 0..<200 { log.emit(.queueSample(queue: q, depth: UInt64(i), capacity: 1_000)) }
        log.close()
        let first = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--checkpoint.file", checkpoint])
        #expect(first.status == 0)
        #expect(parseExposition(first.stdout)["orchlog_collector_events_ingested_total{source=\"svc\"}"] == 200)
        // Batch 2: far more than retention keeps, written while the collector is away.
        log = try EventLog(directory: dir.sub("root/svc"), options: options)
        q = log.label("q")
        for i in 0..<20_000 { log.emit(.queueSample(queue: q, depth: UInt64(i), capacity: 1_000)) }
        log.close()
        let kept = try readAll(dir.sub("root/svc"))
        #expect(kept.count < 20_000, "retention deleted some of batch 2")
        let second = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--checkpoint.file", checkpoint])
        #expect(second.status == 0)
        let m = parseExposition(second.stdout)
        let ingested = m["orchlog_collector_events_ingested_total{source=\"svc\"}"] ?? 0
        let lost = m["orchlog_collector_events_lost_total{source=\"svc\"}"] ?? 0
        #expect(lost > 0)
        #expect(ingested == Double(200 + kept.count))
        #expect(ingested + lost == 20_200, "every event is either counted or counted as lost")
    }

    /// Counts that do not fit (or are not whole numbers) are usage errors, not a crash.
    @Test(arguments: [
        ["--metrics.max-series-per-family", "99999999999999999999"], ["--metrics.max-series-per-family", "1e30"],
        ["--metrics.max-series-per-family", "1.5"], ["--metrics.max-series-per-family", "0"],
        ["--state.tracked-keys", "9223372036854775807"], ["--state.tracked-keys", "1e19"], ["--state.tracked-keys", "abc"],
        ["--poll.interval", "1e300"], ["--poll.interval", "0"],
        ["--status.sample-interval", "0"], ["--status.sample-interval", "1e9"], ["--status.max-sources", "-1"], ["--status.max-sources", "1e6"],
    ])
    func outOfRangeNumbersAreUsageErrors(_ flag: [String]) throws {
        let dir = TempDir("flags")
        defer { dir.remove() }
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.path] + flag)
        #expect(r.status == 2, "\(flag): \(r.status) \(r.stderr)")
        #expect(r.stderr.hasPrefix("orchlog-collector: \(flag[0]) \(flag[1]): expected "), "\(r.stderr)")
    }

    /// A `--log.dir` that is missing, a file or unreadable is said so, once, and fails `--once`
    /// (a typo must not look like an empty success); the roots that can be read still count.
    @Test func unreadableLogRootsAreReportedAndFailOnce() throws {
        let dir = TempDir("roots")
        defer { dir.remove() }
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "500"])
        #expect(gen.status == 0, "\(gen.stderr)")
        try "not a directory".write(toFile: dir.sub("file"), atomically: true, encoding: .utf8)
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--log.dir", dir.sub("missing"),
                                                   "--log.dir", dir.sub("file")])
        #expect(r.status == 1, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.contains(dir.sub("missing")) } == ["orchlog-collector: --log.dir \(dir.sub("missing")): No such file or directory"])
        #expect(lines.contains { $0.contains(dir.sub("file")) && $0.contains("not a directory") }, "\(r.stderr)")
        #expect(parseExposition(r.stdout)["orchlog_collector_events_ingested_total{source=\"app\"}"] ?? 0 >= 500)

        // Unreadable, for a user who may not list it.
        try FileManager.default.createDirectory(atPath: dir.sub("locked/app"), withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        chmod(dir.sub("locked"), 0o700)
        let nobody = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                  binaryPath("orchlog-collector"), "--once", "--log.dir", dir.sub("locked")])
        #expect(nobody.status == 1, "\(nobody.stderr)")
        #expect(nobody.stderr.contains("Permission denied"), "\(nobody.stderr)")
    }

    @Test func badWebConfigIsAClearStartupErrorNotACrash() throws {
        let dir = TempDir("badweb")
        defer { dir.remove() }
        try "tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n".write(toFile: dir.sub("web.yml"), atomically: true, encoding: .utf8)
        try "basic_auth_users: [unclosed\n".write(toFile: dir.sub("broken.yml"), atomically: true, encoding: .utf8)
        for file in [dir.sub("web.yml"), dir.sub("broken.yml"), dir.sub("missing.yml")] {
            let r = try runTool("orchlog-collector", ["--log.dir", dir.path, "--web.listen-address", "127.0.0.1:0", "--web.config.file", file])
            #expect(r.status == 1, "\(file): \(r.stderr)")
            #expect(r.stderr.hasPrefix("orchlog-collector: ") && r.stderr.contains(file), "\(r.stderr)")
        }
        let usage = try runTool("orchlog-collector", ["--bogus"])
        #expect(usage.status == 2)
    }
}

/// The checkpoint knows its logs: it records the --log.dir set, refuses another, and is locked
/// against a second collector.
@Suite struct CheckpointOwnershipTests {
    @Test func aCheckpointForOtherLogsIsRefusedUntilReset() throws {
        let dir = TempDir("ckpt-own")
        defer { dir.remove() }
        for (root, n) in [("a", 300), ("b", 500)] {
            #expect(try runTool("orchlog", ["generate", "--out", dir.sub("\(root)/src"), "--events", "\(n)"]).status == 0)
        }
        let cp = dir.sub("checkpoint")
        func ingested(_ r: ProcessResult) -> Double? { parseExposition(r.stdout)["orchlog_collector_events_ingested_total{source=\"src\"}"] }
        let inA = Double(try readAll(dir.sub("a/src")).count), inB = Double(try readAll(dir.sub("b/src")).count)
        #expect(inA >= 300 && inB >= 500 && inA != inB)
        let first = try runTool("orchlog-collector", ["--log.dir", dir.sub("a"), "--checkpoint.file", cp, "--once"])
        #expect(first.status == 0 && ingested(first) == inA, "\(first.stderr)")
        let recorded = try #require(try readJSON(cp)["logDirs"] as? [String])
        #expect(recorded == [dir.sub("a")])
        // The same logs named another way (a trailing slash, a relative path) are the same logs.
        let same = try run(binaryPath("orchlog-collector"), ["--log.dir", "a/", "--checkpoint.file", cp, "--once"], environment: nil, cwd: dir.path)
        #expect(same.status == 0 && ingested(same) == inA, "\(same.stderr)")
        // Other logs: refused, naming both sets and the way out; the checkpoint is untouched.
        let before = try Data(contentsOf: URL(fileURLWithPath: cp))
        let other = try runTool("orchlog-collector", ["--log.dir", dir.sub("b"), "--checkpoint.file", cp, "--once"])
        #expect(other.status == 1 && other.stdout.isEmpty)
        #expect(other.stderr.contains("was written for --log.dir \(dir.sub("a")), not \(dir.sub("b"))") && other.stderr.contains("--checkpoint.reset"), "\(other.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: cp)) == before)
        // --checkpoint.reset starts afresh and records the new set; then a plain run resumes it.
        let reset = try runTool("orchlog-collector", ["--log.dir", dir.sub("b"), "--checkpoint.file", cp, "--checkpoint.reset", "--once"])
        #expect(reset.status == 0 && ingested(reset) == inB, "\(reset.stderr)")
        #expect(try readJSON(cp)["logDirs"] as? [String] == [dir.sub("b")])
        let resumed = try runTool("orchlog-collector", ["--log.dir", dir.sub("b"), "--checkpoint.file", cp, "--once"])
        #expect(resumed.status == 0 && ingested(resumed) == inB, "exactly once: \(resumed.stderr)")
        // A checkpoint from before the set was recorded is adopted.
        var old = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cp))) as? [String: Any])
        old["logDirs"] = nil
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: cp))
        let adopted = try runTool("orchlog-collector", ["--log.dir", dir.sub("a"), "--checkpoint.file", cp, "--once"])
        #expect(adopted.status == 0, "\(adopted.stderr)")
        #expect(try readJSON(cp)["logDirs"] as? [String] == [dir.sub("a")])
    }

    @Test func aCheckpointForAnotherSourceGroupIsRefusedUntilReset() throws {
        let dir = TempDir("ckpt-group")
        defer { dir.remove() }
        for pod in ["checkout-0a1b", "checkout-2c3d"] {
            #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/\(pod)"), "--events", "200"]).status == 0)
        }
        let cp = dir.sub("checkpoint")
        let rule = "^(checkout)-[0-9a-f]+$"
        let grouped = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--source.group", rule, "--checkpoint.file", cp, "--once"])
        #expect(grouped.status == 0 && grouped.stdout.contains("orch_invocations_total{source=\"checkout\""), "\(grouped.stderr)")
        #expect(try readJSON(cp)["sourceGroup"] as? String == rule)
        // Without the rule the series would be per directory, the checkpoint's per group: refused.
        let before = try Data(contentsOf: URL(fileURLWithPath: cp))
        let plain = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--checkpoint.file", cp, "--once"])
        #expect(plain.status == 1 && plain.stdout.isEmpty)
        #expect(plain.stderr.contains("was written with --source.group \(rule), not no --source.group") && plain.stderr.contains("--checkpoint.reset"),
                "\(plain.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: cp)) == before)
        let other = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--source.group", "^(check)", "--checkpoint.file", cp, "--once"])
        #expect(other.status == 1 && other.stderr.contains("not --source.group ^(check)"), "\(other.stderr)")
        let reset = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--checkpoint.file", cp, "--checkpoint.reset", "--once"])
        #expect(reset.status == 0 && reset.stdout.contains("orch_invocations_total{source=\"checkout-0a1b\""), "\(reset.stderr)")
        #expect(try readJSON(cp)["sourceGroup"] as? String == "")
    }

    @Test func aSecondCollectorOnOneCheckpointFailsNamingTheFirst() throws {
        let dir = TempDir("ckpt-lock")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/src"), "--events", "100"]).status == 0)
        let cp = dir.sub("checkpoint")
        let (first, _) = try startCollector(["--log.dir", dir.sub("root"), "--checkpoint.file", cp], dir: dir)
        let second = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--checkpoint.file", cp, "--once"])
        #expect(second.status == 1 && second.stderr.contains("another collector (pid \(first.process.processIdentifier)) uses this checkpoint"), "\(second.stderr)")
        #expect(first.stop() == 0)
        // Once it is gone, the checkpoint is free (a SIGKILLed holder frees it too: the kernel drops the lock).
        let third = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--checkpoint.file", cp, "--once"])
        #expect(third.status == 0, "\(third.stderr)")
    }
}
