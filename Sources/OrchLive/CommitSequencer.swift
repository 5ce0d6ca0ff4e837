import OrchLog
import Synchronization

/// Emits each record's committed-write events in the order the store applied the writes.
///
/// Agent tasks on many threads learn of their commits in whatever order the replies come
/// back, and the log orders events by when they were emitted. The collector decides "lost
/// update" by comparing a write's base version with the newest version it has seen for the
/// key, so two commits of one key logged out of the store's order would count a lost update
/// that did not happen (or miss one). The store returns each commit's place in its per-key
/// order (`LiveCommit.sequence`, its write counter); a commit whose predecessors have not
/// been logged yet is parked, and the thread that logs the predecessor logs it too, with
/// its own timestamp. Nothing waits.
///
/// A write whose reply was lost (a timeout after the store applied it) leaves a gap; the
/// commits after it wait until `drain()` at the end of the run logs them in order.
final class CommitSequencer: Sendable {
    private struct KeyOrder {
        var next: UInt64 = 1
        var parked: [UInt64: (event: Event, at: UInt64)] = [:]
    }

    private let stripes: [Locked<[String: KeyOrder]>]
    private let log: EventLog?

    /// Orders events into `log` (nil: no log).
    init(log: EventLog?, stripes: Int = 64) {
        self.log = log
        self.stripes = (0..<max(1, stripes)).map { _ in Locked([:]) }
    }

    private func stripe(_ key: String) -> Locked<[String: KeyOrder]> {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return stripes[Int(h % UInt64(stripes.count))]
    }

    // guide:begin live-sequencer
    /// Logs `event` (the `sequence`-th commit of `key`, at `timestamp`) once every earlier
    /// commit of the key is logged.
    func committed(_ key: String, sequence: UInt64, _ event: Event, at timestamp: UInt64) {
        guard let log else { return }
        stripe(key).withLock { table in
            var order = table[key] ?? KeyOrder()
            if sequence < order.next {
                // Before the run's first commit of the key (a store not emptied): log as is.
                log.emit(event, at: timestamp)
                return
            }
            order.parked[sequence] = (event, timestamp)
            while let ready = order.parked.removeValue(forKey: order.next) {
                log.emit(ready.event, at: ready.at)
                order.next += 1
            }
            table[key] = order
        }
    }
    // guide:end live-sequencer

    /// Commits still parked behind a gap (writes whose replies were lost).
    var parkedCount: Int {
        stripes.reduce(0) { n, s in n + s.withLock { $0.values.reduce(0) { $0 + $1.parked.count } } }
    }

    /// Logs every parked commit, in order per key, skipping the gaps. Returns how many.
    @discardableResult
    func drain() -> Int {
        guard let log else { return 0 }
        var n = 0
        for s in stripes {
            s.withLock { table in
                for (key, var order) in table where !order.parked.isEmpty {
                    for seq in order.parked.keys.sorted() {
                        let e = order.parked[seq]!
                        log.emit(e.event, at: e.at)
                        n += 1
                        order.next = seq + 1
                    }
                    order.parked.removeAll()
                    table[key] = order
                }
            }
        }
        return n
    }
}
