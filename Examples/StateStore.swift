// Guide section "The state layer" (docs/instrumenting.md).
import OrchLog
import Synchronization

// guide:begin state
/// A versioned key-value shard with compare-and-set writes and a write-back buffer.
final class StateShard: Sendable {
    struct Entry: Sendable { var version: UInt64; var value: String }

    private let log: EventLog
    private let shard: Label
    private let entries = Mutex<[String: Entry]>([:])
    private let pendingWrites = Mutex<[String: Entry]>([:])

    init(log: EventLog, name: String) {
        self.log = log
        self.shard = log.label(name)
    }

    /// Reads a key. Report the version you got: that is how stale reads are found.
    func read(_ key: String) -> Entry {
        let start = monotonicNs()
        let entry = entries.withLock { $0[key] } ?? Entry(version: 0, value: "")
        log.emit(.stateRead(shard: shard, key: log.label(key), version: entry.version,
                            source: .cache, latencyNs: monotonicNs() - start))
        return entry
    }

    /// Writes `value` if the key is still at `base` (compare-and-set). Report the version the
    /// write was based on even if your store cannot check it: orchlog finds lost updates
    /// from exactly these versions.
    func write(_ key: String, value: String, base: UInt64, attempt: UInt64) -> Bool {
        let start = monotonicNs()
        let committed = entries.withLock { e -> Bool in
            guard (e[key]?.version ?? 0) == base else { return false }
            e[key] = Entry(version: base + 1, value: value)
            return true
        }
        if committed {
            pendingWrites.withLock { $0[key] = Entry(version: base + 1, value: value) }
        }
        log.emit(.stateWrite(shard: shard, key: log.label(key), baseVersion: base,
                             newVersion: committed ? base + 1 : base,
                             outcome: committed ? .committed : .conflict,
                             latencyNs: monotonicNs() - start, attempt: attempt))
        return committed
    }

    /// Read-modify-write with optimistic concurrency: retries on conflict, one event per attempt.
    func update(_ key: String, maxAttempts: UInt64 = 5, _ change: (String) -> String) -> Bool {
        for attempt in 1...maxAttempts {
            let current = read(key)
            if write(key, value: change(current.value), base: current.version, attempt: attempt) {
                return true
            }
        }
        return false
    }

    /// Write-back: pushes acknowledged writes to the backing store (a timer calls this).
    func flush(to backingStore: (String, Entry) throws -> Void) {
        let batch = pendingWrites.withLock { pending -> [String: Entry] in
            defer { pending.removeAll() }
            return pending
        }
        guard !batch.isEmpty else { return }
        let start = monotonicNs()
        var outcome = FlushOutcome.success
        do {
            for (key, entry) in batch { try backingStore(key, entry) }
        } catch {
            outcome = .error
            pendingWrites.withLock { $0.merge(batch) { newer, _ in newer } }  // retry next time
        }
        log.emit(.memoryFlush(shard: shard, pending: UInt64(batch.count),
                              latencyNs: monotonicNs() - start, outcome: outcome))
    }
}
// guide:end state
