import Foundation
import OrchLog
import OrchReference
import Synchronization

/// The write-back cache over a live store, in shards: each shard's cache is the authority
/// for its records' versions. Writes commit to the cache at once (with optimistic
/// concurrency, only if the record is still at the version the writer read) and are
/// flushed by the shard's flusher task in pipelined batches (`LiveStateStore.put`: one round
/// trip per server), each record carrying the writes it acknowledged since its last flush
/// into the store's ground-truth counter. Reads hit the cache and go through to the store on
/// a miss. When a shard's dirty records reach `maxDirtyPerShard`, writers of clean records
/// wait for a flush, up to their write deadline (backpressure).
///
/// A commit is logged while the shard's lock is held, so the log has each record's commits
/// in the order the cache made them.
final class LiveWriteBackCache: Sendable {
    struct Entry {
        var version: UInt64
        var data: String
        var dirty = false
        var queued = false
        /// The record's total write count: the store's when loaded, plus every write acknowledged since.
        var writes: UInt64
        var lastUsed: UInt64
    }

    struct ShardState {
        var cache: [String: Entry] = [:]
        var dirtyOrder: [String] = []
        var dirtyHead = 0
        var dirtyCount = 0
        var batchLimit: Int
        var stopping = false
    }

    final class Shard: Sendable {
        let index: Int
        let label: Label
        let state: Mutex<ShardState>

        init(index: Int, label: Label, batchLimit: Int) {
            self.index = index
            self.label = label
            state = Mutex(ShardState(batchLimit: batchLimit))
        }
    }

    private let store: any LiveStateStore
    private let config: OrchestratorConfig
    private let occ: Bool
    private let clock: LiveClock
    private let log: EventLog?
    private let counters: LiveCounters
    private let shards: [Shard]
    private let flushers = Mutex<[Task<Void, Never>]>([])

    init(store: any LiveStateStore, config: OrchestratorConfig, clock: LiveClock, log: EventLog?, counters: LiveCounters) {
        self.store = store
        self.config = config
        occ = config.components.optimisticConcurrency
        self.clock = clock
        self.log = log
        self.counters = counters
        shards = (0..<max(1, config.shards)).map {
            Shard(index: $0, label: log?.label("shard-\($0)") ?? Label(id: UInt32($0)), batchLimit: max(1, config.maxFlushBatch))
        }
    }

    var shardCount: Int { shards.count }

    // MARK: reads

    /// The version of `key` (cache, else the store); nil when the store read failed.
    func read(_ key: LiveKey) -> UInt64? {
        let start = clock.nowNs()
        let shard = shards[key.shard % shards.count]
        if let v = touch(shard, key.name, start) {
            emitRead(shard, key, v, .cache, start)
            return v
        }
        guard let v = readThrough(shard, key) else {
            counters.update { $0.readFailures += 1 }
            return nil
        }
        emitRead(shard, key, v, .store, start)
        return v
    }

    private func touch(_ shard: Shard, _ key: String, _ now: UInt64) -> UInt64? {
        shard.state.withLock { s in
            guard s.cache[key] != nil else { return nil }
            s.cache[key]!.lastUsed = now
            return s.cache[key]!.version
        }
    }

    /// Loads `key` from the store into the shard's cache (unless it got there meanwhile).
    private func readThrough(_ shard: Shard, _ key: LiveKey) -> UInt64? {
        guard let record = try? store.read(key.name) else { return nil }
        let now = clock.nowNs()
        return shard.state.withLock { s in
            if s.cache[key.name] != nil {
                s.cache[key.name]!.lastUsed = now
                return s.cache[key.name]!.version  // written or loaded meanwhile: the cache is newer or equal
            }
            s.cache[key.name] = Entry(version: record.version, data: record.data, writes: record.writes, lastUsed: now)
            evictIfNeeded(&s)
            return record.version
        }
    }

    private func evictIfNeeded(_ s: inout ShardState) {
        let capacity = max(1, config.cacheCapacityPerShard)
        guard s.cache.count > capacity + capacity / 8 else { return }
        let clean = s.cache.filter { !$0.value.dirty }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        var excess = s.cache.count - capacity
        for (key, _) in clean where excess > 0 {
            s.cache[key] = nil
            excess -= 1
        }
    }

    private func emitRead(_ shard: Shard, _ key: LiveKey, _ version: UInt64, _ source: ReadSource, _ start: UInt64) {
        let now = clock.nowNs()
        counters.update {
            $0.reads += 1
            if source == .cache { $0.readsFromCache += 1 }
        }
        log?.emit(.stateRead(shard: shard.label, key: key.label, version: version, source: source, latencyNs: now - start, invocationID: key.invocation), at: now)
    }

    // MARK: writes

    private enum Step {
        case done(LiveStateWrite)
        case miss
        case full
    }

