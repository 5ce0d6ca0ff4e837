import Foundation
import OrchLog
@testable import OrchLive
import OrchReference
import OrchTestSupport
import Synchronization
import Testing

/// The collector decides "lost update" from the order of a key's `state_write` events in the
/// log. These tests drive the live state layer (no write-back cache: every write goes to the
/// real store) from 16 agent tasks on 16 real threads, all writing one key, and check that
/// the log holds the key's commits in the order the store applied them and that the built
/// collector, reading that log, counts exactly the lost updates the store itself counted.
@Suite struct StateLayerOrderTests {
    static let writers = 16
    static let rounds = 30

    /// What the run logged and what the store counted.
    struct Outcome {
        var committedNewVersions: [UInt64] = []
        var conflicts = 0
        var storeLost: UInt64 = 0
        var collectorLost: Double = -1
        var storeWrites: UInt64 = 0
    }

    /// Each of `writers` agent tasks reads `account:0` and writes it back `rounds` times (with
    /// OCC, re-reading after a conflict until it commits); then the log is read by the collector.
    static func run(_ store: any LiveStateStore, occ: Bool, dir: TempDir) async throws -> Outcome {
        var config = OrchestratorConfig(components: .init(boundedQueue: false, optimisticConcurrency: occ, writeBackCache: false,
                                                          circuitBreakers: false, rateLimiter: false))
        config.poolSize = writers
        config.naiveReadCacheSeconds = 0  // every naive read goes to the store: the races are the store's alone
        config.writeAttempts = 1_000
        let log = try EventLog(directory: dir.sub("root/order"))
        let layer = LiveStateLayer(store: store, config: config, clock: LiveClock(speed: 1), log: log, counters: LiveCounters())
        let key = LiveKey(name: "account:0", label: log.label("account:0"), shard: 0)
        let executor = ThreadPoolExecutor(threads: writers, name: "writer")
        defer { executor.shutdown() }
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask(executorPreference: executor) {
                    for r in 0..<rounds {
                        var attempt = 1
                        while let base = layer.read(key, instance: w) {
                            let result = await layer.write(key, base: base, attempt: attempt, instance: w, data: "writer \(w) round \(r)")
                            if case .conflict = result { attempt += 1; continue }
                            break
                        }
                    }
                }
            }
        }
        _ = await layer.finish(timeoutNs: 1_000_000_000)
        log.close()

        var outcome = Outcome()
        for record in try readAll(dir.sub("root/order")) where record.type == .stateWrite {
            switch record.text(of: "outcome") {
            case "committed": outcome.committedNewVersions.append(record.number(of: "new_version") ?? 0)
            case "conflict": outcome.conflicts += 1
            default: break
            }
        }
        let truth = try store.truth("account:0")
        outcome.storeLost = truth.lostUpdates
        outcome.storeWrites = truth.writes
        let collector = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")])
        #expect(collector.status == 0, "\(collector.stderr)")
        outcome.collectorLost = parseExposition(collector.stdout).filter { $0.key.hasPrefix("orch_state_lost_updates_total{") }.values.reduce(0, +)
        return outcome
    }

    /// Compare-and-set on Redis: version k is the store's k-th write, so the log's commits
    /// must read 1, 2, 3, … exactly — any two logged out of the store's order would also make
    /// the collector count a lost update that compare-and-set made impossible.
    @Test func redisCompareAndSetCommitsAreLoggedInTheStoresOrder() async throws {
        let dir = TempDir("order-redis-occ")
        defer { dir.remove() }
        let server = try ManagedRedis(directory: dir.sub("redis"))
        defer { server.stop() }
        let o = try await Self.run(try RedisStateStore(endpoints: [server.endpoint]), occ: true, dir: dir)
        #expect(o.committedNewVersions.count == Self.writers * Self.rounds)
        let misplaced = o.committedNewVersions.enumerated().first { $0.element != UInt64($0.offset + 1) }
        #expect(misplaced == nil, "commit #\((misplaced?.offset ?? 0) + 1) in the log is version \(misplaced?.element ?? 0)")
        #expect(o.conflicts > 0, "the writers must really collide")
        #expect(o.storeLost == 0 && o.collectorLost == 0)
    }

    /// Blind writes on Redis and PostgreSQL: updates are really lost, and the collector, from
    /// the log's order alone, finds exactly as many as the store counted.
    @Test(arguments: ["redis", "postgres"])
    func blindWritesTheCollectorCountsExactlyTheStoresLostUpdates(store kind: String) async throws {
        let dir = TempDir("order-\(kind)-naive")
        defer { dir.remove() }
        let store: any LiveStateStore
        let stop: () -> Void
        if kind == "redis" {
            let server = try ManagedRedis(directory: dir.sub("redis"))
            stop = { server.stop() }
            store = try RedisStateStore(endpoints: [server.endpoint])
        } else {
            let cluster = try ManagedPostgres(directory: dir.sub("pg"))
            stop = { cluster.stop() }
            store = try PostgresStateStore(dsn: cluster.dsn)
        }
        defer { stop() }
        let o = try await Self.run(store, occ: false, dir: dir)
        #expect(o.committedNewVersions.count == Self.writers * Self.rounds)
        #expect(o.storeWrites == UInt64(Self.writers * Self.rounds))
        #expect(o.storeLost > 0, "16 writers on one key must lose updates")
        #expect(o.collectorLost == Double(o.storeLost), "collector \(o.collectorLost), store \(o.storeLost)")
    }
}
