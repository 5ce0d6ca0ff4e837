import Foundation
import OrchLog
import OrchTestSupport
import Testing

/// `reference-orchestrator --live` on real state stores, run as a user runs it, its log read
/// by the collector as Prometheus would see it.
@Suite struct LiveScenarioTests {
    /// Runs `scenario` live on `store` for `seconds` of wall-clock time at 100× and returns
    /// its summary and the collector's exposition of its log.
    static func runLive(_ scenario: String, store: String, seconds: Int, dir: TempDir, extra: [String] = []) throws -> (summary: [String: Any], metrics: [String: Double], wall: Double) {
        let started = Date()
        let run = try runTool("reference-orchestrator", ["--scenario", scenario, "--live", "--state-store", store, "--speed", "100",
                                                         "--duration", String(seconds), "--out", dir.sub("root"),
                                                         "--summary-json", dir.sub("summary.json"), "--quiet"] + extra)
        let wall = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try readJSON(dir.sub("summary.json"))
        let collector = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--once"])
        #expect(collector.status == 0, "\(collector.stderr)")
        return (summary, parseExposition(collector.stdout), wall)
    }

    /// The records of `records` in the `index`-th 10 s of wall time from `start` (a 30 s run's thirds).
    static func third(_ index: UInt64, of records: [EventRecord], from start: UInt64) -> [EventRecord] {
        records.filter { $0.timestamp >= start && ($0.timestamp - start) / 10_000_000_000 == index }
    }

    static func sum(_ metrics: [String: Double], _ family: String, where filter: String = "") -> Double {
        metrics.filter { $0.key.hasPrefix(family + "{") && (filter.isEmpty || $0.key.contains(filter)) }.values.reduce(0, +)
    }

    /// The incident's silent failure, for real: ten agent instances on real threads
    /// read-modify-write shared accounts with blind writes on a real store, and updates are
    /// lost. The store counts them itself (writes that reported success − versions actually
    /// advanced), and the collector, from the log's versions alone, finds exactly as many.
    @Test(arguments: ["redis", "postgres"])
    func productionNaiveLosesUpdatesAndTheCollectorCountsExactlyTheStoresGroundTruth(store: String) throws {
        let dir = TempDir("live-naive-\(store)")
        defer { dir.remove() }
        let (summary, metrics, wall) = try Self.runLive("production-naive", store: store, seconds: 15, dir: dir)
        #expect(wall <= 60)
        #expect(summary["mode"] as? String == "live")
        let state = try #require(summary["state"] as? [String: Any])
        #expect(state["store"] as? String == store)
        let lost = try #require(state["lost_updates"] as? Int)
        #expect(lost > 0)
        #expect(Self.sum(metrics, "orch_state_lost_updates_total") == Double(lost), "\(metrics.filter { $0.key.contains("lost_updates") })")
        // Every committed write the summary counts is in the log.
        let committed = try #require(state["committed"] as? Int)
        #expect(Self.sum(metrics, "orch_state_writes_total", where: "outcome=\"committed\"") == Double(committed))
    }

    /// Every protection on, on the same real stores: writers collide (conflicts), retry with
    /// the fresh version, and no update is lost — by the store's count and the collector's.
    @Test(arguments: ["redis", "postgres"])
    func productionHardenedLosesNoUpdateAndSucceeds(store: String) throws {
        let dir = TempDir("live-hardened-\(store)")
        defer { dir.remove() }
        let (summary, metrics, wall) = try Self.runLive("production-hardened", store: store, seconds: 15, dir: dir)
        #expect(wall <= 60)
        let state = try #require(summary["state"] as? [String: Any])
        #expect(state["store"] as? String == store)
        #expect(state["lost_updates"] as? Int == 0)
        #expect((state["conflicts"] as? Int ?? 0) > 0, "the writers must really collide for 0 lost updates to mean anything")
        #expect(Self.sum(metrics, "orch_state_lost_updates_total") == 0)
        // Reads come from the write-back cache, the authority for versions: none is stale.
        #expect(metrics.keys.contains { $0.hasPrefix("orch_state_stale_reads_total{") }, "the collector tracks stale reads")
        #expect(Self.sum(metrics, "orch_state_stale_reads_total") == 0)
        let success = try #require(summary["success_rate"] as? Double)
        #expect(success >= 0.995, "\(summary["failure_reasons"] ?? "")")
        let invocations = try #require(summary["invocations"] as? [String: Any])
        #expect((invocations["total"] as? Int ?? 0) > 200)
        let memory = try #require(summary["memory"] as? [String: Any])
        #expect((memory["flushes"] as? Int ?? 0) > 0, "the write-back cache flushes to the real store")
    }

