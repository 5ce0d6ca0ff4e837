import OrchLog

/// A record of shared state: a dense id (index into per-key tables), its label, its shard.
struct StateKey {
    let id: Int
    let label: Label
    let shard: Int
    /// The invocation reading or writing (its events carry it); 0: none.
    var invocation: UInt64 = 0
}

/// How a state read ended.
enum StateReadResult {
    case ok(version: UInt64)
    case failed
}

/// How a state write ended.
enum StateWriteResult {
    case committed(version: UInt64)
    case conflict
    case timeout
    case error

    var isTimeout: Bool {
        if case .timeout = self { return true }
        return false
    }
}

/// The memory / state layer: versioned records in shards.
///
/// With the write-back cache on, each shard keeps records in a cache that is the
/// authority for their versions: reads hit it (read-through to the backing store on a
/// miss), writes commit to it at once and are flushed in the background in batches; when a
/// shard's dirty records reach a limit, writers wait for a flush (backpressure) up to their
/// deadline. With it off there is one unsharded store and every read and write goes to it
/// synchronously (agent instances cache what they read for a while, unless optimistic
/// concurrency is on).
///
/// With optimistic concurrency on, a write commits only if the record is still at the
/// version the writer read (compare-and-set); otherwise it is a conflict and the caller
/// re-reads and retries. With it off, the last writer wins.
///
/// It keeps the ground truth the log is checked against: the newest committed version of
/// every record, so it knows when a commit overwrote an update its writer had not seen
/// (lost update) and when a read returned a version older than one committed before the
/// read started (stale read).
final class StateLayer {
    private struct Entry {
        var version: UInt64
        var dirty = false
        var queued = false
        var lastUsed: UInt64
    }

    private struct Waiter {
        let key: StateKey
        let base: UInt64
        let attempt: Int
        let start: UInt64
        let once: Once
        let done: (StateWriteResult) -> Void
    }

    private final class Shard {
        let index: Int
        let label: Label
        var cache: [Int: Entry] = [:]
        var dirtyQueue: [Int] = []
        var dirtyHead = 0
        var dirtyCount = 0
        var flushing = false
        var flushScheduled = false
        var waiters: [Waiter] = []
        var waiterHead = 0
        var batchLimit: Int

        init(index: Int, label: Label, batchLimit: Int) {
            self.index = index
            self.label = label
            self.batchLimit = batchLimit
        }
    }

    private let config: OrchestratorConfig
    private let store: BackingStore
    private let scheduler: Scheduler
    private let telemetry: Telemetry
    private let counters: Counters
    private let writeBack: Bool
    private let occ: Bool
    private var shards: [Shard]
    /// Newest committed version per key id.
    private var truth: [UInt64] = []
    /// Without OCC: per agent instance, key id → (version, read at).
    private var localCaches: [[Int: (version: UInt64, at: UInt64)]]
    private let cacheLatency: UInt64 = 200_000
    private let localLatency: UInt64 = 50_000

    init(config: OrchestratorConfig, store: BackingStore, scheduler: Scheduler, telemetry: Telemetry, counters: Counters) {
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.telemetry = telemetry
        self.counters = counters
        writeBack = config.components.writeBackCache
        occ = config.components.optimisticConcurrency
        let n = writeBack ? max(1, config.shards) : 1
        shards = (0..<n).map { Shard(index: $0, label: telemetry.label("shard-\($0)"), batchLimit: max(1, config.maxFlushBatch)) }
        localCaches = Array(repeating: [:], count: occ ? 0 : config.poolSize)
    }

    /// Number of shards.
    var shardCount: Int { shards.count }

    /// The newest committed version of a key.
    func committedVersion(_ key: Int) -> UInt64 { key < truth.count ? truth[key] : 0 }

    /// Dirty (not yet flushed) records over all shards.
    var pending: Int { shards.reduce(0) { $0 + $1.dirtyCount } }

    private func truthAt(_ id: Int) -> UInt64 {
        if id >= truth.count { truth.append(contentsOf: repeatElement(0, count: id + 1 - truth.count)) }
        return truth[id]
    }