    /// Commits a new version of `key` from `base` to the cache.
    func write(_ key: LiveKey, base: UInt64, attempt: Int, data: String) async -> LiveStateWrite {
        let start = clock.nowNs()
        let deadline = start + clock.ns(simulatedSeconds: config.writeTimeoutSeconds)
        let shard = shards[key.shard % shards.count]
        while true {
            // guide:begin live-cache-commit
            let step: Step = shard.state.withLock { s in
                guard var e = s.cache[key.name] else { return .miss }
                if occ && e.version != base {
                    emitWrite(shard, key, base, base + 1, .conflict, start, attempt)
                    return .done(.conflict)
                }
                if !e.dirty && s.dirtyCount >= config.maxDirtyPerShard { return .full }
                // Without OCC the writer's value (computed from `base`) replaces whatever is
                // there: last writer wins, as in the store's blind write.
                let new = occ ? e.version + 1 : base + 1
                e.version = new
                e.data = data
                e.writes += 1
                e.lastUsed = clock.nowNs()
                if !e.dirty {
                    e.dirty = true
                    s.dirtyCount += 1
                }
                if !e.queued {
                    e.queued = true
                    s.dirtyOrder.append(key.name)
                }
                s.cache[key.name] = e
                let pending = s.dirtyCount
                counters.update { $0.maxPending = max($0.maxPending, pending) }
                emitWrite(shard, key, base, new, .committed, start, attempt)
                return .done(.committed(version: new))
            }
            // guide:end live-cache-commit
            switch step {
            case .done(let result):
                return result
            case .miss:
                // Evicted (or never loaded) since the agent read it: load it, then write.
                if readThrough(shard, key) == nil {
                    emitWrite(shard, key, base, base + 1, .error, start, attempt)
                    return .error
                }
            case .full:
                if clock.nowNs() >= deadline {
                    emitWrite(shard, key, base, base + 1, .timeout, start, attempt)
                    return .timeout
                }
                try? await Task.sleep(nanoseconds: 1_000_000)
            }
        }
    }

    private func emitWrite(_ shard: Shard, _ key: LiveKey, _ base: UInt64, _ new: UInt64, _ outcome: WriteOutcome, _ start: UInt64, _ attempt: Int) {
        let now = clock.nowNs()
        counters.update { $0.countWrite(outcome) }
        log?.emit(.stateWrite(shard: shard.label, key: key.label, baseVersion: base, newVersion: new, outcome: outcome,
                              latencyNs: now - start, attempt: UInt64(attempt), invocationID: key.invocation), at: now)
    }

    // MARK: flushing

    /// Starts one flusher task per shard, on `executor` (their store calls block a thread).
    func start(on executor: any TaskExecutor) {
        let tasks = shards.map { shard in
            Task(executorPreference: executor) { [self] in await flushLoop(shard) }
        }
        flushers.withLock { $0 = tasks }
    }

    private func flushLoop(_ shard: Shard) async {
        let interval = max(clock.ns(simulatedSeconds: config.flushIntervalSeconds), 1_000_000)
        while true {
            let stopping = shard.state.withLock { $0.stopping }
            if stopping { return }
            try? await Task.sleep(nanoseconds: interval)
            // Back to back while there is a backlog and flushes succeed.
            while flushOnce(shard) == .success {}
        }
    }

    /// Flushes one batch of the shard's dirty records; nil when there was nothing to flush.
    private func flushOnce(_ shard: Shard) -> FlushOutcome? {
        let batch: [FlushRecord] = shard.state.withLock { s in
            var batch: [FlushRecord] = []
            while s.dirtyHead < s.dirtyOrder.count, batch.count < s.batchLimit {
                let key = s.dirtyOrder[s.dirtyHead]
                s.dirtyHead += 1
                guard var e = s.cache[key] else { continue }
                e.queued = false
                if e.dirty {
                    batch.append(FlushRecord(key: key, version: e.version, data: e.data, writes: e.writes))
                }
                s.cache[key] = e
            }
            if s.dirtyHead > 4096 && s.dirtyHead * 2 > s.dirtyOrder.count {
                s.dirtyOrder.removeFirst(s.dirtyHead)
                s.dirtyHead = 0
            }
            return batch
        }
        guard !batch.isEmpty else { return nil }
        let start = clock.nowNs()
        let outcome: FlushOutcome
        do {
            try store.put(batch)
            outcome = .success
        } catch {
            outcome = error.code == .timeout ? .timeout : .error
        }
        shard.state.withLock { s in
            switch outcome {
            case .success:
                s.batchLimit = min(config.maxFlushBatch, s.batchLimit + 4)
                for r in batch {
                    guard var e = s.cache[r.key] else { continue }
                    if e.version == r.version && e.writes == r.writes {
                        e.dirty = false
                        s.dirtyCount -= 1
                    } else if !e.queued {
                        e.queued = true  // written again while flushing
                        s.dirtyOrder.append(r.key)
                    }
                    s.cache[r.key] = e
                }
                evictIfNeeded(&s)
            case .timeout, .error:
                if outcome == .timeout { s.batchLimit = max(1, s.batchLimit / 2) }
                for r in batch {
                    guard var e = s.cache[r.key] else { continue }
                    if !e.queued {
                        e.queued = true
                        s.dirtyOrder.append(r.key)
                    }
                    s.cache[r.key] = e
                }
            }
        }
        let now = clock.nowNs()
        counters.update {
            $0.storeWrites += 1
            $0.flushes += 1
            switch outcome {
            case .success: $0.flushedRecords += batch.count
            case .timeout: $0.flushTimeouts += 1; $0.storeWriteTimeouts += 1
            case .error: $0.flushErrors += 1
            }
        }
        log?.emit(.memoryFlush(shard: shard.label, pending: UInt64(batch.count), latencyNs: now - start, outcome: outcome), at: now)
        return outcome
    }

    /// Dirty records over all shards.
    var pending: Int { shards.reduce(0) { n, s in n + s.state.withLock { $0.dirtyCount } } }

    /// Stops the flushers, then flushes what is left (for up to `timeoutNs`); returns the
    /// records still dirty.
    func stop(timeoutNs: UInt64) async -> Int {
        for s in shards { s.state.withLock { $0.stopping = true } }
        for t in flushers.withLock({ $0 }) { await t.value }
        let deadline = clock.nowNs() + timeoutNs
        while pending > 0 && clock.nowNs() < deadline {
            for s in shards {
                while flushOnce(s) != nil, clock.nowNs() < deadline {}
            }
            if pending > 0 { try? await Task.sleep(nanoseconds: 2_000_000) }
        }
        return pending
    }
}