    /// 60% of the invocations hit one account in the middle third: writers on many threads
    /// collide on that record in the real store's cache layer, compare-and-set refuses the
    /// stale ones, they re-read and retry — conflicts and retries rise, and still no update is
    /// lost and no read is stale, by the store's count and the collector's.
    @Test func hotKeyContentionConflictsAndRetriesOnTheRealStoreAndLosesNothing() throws {
        let dir = TempDir("live-hot-key")
        defer { dir.remove() }
        let (summary, metrics, wall) = try Self.runLive("hot-key-contention", store: "redis", seconds: 30, dir: dir)
        #expect(wall <= 90)
        let state = try #require(summary["state"] as? [String: Any])
        let conflicts = try #require(state["conflicts"] as? Int)
        let committed = try #require(state["committed"] as? Int)
        #expect(conflicts > 0 && committed > 0)
        #expect(Self.sum(metrics, "orch_state_writes_total", where: "outcome=\"conflict\"") == Double(conflicts))
        #expect(Self.sum(metrics, "orch_state_write_retries_total") > 0)
        // The share of write attempts that conflict, in the hot third against the first third.
        let writes = try readAll(dir.sub("root")).filter { $0.type == .stateWrite }
        let start = try #require(writes.map(\.timestamp).min())
        func conflictShare(_ third: UInt64) -> Double {
            let inThird = Self.third(third, of: writes, from: start)
            return Double(inThird.filter { $0.text(of: "outcome") == "conflict" }.count) / Double(max(1, inThird.count))
        }
        let (before, hot) = (conflictShare(0), conflictShare(1))
        #expect(hot > 2 * before && hot > 0.05, "conflicts: \(before) of the writes before, \(hot) while the key is hot")
        #expect(state["lost_updates"] as? Int == 0)
        #expect(Self.sum(metrics, "orch_state_lost_updates_total") == 0)
        #expect(Self.sum(metrics, "orch_state_stale_reads_total") == 0)
        let success = try #require(summary["success_rate"] as? Double)
        #expect(success >= 0.99, "\(summary["failure_reasons"] ?? "")")
    }

    /// The CRM tool of a real HTTP backend (reference-backends, started by the run) hangs for
    /// the middle third: calls time out for real, the breaker opens, fallbacks serve, and it
    /// closes again after the outage — by the summary and by the collector.
    @Test func toolOutageOpensTheBreakerOnRealTimeoutsFallbacksServeAndItClosesAfter() throws {
        let dir = TempDir("live-tool-outage")
        defer { dir.remove() }
        let (summary, metrics, wall) = try Self.runLive("tool-outage", store: "redis", seconds: 30, dir: dir)
        #expect(wall <= 90)
        let tools = try #require(summary["tools"] as? [String: Any])
        #expect((tools["timeouts"] as? Int ?? 0) > 0, "the hung HTTP calls must time out")
        #expect((tools["breaker_opens"] as? Int ?? 0) > 0)
        #expect((tools["fallbacks"] as? Int ?? 0) > 0)
        #expect(Self.sum(metrics, "orch_tool_calls_total", where: "outcome=\"timeout\"") == Double(tools["timeouts"] as? Int ?? -1))
        #expect(Self.sum(metrics, "orch_circuit_breaker_transitions_total", where: "to=\"open\"") > 0)
        #expect(metrics["orch_circuit_breaker_state{source=\"tool-outage\",tool=\"crm\",state=\"closed\"}"] == 1, "closed after the outage")
        let success = try #require(summary["success_rate"] as? Double)
        #expect(success >= 0.99, "fallbacks keep the invocations going: \(summary["failure_reasons"] ?? "")")
    }

