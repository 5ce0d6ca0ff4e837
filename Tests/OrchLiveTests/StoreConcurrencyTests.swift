import Foundation
@testable import OrchLive
import OrchTestSupport
import Synchronization
import Testing

/// Runs `body(thread)` on `count` threads at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let t = Thread {
            body(i)
            group.leave()
        }
        t.start()
    }
    group.wait()
}

/// What N writers did to one key: writes their store reported successful, conflicts retried.
struct WriterTally {
    var committed = 0
    var conflicts = 0
    var errors: [String] = []
    /// The store's per-record write count each commit returned: its place in the store's order.
    var sequences: [UInt64] = []

    /// Every commit got a distinct place 1…committed in the store's order.
    var sequencesAreTheStoreOrder: Bool { sequences.sorted() == (0..<UInt64(committed)).map { $0 + 1 } }
}

/// `writers` threads each do `rounds` read-modify-writes of `key`: with protection, read then
/// compare-and-set, re-reading on conflict until it commits; without, read then blind set.
func hammer(_ store: any LiveStateStore, key: String, writers: Int, rounds: Int, protected: Bool) -> WriterTally {
    let tally = Mutex(WriterTally())
    onThreads(writers) { w in
        for r in 0..<rounds {
            do {
                while true {
                    let rec = try store.read(key)
                    let data = "writer \(w) round \(r) on \(rec.data.prefix(20))"
                    if protected {
                        switch try store.compareAndSet(key, base: rec.version, data: data) {
                        case .committed(let c):
                            tally.withLock { $0.committed += 1; $0.sequences.append(c.sequence) }
                        case .conflict:
                            tally.withLock { $0.conflicts += 1 }
                            continue
                        }
                    } else {
                        let c = try store.blindSet(key, base: rec.version, data: data)
                        tally.withLock { $0.committed += 1; $0.sequences.append(c.sequence) }
                    }
                    break
                }
            } catch {
                tally.withLock { $0.errors.append("\(error)") }
            }
        }
    }
    return tally.withLock { $0 }
}

@Suite struct RedisStateStoreTests {
    @Test func compareAndSetLosesNoUpdateUnderConcurrentWriters() throws {
        let dir = TempDir("redis-cas")
        defer { dir.remove() }
        let server = try ManagedRedis(directory: dir.sub("redis"))
        defer { server.stop() }
        let store = try RedisStateStore(endpoints: [server.endpoint])
        let t = hammer(store, key: "account:0", writers: 12, rounds: 40, protected: true)
        #expect(t.errors.isEmpty, "\(t.errors.prefix(3))")
        #expect(t.committed == 12 * 40)
        #expect(t.conflicts > 0)  // the writers really collided…
        #expect(t.sequencesAreTheStoreOrder)
        let truth = try store.truth("account:0")
        #expect(truth.writes == UInt64(t.committed))  // …the store counted every commit…
        #expect(truth.lostUpdates == 0)               // …and none was lost
        #expect(try store.read("account:0").version == UInt64(t.committed))
    }

    @Test func blindSetsLoseUpdatesAndTheStoreCountsThemExactly() throws {
        let dir = TempDir("redis-naive")
        defer { dir.remove() }
        let server = try ManagedRedis(directory: dir.sub("redis"))
        defer { server.stop() }
        let store = try RedisStateStore(endpoints: [server.endpoint])
        let t = hammer(store, key: "account:0", writers: 12, rounds: 40, protected: false)
        #expect(t.errors.isEmpty, "\(t.errors.prefix(3))")
        #expect(t.sequencesAreTheStoreOrder)
        let truth = try store.truth("account:0")
        #expect(truth.writes == UInt64(t.committed))
        #expect(truth.lostUpdates > 0)
        // The ground truth is exactly the writes reported successful minus versions advanced.
        #expect(truth.lostUpdates == UInt64(t.committed) - truth.highestVersion)
        #expect(try store.totalTruth() == truth)
    }