    // MARK: reads

    /// Reads `key` for agent instance `instance`.
    func read(_ key: StateKey, instance: Int, done: @escaping (StateReadResult) -> Void) {
        let start = scheduler.now
        let newestAtStart = truthAt(key.id)
        let shard = shards[key.shard]
        let finish: (UInt64, ReadSource) -> Void = { [self] version, source in
            counters.reads += 1
            if source == .cache { counters.readsFromCache += 1 }
            if version < newestAtStart { counters.staleReads += 1 }
            telemetry.emit(.stateRead(shard: shard.label, key: key.label, version: version, source: source, latencyNs: scheduler.now - start,
                                      invocationID: key.invocation))
            done(.ok(version: version))
        }
        if writeBack {
            if shard.cache[key.id] != nil {
                scheduler.schedule(after: cacheLatency) { [self] in
                    // The cache is the authority: answer with what it holds now.
                    if let v = touch(shard, key.id) {
                        finish(v, .cache)
                    } else {
                        readThrough(key, shard: shard) { r in
                            if let r { finish(r, .store) } else { self.counters.readFailures += 1; done(.failed) }
                        }
                    }
                }
            } else {
                readThrough(key, shard: shard) { [self] r in
                    if let r { finish(r, .store) } else { counters.readFailures += 1; done(.failed) }
                }
            }
            return
        }
        if !occ, let cached = localCaches[instance][key.id], start &- cached.at < UInt64(config.naiveReadCacheSeconds * 1e9) {
            scheduler.schedule(after: localLatency) { finish(cached.version, .cache) }
            return
        }
        store.read(partition: 0, key: key.id, deadline: start + UInt64(config.readTimeoutSeconds * 1e9)) { [self] reply in
            switch reply {
            case .ok(let v):
                if !occ { localCaches[instance][key.id] = (v, scheduler.now) }
                finish(v, .store)
            case .timeout, .error:
                counters.readFailures += 1
                done(.failed)
            }
        }
    }

    /// Returns the cached version and marks it used, or nil when not cached.
    private func touch(_ shard: Shard, _ id: Int) -> UInt64? {
        guard shard.cache[id] != nil else { return nil }
        shard.cache[id]!.lastUsed = scheduler.now
        return shard.cache[id]!.version
    }

    /// Loads a record into a shard's cache from the backing store; nil on timeout or error.
    private func readThrough(_ key: StateKey, shard: Shard, done: @escaping (UInt64?) -> Void) {
        let deadline = scheduler.now + UInt64(config.readTimeoutSeconds * 1e9)
        store.read(partition: shard.index, key: key.id, deadline: deadline) { [self] reply in
            guard case .ok(let stored) = reply else { done(nil); return }
            if let v = touch(shard, key.id) {
                done(v)  // written or loaded meanwhile: the cache is newer or equal
            } else {
                shard.cache[key.id] = Entry(version: stored, lastUsed: scheduler.now)
                evictIfNeeded(shard)
                done(stored)
            }
        }
    }

    private func evictIfNeeded(_ shard: Shard) {
        let capacity = max(1, config.cacheCapacityPerShard)
        guard shard.cache.count > capacity + capacity / 8 else { return }
        // Drop the least recently used clean records down to the capacity.
        let clean = shard.cache.filter { !$0.value.dirty }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        var excess = shard.cache.count - capacity
        for (id, _) in clean where excess > 0 {
            shard.cache[id] = nil
            excess -= 1
        }
    }

    // MARK: writes

