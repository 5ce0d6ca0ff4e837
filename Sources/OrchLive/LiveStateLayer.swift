import Foundation
import OrchLog
import OrchReference
import Synchronization

/// A record of shared state as the live orchestrator names it: the store key, its label in
/// the log, and the cache shard it belongs to.
struct LiveKey: Sendable {
    let name: String
    let label: Label
    let shard: Int
    /// The invocation reading or writing (its events carry it); 0: none.
    var invocation: UInt64 = 0
}

/// How a live state write ended.
enum LiveStateWrite: Sendable, Equatable {
    case committed(version: UInt64)
    case conflict
    case timeout
    case error
}

/// The live memory / state layer: versioned records in a real store (Redis, PostgreSQL),
/// called from agent tasks on many threads at once.
///
/// With the write-back cache on, writes go to `LiveWriteBackCache` (the cache is the
/// authority for versions, flushes are pipelined and asynchronous, reads go through to the
/// store on a miss). With it off, every read and write goes to the store synchronously:
/// with optimistic concurrency, compare-and-set (the Redis Lua script, PostgreSQL's
/// `SELECT … FOR UPDATE` + version-checked `UPDATE`); without, a read then a blind write
/// (and agent instances reuse what they read for `naiveReadCacheSeconds`, as the
/// simulated orchestrator's do). Commits are logged in the store's order per key
/// (`CommitSequencer`), so the collector sees the races as the store resolved them.
final class LiveStateLayer: Sendable {
    let store: any LiveStateStore
    let cache: LiveWriteBackCache?
    private let occ: Bool
    private let clock: LiveClock
    private let log: EventLog?
    private let counters: LiveCounters
    private let sequencer: CommitSequencer
    private let directShard: Label
    private let naiveReadCacheNs: UInt64
    /// Without OCC: per agent instance, key → (version, read at ns).
    private let localCaches: [Locked<[String: (version: UInt64, at: UInt64)]>]

    init(store: any LiveStateStore, config: OrchestratorConfig, clock: LiveClock, log: EventLog?, counters: LiveCounters) {
        self.store = store
        occ = config.components.optimisticConcurrency
        self.clock = clock
        self.log = log
        self.counters = counters
        sequencer = CommitSequencer(log: log)
        directShard = log?.label("shard-0") ?? Label(id: 0)
        naiveReadCacheNs = clock.ns(simulatedSeconds: config.naiveReadCacheSeconds)
        localCaches = (0..<(occ ? 0 : max(1, config.poolSize))).map { _ in Locked([:]) }
        cache = config.components.writeBackCache
            ? LiveWriteBackCache(store: store, config: config, clock: clock, log: log, counters: counters) : nil
    }

    /// Cache shards (1 without the write-back cache).
    var shardCount: Int { cache?.shardCount ?? 1 }

    /// Reads `key` for agent instance `instance`: its version, or nil when the read failed.
    func read(_ key: LiveKey, instance: Int) -> UInt64? {
        if let cache { return cache.read(key) }
        let start = clock.nowNs()
        if !occ, let cached = localCaches[instance].withLock({ $0[key.name] }), start &- cached.at < naiveReadCacheNs {
            emitRead(key, cached.version, .cache, start)
            return cached.version
        }
        do {
            let record = try store.read(key.name)
            if !occ { localCaches[instance].withLock { $0[key.name] = (record.version, clock.nowNs()) } }
            emitRead(key, record.version, .store, start)
            return record.version
        } catch {
            counters.update { $0.readFailures += 1 }
            return nil
        }
    }

    // guide:begin live-state-read
    private func emitRead(_ key: LiveKey, _ version: UInt64, _ source: ReadSource, _ start: UInt64) {
        let now = clock.nowNs()
        counters.update {
            $0.reads += 1
            if source == .cache { $0.readsFromCache += 1 }
        }
        log?.emit(.stateRead(shard: directShard, key: key.label, version: version, source: source, latencyNs: now - start, invocationID: key.invocation), at: now)
    }
    // guide:end live-state-read