    @Test func evalshaReloadsTheScriptAfterTheServerForgetsIt() throws {
        let dir = TempDir("redis-noscript")
        defer { dir.remove() }
        let server = try ManagedRedis(directory: dir.sub("redis"))
        defer { server.stop() }
        let store = try RedisStateStore(endpoints: [server.endpoint])
        #expect(try store.compareAndSet("k", base: 0, data: "a") == .committed(LiveCommit(version: 1, sequence: 1)))
        try RedisConnection(server.endpoint).command(["SCRIPT", "FLUSH"])
        #expect(try store.compareAndSet("k", base: 1, data: "b") == .committed(LiveCommit(version: 2, sequence: 2)))
        #expect(try store.compareAndSet("k", base: 1, data: "c") == .conflict(current: 2))
        try RedisConnection(server.endpoint).command(["SCRIPT", "FLUSH"])
        try store.put([FlushRecord(key: "k", version: 5, data: "d", writes: 5)])
        #expect(try store.read("k") == StoredRecord(version: 5, data: "d", writes: 5))
        #expect(try store.truth("k") == StoreTruth(writes: 5, highestVersion: 5))
        // A flush sent again (its reply was lost) counts nothing twice.
        try store.put([FlushRecord(key: "k", version: 5, data: "d", writes: 5)])
        #expect(try store.truth("k") == StoreTruth(writes: 5, highestVersion: 5))
    }

    @Test func keysSpreadOverShardServers() throws {
        let dir = TempDir("redis-shards")
        defer { dir.remove() }
        let a = try ManagedRedis(directory: dir.sub("a")), b = try ManagedRedis(directory: dir.sub("b"))
        defer { a.stop(); b.stop() }
        let store = try RedisStateStore(endpoints: [a.endpoint, b.endpoint])
        for i in 0..<20 { _ = try store.blindSet("k\(i)", base: 0, data: "x") }
        let onA = try RedisConnection(a.endpoint).command(["DBSIZE"]).int ?? 0
        let onB = try RedisConnection(b.endpoint).command(["DBSIZE"]).int ?? 0
        #expect(onA > 0 && onB > 0 && onA + onB == 20)
        #expect(try store.totalTruth() == StoreTruth(writes: 20, highestVersion: 20))
    }
}

@Suite struct PostgresStateStoreTests {
    @Test func lockedVersionCheckedUpdatesLoseNoUpdateUnderConcurrentWriters() throws {
        let dir = TempDir("pg-cas")
        defer { dir.remove() }
        let cluster = try ManagedPostgres(directory: dir.sub("pg"))
        defer { cluster.stop() }
        let store = try PostgresStateStore(dsn: cluster.dsn)
        let t = hammer(store, key: "account:0", writers: 12, rounds: 25, protected: true)
        #expect(t.errors.isEmpty, "\(t.errors.prefix(3))")
        #expect(t.committed == 12 * 25)
        #expect(t.conflicts > 0)
        let truth = try store.truth("account:0")
        #expect(truth.writes == UInt64(t.committed))
        #expect(truth.lostUpdates == 0)
        #expect(try store.read("account:0").version == UInt64(t.committed))
    }

    @Test func unconditionalUpdatesLoseUpdatesAndTheStoreCountsThemExactly() throws {
        let dir = TempDir("pg-naive")
        defer { dir.remove() }
        let cluster = try ManagedPostgres(directory: dir.sub("pg"))
        defer { cluster.stop() }
        let store = try PostgresStateStore(dsn: cluster.dsn)
        let t = hammer(store, key: "account:0", writers: 12, rounds: 25, protected: false)
        #expect(t.errors.isEmpty, "\(t.errors.prefix(3))")
        #expect(t.sequencesAreTheStoreOrder)
        let truth = try store.truth("account:0")
        #expect(truth.writes == UInt64(t.committed))
        #expect(truth.lostUpdates > 0)
        #expect(truth.lostUpdates == UInt64(t.committed) - truth.highestVersion)
        try store.put([FlushRecord(key: "other", version: 4, data: "with \"quotes\" and \\", writes: 4)])
        #expect(try store.read("other") == StoredRecord(version: 4, data: "with \"quotes\" and \\", writes: 4))
        try store.put([FlushRecord(key: "other", version: 4, data: "with \"quotes\" and \\", writes: 4)])
        #expect(try store.totalTruth() == truth + StoreTruth(writes: 4, highestVersion: 4))
    }
}