    /// Writes a new version of `key` computed from `base` (the version the agent read);
    /// `attempt` counts from 1 across conflict retries.
    func write(_ key: StateKey, base: UInt64, attempt: Int, instance: Int, done: @escaping (StateWriteResult) -> Void) {
        let start = scheduler.now
        if writeBack {
            writeToCache(key, base: base, attempt: attempt, start: start, done: done)
            return
        }
        let deadline = start + UInt64(config.writeTimeoutSeconds * 1e9)
        let mode: StoreWriteMode = occ ? .compareAndSet(expected: base) : .blind
        counters.storeWrites += 1
        store.write(partition: 0, items: [StoreWrite(key: key.id, mode: mode)], deadline: deadline) { [self] reply in
            switch reply {
            case .ok(let results):
                switch results.first {
                case let .committed(_, new)?:
                    commit(key, shard: shards[0], base: base, new: new, attempt: attempt, start: start)
                    if !occ { localCaches[instance][key.id] = (new, scheduler.now) }
                    done(.committed(version: new))
                case .conflict?:
                    emitWrite(key, shards[0], base, base + 1, .conflict, start, attempt)
                    done(.conflict)
                case nil:
                    emitWrite(key, shards[0], base, base + 1, .error, start, attempt)
                    done(.error)
                }
            case .timeout:
                counters.storeWriteTimeouts += 1
                emitWrite(key, shards[0], base, base + 1, .timeout, start, attempt)
                done(.timeout)
            case .error:
                emitWrite(key, shards[0], base, base + 1, .error, start, attempt)
                done(.error)
            }
        }
    }

    private func emitWrite(_ key: StateKey, _ shard: Shard, _ base: UInt64, _ new: UInt64, _ outcome: WriteOutcome, _ start: UInt64, _ attempt: Int) {
        counters.writes += 1
        switch outcome {
        case .committed: counters.committed += 1
        case .conflict: counters.conflicts += 1
        case .timeout: counters.writeTimeouts += 1
        case .error: counters.writeErrors += 1
        }
        telemetry.emit(.stateWrite(shard: shard.label, key: key.label, baseVersion: base, newVersion: new, outcome: outcome,
                                   latencyNs: scheduler.now - start, attempt: UInt64(attempt), invocationID: key.invocation))
    }

    /// Records a commit of `new` (the ground truth) and emits it.
    private func commit(_ key: StateKey, shard: Shard, base: UInt64, new: UInt64, attempt: Int, start: UInt64) {
        let newest = truthAt(key.id)
        if base < newest { counters.lostUpdates += 1 }
        truth[key.id] = max(newest, new)
        emitWrite(key, shard, base, new, .committed, start, attempt)
    }

    private func writeToCache(_ key: StateKey, base: UInt64, attempt: Int, start: UInt64, done: @escaping (StateWriteResult) -> Void) {
        let shard = shards[key.shard]
        guard shard.cache[key.id] != nil else {
            // Evicted since it was read: load it, then write.
            readThrough(key, shard: shard) { [self] v in
                if v == nil {
                    emitWrite(key, shard, base, base + 1, .timeout, start, attempt)
                    done(.timeout)
                } else {
                    writeToCache(key, base: base, attempt: attempt, start: start, done: done)
                }
            }
            return
        }
        let isDirty = shard.cache[key.id]!.dirty
        if !isDirty && shard.dirtyCount >= config.maxDirtyPerShard {
            // Backpressure: wait for a flush to make room, up to the write's deadline.
            let once = Once()
            shard.waiters.append(Waiter(key: key, base: base, attempt: attempt, start: start, once: once, done: done))
            let deadline = start + UInt64(config.writeTimeoutSeconds * 1e9)
            scheduler.schedule(at: deadline) { [self] in
                guard once.claim() else { return }
                emitWrite(key, shard, base, base + 1, .timeout, start, attempt)
                done(.timeout)
            }
            return
        }
        scheduler.schedule(after: cacheLatency) { [self] in
            guard var entry = shard.cache[key.id] else {
                writeToCache(key, base: base, attempt: attempt, start: start, done: done)
                return
            }
            if occ && entry.version != base {
                emitWrite(key, shard, base, base + 1, .conflict, start, attempt)
                done(.conflict)
                return
            }
            let new = entry.version + 1
            entry.version = new
            entry.lastUsed = scheduler.now
            if !entry.dirty {
                entry.dirty = true
                shard.dirtyCount += 1
            }
            if !entry.queued {
                entry.queued = true
                shard.dirtyQueue.append(key.id)
            }
            shard.cache[key.id] = entry
            counters.maxPending = max(counters.maxPending, pending)
            commit(key, shard: shard, base: base, new: new, attempt: attempt, start: start)
            scheduleFlush(shard)
            done(.committed(version: new))
        }
    }