    /// reference-backends cuts every key's quota to 10% for the middle third: its 429s (with
    /// Retry-After) reach the orchestrator over HTTP, the limiter rotates keys, follows the
    /// cut limits the x-ratelimit headers show and queues requests; the invocations get through.
    @Test func llmQuotaCutGets429sFromTheServerRotatesKeysAndTheLimiterQueues() throws {
        let dir = TempDir("live-quota-cut")
        defer { dir.remove() }
        let (summary, metrics, _) = try Self.runLive("llm-quota-cut", store: "redis", seconds: 30, dir: dir)
        let llm = try #require(summary["llm"] as? [String: Any])
        let limited = try #require(llm["rate_limited"] as? Int)
        #expect(limited > 0)
        #expect(Self.sum(metrics, "orch_llm_requests_total", where: "outcome=\"rate_limited\"") == Double(limited))
        #expect((llm["key_rotations"] as? Int ?? 0) > 0)
        #expect((llm["max_waiting"] as? Int ?? 0) > 0, "the limiter must queue requests while the quota is cut")
        #expect(Self.sum(metrics, "orch_llm_key_rotations_total") > 0)
        let success = try #require(summary["success_rate"] as? Double)
        #expect(success >= 0.95, "\(summary["failure_reasons"] ?? "")")
    }

    /// Without the limiter (one key, every request fired at once), the orchestrator has more
    /// requests in flight than the server's concurrency limit, and the server says 429.
    @Test func withoutTheLimiterInFlightRequestsExceedTheServersConcurrencyLimit() throws {
        let dir = TempDir("live-quota-naive")
        defer { dir.remove() }
        let (summary, _, _) = try Self.runLive("llm-quota-cut", store: "redis", seconds: 20, dir: dir, extra: ["--naive", "limiter"])
        let llm = try #require(summary["llm"] as? [String: Any])
        let inflight = try #require(llm["max_inflight"] as? Int)
        let limit = try #require(llm["concurrency_limit"] as? Int)
        #expect(limit == 20)
        #expect(inflight > limit)
        #expect((llm["rate_limited"] as? Int ?? 0) > 0)
        #expect(llm["key_rotations"] as? Int == 0)
    }

    /// Redis paused for writes most of each 100 ms (CLIENT PAUSE … WRITE duty cycles) in the
    /// middle third: flushes time out, pending grows, writers time out under backpressure —
    /// and flushes sent again after a lost reply count no write twice: still 0 lost updates.
    @Test func memorySlowdownPausesRedisFlushesTimeOutAndNoUpdateIsLost() throws {
        let dir = TempDir("live-memory-slowdown")
        defer { dir.remove() }
        let (summary, metrics, _) = try Self.runLive("memory-slowdown", store: "redis", seconds: 30, dir: dir)
        let memory = try #require(summary["memory"] as? [String: Any])
        #expect((memory["flush_timeouts"] as? Int ?? 0) > 0)
        let state = try #require(summary["state"] as? [String: Any])
        #expect((state["timeouts"] as? Int ?? 0) > 0)
        #expect(state["lost_updates"] as? Int == 0)
        #expect(Self.sum(metrics, "orch_state_lost_updates_total") == 0)
        #expect(Self.sum(metrics, "orch_memory_flushes_total", where: "outcome=\"timeout\"") == Double(memory["flush_timeouts"] as? Int ?? -1))
    }