    // guide:begin live-state-write
    /// Writes a new version of `key` computed from `base` (the version the agent read);
    /// `attempt` counts from 1 across retries.
    func write(_ key: LiveKey, base: UInt64, attempt: Int, instance: Int, data: String) async -> LiveStateWrite {
        if let cache { return await cache.write(key, base: base, attempt: attempt, data: data) }
        let start = clock.nowNs()
        counters.update { $0.storeWrites += 1 }
        do {
            let commit: LiveCommit
            if occ {
                switch try store.compareAndSet(key.name, base: base, data: data) {
                case .committed(let c):
                    commit = c
                case .conflict:
                    emitWrite(key, base, base + 1, .conflict, start, attempt)
                    return .conflict
                }
            } else {
                commit = try store.blindSet(key.name, base: base, data: data)
                localCaches[instance].withLock { $0[key.name] = (commit.version, clock.nowNs()) }
            }
            let now = clock.nowNs()
            counters.update { $0.writes += 1; $0.committed += 1 }
            let event = Event.stateWrite(shard: directShard, key: key.label, baseVersion: base, newVersion: commit.version, outcome: .committed,
                                         latencyNs: now - start, attempt: UInt64(attempt))
            sequencer.committed(key.name, sequence: commit.sequence, event, at: now)
            return .committed(version: commit.version)
        } catch {
            let timedOut = error.code == .timeout
            if timedOut { counters.update { $0.storeWriteTimeouts += 1 } }
            emitWrite(key, base, base + 1, timedOut ? .timeout : .error, start, attempt)
            return timedOut ? .timeout : .error
        }
    }
    // guide:end live-state-write

    private func emitWrite(_ key: LiveKey, _ base: UInt64, _ new: UInt64, _ outcome: WriteOutcome, _ start: UInt64, _ attempt: Int) {
        let now = clock.nowNs()
        counters.update { $0.countWrite(outcome) }
        log?.emit(.stateWrite(shard: directShard, key: key.label, baseVersion: base, newVersion: new, outcome: outcome,
                              latencyNs: now - start, attempt: UInt64(attempt), invocationID: key.invocation), at: now)
    }

    /// Starts the write-back flushers on `executor` (no-op without the cache).
    func start(on executor: any TaskExecutor) { cache?.start(on: executor) }

    /// Ends the run's state traffic: flushes what the cache holds (up to `timeoutNs` of wall
    /// time) and logs commits still parked behind a lost reply. Returns the records left
    /// unflushed.
    func finish(timeoutNs: UInt64) async -> Int {
        let left = await cache?.stop(timeoutNs: timeoutNs) ?? 0
        sequencer.drain()
        return left
    }
}

/// Wall-clock time of a live run and the speed factor: `--speed K` divides the latencies and
/// timeouts of the scenario's (simulated-seconds) configuration by K.
struct LiveClock: Sendable {
    /// The speed factor K (> 0).
    let speed: Double
    /// Unix time (ns) and the monotonic clock when this clock was made.
    private let epochNs: UInt64
    private let originNs: UInt64

    init(speed: Double) {
        self.speed = speed
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        originNs = DispatchTime.now().uptimeNanoseconds
        epochNs = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Unix time now (ns), advanced by the monotonic clock since the clock was made: event
    /// timestamps are wall-clock, and a latency taken as the difference of two readings is
    /// never negative (a wall-clock step during the run moves neither).
    func nowNs() -> UInt64 {
        epochNs &+ (DispatchTime.now().uptimeNanoseconds &- originNs)
    }

    /// Wall-clock nanoseconds of `seconds` of scenario time.
    func ns(simulatedSeconds seconds: Double) -> UInt64 {
        UInt64(max(0, seconds / speed) * 1e9)
    }

    /// Sleeps `seconds` of scenario time (÷ K of wall-clock time); returns at once for 0.
    func sleep(simulatedSeconds seconds: Double) async {
        let ns = ns(simulatedSeconds: seconds)
        guard ns > 0 else { return }
        try? await Task.sleep(nanoseconds: ns)
    }
}