    // MARK: write-back flushing

    private func scheduleFlush(_ shard: Shard) {
        guard !shard.flushing, !shard.flushScheduled, shard.dirtyHead < shard.dirtyQueue.count else { return }
        shard.flushScheduled = true
        scheduler.schedule(after: UInt64(config.flushIntervalSeconds * 1e9)) { [self] in
            shard.flushScheduled = false
            flush(shard)
        }
    }

    private func flush(_ shard: Shard) {
        guard !shard.flushing else { return }
        var batch: [(id: Int, version: UInt64)] = []
        while shard.dirtyHead < shard.dirtyQueue.count, batch.count < shard.batchLimit {
            let id = shard.dirtyQueue[shard.dirtyHead]
            shard.dirtyHead += 1
            if var e = shard.cache[id] {
                e.queued = false
                shard.cache[id] = e
                if e.dirty { batch.append((id, e.version)) }
            }
        }
        if shard.dirtyHead > 4096 && shard.dirtyHead * 2 > shard.dirtyQueue.count {
            shard.dirtyQueue.removeFirst(shard.dirtyHead)
            shard.dirtyHead = 0
        }
        guard !batch.isEmpty else { return }
        shard.flushing = true
        let start = scheduler.now
        let pendingAtStart = UInt64(batch.count)
        counters.storeWrites += 1
        let items = batch.map { StoreWrite(key: $0.id, mode: .put(version: $0.version)) }
        store.write(partition: shard.index, items: items, deadline: start + UInt64(config.flushTimeoutSeconds * 1e9)) { [self] reply in
            shard.flushing = false
            counters.flushes += 1
            let outcome: FlushOutcome
            switch reply {
            case .ok:
                outcome = .success
                shard.batchLimit = min(config.maxFlushBatch, shard.batchLimit + 4)
                counters.flushedRecords += batch.count
                for (id, version) in batch {
                    guard var e = shard.cache[id] else { continue }
                    if e.version == version {
                        e.dirty = false
                        shard.dirtyCount -= 1
                    } else if !e.queued {
                        e.queued = true  // written again while flushing
                        shard.dirtyQueue.append(id)
                    }
                    shard.cache[id] = e
                }
            case .timeout, .error:
                if case .timeout = reply {
                    outcome = .timeout
                    shard.batchLimit = max(1, shard.batchLimit / 2)
                    counters.flushTimeouts += 1
                    counters.storeWriteTimeouts += 1
                } else {
                    outcome = .error
                    counters.flushErrors += 1
                }
                for (id, _) in batch {
                    guard var e = shard.cache[id], !e.queued else { continue }
                    e.queued = true
                    shard.cache[id] = e
                    shard.dirtyQueue.append(id)
                }
            }
            telemetry.emit(.memoryFlush(shard: shard.label, pending: pendingAtStart, latencyNs: scheduler.now - start, outcome: outcome))
            evictIfNeeded(shard)
            admitWaiters(shard)
            if shard.dirtyHead < shard.dirtyQueue.count {
                if outcome == .success {
                    flush(shard)  // back to back while there is a backlog
                } else {
                    scheduleFlush(shard)
                }
            }
        }
    }

    private func admitWaiters(_ shard: Shard) {
        while shard.waiterHead < shard.waiters.count, shard.dirtyCount < config.maxDirtyPerShard {
            let w = shard.waiters[shard.waiterHead]
            shard.waiterHead += 1
            guard w.once.claim() else { continue }
            writeToCache(w.key, base: w.base, attempt: w.attempt, start: w.start, done: w.done)
        }
        // Drop waiters that already timed out from the front.
        while shard.waiterHead < shard.waiters.count, shard.waiters[shard.waiterHead].once.fired {
            shard.waiterHead += 1
        }
        if shard.waiterHead == shard.waiters.count {
            shard.waiters.removeAll(keepingCapacity: true)
            shard.waiterHead = 0
        }
    }
}