    /// Pointed at an OpenAI-compatible server of the user's (here a reference-backends the test
    /// runs, standing for vLLM, Ollama or a gateway) with `--llm-url`, `--llm-key` and
    /// `--llm-model`, every LLM request goes there with that key and model, the LLM metrics
    /// carry the model's name, and the secret key is never written to the log (its events
    /// name keys by alias).
    @Test func pointedAtAnotherOpenAICompatibleServerItsModelIsInTheMetricsAndTheKeyIsNotLogged() throws {
        let dir = TempDir("live-llm-url")
        defer { dir.remove() }
        let (server, url) = try ReferenceBackendsTests.start(dir, speed: "100")
        defer { _ = server.stop() }
        let (summary, metrics, _) = try Self.runLive("pilot", store: "redis", seconds: 10, dir: dir,
                                                     extra: ["--llm-url", url + "/v1", "--llm-key", "key-c", "--llm-model", "llama3.1:8b"])
        let llm = try #require(summary["llm"] as? [String: Any])
        let requests = try #require(llm["requests"] as? Int)
        #expect(requests > 0)
        #expect(Self.sum(metrics, "orch_llm_requests_total", where: "model=\"llama3.1:8b\"") == Double(requests), "\(metrics.filter { $0.key.hasPrefix("orch_llm_requests_total") })")
        // The server saw them, all on the key given.
        let stats = try JSONSerialization.jsonObject(with: Data(try curl([url + "/admin/stats"]).stdout.utf8)) as? [String: Any]
        let keys = try #require(stats?["keys"] as? [String: [String: Int]])
        #expect(keys["key-c"]?["requests"] == requests, "\(keys.filter { $0.value["requests"] ?? 0 > 0 })")
        #expect(keys.filter { $0.key != "key-c" }.allSatisfy { $0.value["requests"] == 0 })
        let log = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(log.status == 0 && log.stdout.contains("\"model\":\"llama3.1:8b\""))
        #expect(!log.stdout.contains("key-c"), "the API key must not be written to the log")
        let badModel = try runTool("reference-orchestrator", ["--scenario", "pilot", "--no-log", "--llm-model", "x"])
        #expect(badModel.status == 2 && badModel.stderr.contains("--llm-model needs --live"), "\(badModel.stderr)")
    }

    /// PostgreSQL under the memory slowdown: a lock holder blocks every write to the state
    /// table for 39/40 of each 2 s in the middle third (reads go on). Flushes wait out the
    /// holds — many times slower on average, and those that wait past the store's lock
    /// timeout time out and are sent again — and no update is lost, by the store's count and
    /// the collector's. (The write-back cache absorbs the backlog at this load: agents' writes
    /// do not time out, as they do on Redis.)
    @Test func memorySlowdownOnPostgresLockHoldersSlowAndTimeOutFlushesNothingIsLost() throws {
        let dir = TempDir("live-memory-slowdown-pg")
        defer { dir.remove() }
        let (summary, metrics, _) = try Self.runLive("memory-slowdown", store: "postgres", seconds: 30, dir: dir)
        let memory = try #require(summary["memory"] as? [String: Any])
        let flushTimeouts = try #require(memory["flush_timeouts"] as? Int)
        #expect(flushTimeouts > 0, "flushes held past the lock timeout must time out")
        #expect(Self.sum(metrics, "orch_memory_flushes_total", where: "outcome=\"timeout\"") == Double(flushTimeouts))
        let state = try #require(summary["state"] as? [String: Any])
        #expect(state["lost_updates"] as? Int == 0)
        #expect(Self.sum(metrics, "orch_state_lost_updates_total") == 0)
        // Flush latency in the slow third against the first third, from the log.
        let records = try readAll(dir.sub("root"))
        let flushes = records.filter { $0.type == .memoryFlush }
        let start = try #require(records.map(\.timestamp).min())
        func meanLatency(_ third: UInt64) -> Double {
            let inThird = Self.third(third, of: flushes, from: start).compactMap { $0.number(of: "latency_ns") }
            return Double(inThird.reduce(0, +)) / Double(max(1, inThird.count))
        }
        let (before, slow) = (meanLatency(0), meanLatency(1))
        #expect(before > 0 && slow > 5 * before, "mean flush latency \(before) ns before, \(slow) ns while held")
    }

    @Test func liveOnlyFlagsNeedLiveAndLiveNeedsAFactor() throws {
        let noLive = try runTool("reference-orchestrator", ["--scenario", "pilot", "--no-log", "--state-store", "postgres"])
        #expect(noLive.status == 2)
        #expect(noLive.stderr.contains("--state-store needs --live"), "\(noLive.stderr)")
        let maxSpeed = try runTool("reference-orchestrator", ["--scenario", "pilot", "--no-log", "--live", "--speed", "max"])
        #expect(maxSpeed.status == 2)
        let badStore = try runTool("reference-orchestrator", ["--scenario", "pilot", "--no-log", "--live", "--state-store", "sqlite"])
        #expect(badStore.status == 2)
        let badURL = try runTool("reference-orchestrator", ["--scenario", "pilot", "--no-log", "--live", "--redis", "redis://:x"])
        #expect(badURL.status == 2, "\(badURL.stderr)")
    }
}
