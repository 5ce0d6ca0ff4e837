import Foundation
import Synchronization

/// Versioned records in Redis, one hash per record (`orch:rec:<key>`: `v` version, `d`
/// data, `w` writes counter, `h` highest version reached), on one or more Redis servers
/// (shards: a key lives on `shard(for:)`).
///
/// Compare-and-set is a Lua script loaded once per server (`SCRIPT LOAD`) and run with
/// `EVALSHA` (reloaded when the server answers `NOSCRIPT`, e.g. after a restart or
/// `SCRIPT FLUSH`): it writes only if the version is still the one read, and increments the
/// write counter in the same atomic step. The naive path is a separate `GET`-style read
/// followed by a blind set: a script that sets the version to `base + 1` without looking at
/// the current one (it only keeps the ground-truth fields, `w` and `h`, atomically).
public final class RedisStateStore: LiveStateStore {
    public var kind: String { "redis" }

    /// Commit `ARGV[2]` as version `ARGV[1] + 1` if the record is at `ARGV[1]`.
    /// Returns `{1, new, writes}` or `{0, current, writes}`.
    static let casScript = """
        local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
        if v ~= tonumber(ARGV[1]) then return {0, v, 0} end
        local n = v + 1
        redis.call('HSET', KEYS[1], 'v', n, 'd', ARGV[2])
        local w = redis.call('HINCRBY', KEYS[1], 'w', 1)
        if n > tonumber(redis.call('HGET', KEYS[1], 'h') or '0') then redis.call('HSET', KEYS[1], 'h', n) end
        return {1, n, w}
        """
    /// Set `ARGV[2]` as version `ARGV[1] + 1` whatever the current version (last writer
    /// wins). Returns `{new, writes}`.
    static let blindScript = """
        local n = tonumber(ARGV[1]) + 1
        redis.call('HSET', KEYS[1], 'v', n, 'd', ARGV[2])
        local w = redis.call('HINCRBY', KEYS[1], 'w', 1)
        if n > tonumber(redis.call('HGET', KEYS[1], 'h') or '0') then redis.call('HSET', KEYS[1], 'h', n) end
        return {n, w}
        """
    /// Store version `ARGV[1]` with data `ARGV[2]` as the write-back cache decided it, raising
    /// the ground truth's write count to `ARGV[3]` (idempotent: a flush sent again after a lost
    /// reply counts nothing twice).
    static let putScript = """
        local n = tonumber(ARGV[1])
        redis.call('HSET', KEYS[1], 'v', n, 'd', ARGV[2])
        if tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[1], 'w') or '0') then redis.call('HSET', KEYS[1], 'w', ARGV[3]) end
        if n > tonumber(redis.call('HGET', KEYS[1], 'h') or '0') then redis.call('HSET', KEYS[1], 'h', n) end
        return n
        """

    /// The servers, one per shard.
    public let endpoints: [RedisEndpoint]
    private let pools: [RedisPool]
    private let scripts: Mutex<[String: String]> = Mutex([:])
    static let prefix = "orch:rec:"

    /// A store on `endpoints` (at least one); `timeoutMs` bounds every command.
    public init(endpoints: [RedisEndpoint], timeoutMs: Int = 5_000) throws(LiveError) {
        guard !endpoints.isEmpty else { throw LiveError(.usage, "redis store: no server") }
        self.endpoints = endpoints
        pools = endpoints.map { RedisPool($0, timeoutMs: timeoutMs) }
        // Connect once to each now, so a wrong address fails here, not mid-run.
        for pool in pools { try pool.with { _ throws(LiveError) in () } }
    }

    /// The shard holding `key` (FNV-1a of the key).
    public func shard(for key: String) -> Int {
        guard pools.count > 1 else { return 0 }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(pools.count))
    }

    private func pool(_ key: String) -> RedisPool { pools[shard(for: key)] }

    public func read(_ key: String) throws(LiveError) -> StoredRecord {
        let reply = try pool(key).with { c throws(LiveError) in try c.command(["HMGET", Self.prefix + key, "v", "d", "w"]) }
        guard case .array(let fields) = reply, fields.count == 3 else { throw unexpected("HMGET", key, reply) }
        let version = fields[0].int.map { UInt64($0) } ?? 0
        let writes = fields[2].int.map { UInt64($0) } ?? 0
        if case .string(let d) = fields[1] { return StoredRecord(version: version, data: d, writes: writes) }
        return StoredRecord(version: version, data: "", writes: writes)
    }

    public func compareAndSet(_ key: String, base: UInt64, data: String) throws(LiveError) -> LiveWriteOutcome {
        let reply = try evalScript(Self.casScript, key: key, args: [String(base), data])
        guard case .array(let r) = reply, r.count == 3, let ok = r[0].int, let v = r[1].int, let w = r[2].int else {
            throw unexpected("EVALSHA cas", key, reply)
        }
        return ok == 1 ? .committed(LiveCommit(version: UInt64(v), sequence: UInt64(w))) : .conflict(current: UInt64(v))
    }

    public func blindSet(_ key: String, base: UInt64, data: String) throws(LiveError) -> LiveCommit {
        let reply = try evalScript(Self.blindScript, key: key, args: [String(base), data])
        guard case .array(let r) = reply, r.count == 2, let v = r[0].int, let w = r[1].int else { throw unexpected("EVALSHA blind", key, reply) }
        return LiveCommit(version: UInt64(v), sequence: UInt64(w))
    }

    /// Flushes records pipelined, one round trip per shard.
    public func put(_ records: [FlushRecord]) throws(LiveError) {
        var byShard: [Int: [FlushRecord]] = [:]
        for r in records { byShard[shard(for: r.key), default: []].append(r) }
        for (s, items) in byShard {
            try pools[s].with { c throws(LiveError) in
                var sha = try loadedSHA(Self.putScript, c)
                for attempt in 0..<2 {
                    let replies = try c.pipeline(items.map { ["EVALSHA", sha, "1", Self.prefix + $0.key, String($0.version), $0.data, String($0.writes)] })
                    let failed = replies.enumerated().first { if case .error = $0.element { return true } else { return false } }
                    guard let (i, reply) = failed else { return }
                    // NOSCRIPT fails the whole batch before any record is written.
                    if case .error(let e) = reply, e.hasPrefix("NOSCRIPT"), attempt == 0, i == 0 {
                        sha = try load(Self.putScript, c)
                        continue
                    }
                    throw LiveError(.server, "redis \(c.endpoint): put \(items[i].key): \(reply)")
                }
            }
        }
    }

    public func truth(_ key: String) throws(LiveError) -> StoreTruth {
        let reply = try pool(key).with { c throws(LiveError) in try c.command(["HMGET", Self.prefix + key, "w", "h"]) }
        guard case .array(let f) = reply, f.count == 2 else { throw unexpected("HMGET", key, reply) }
        return StoreTruth(writes: UInt64(f[0].int ?? 0), highestVersion: UInt64(f[1].int ?? 0))
    }

    public func totalTruth() throws(LiveError) -> StoreTruth {
        var total = StoreTruth(writes: 0, highestVersion: 0)
        for pool in pools {
            total = total + (try pool.with { c throws(LiveError) in try Self.sumTruth(c) })
        }
        return total
    }

    /// Sums `w` and `h` over every record of one server (SCAN, then pipelined HMGETs).
    private static func sumTruth(_ c: RedisConnection) throws(LiveError) -> StoreTruth {
        var total = StoreTruth(writes: 0, highestVersion: 0)
        var cursor = "0"
        repeat {
            let reply = try c.command(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"])
            guard case .array(let r) = reply, r.count == 2, case .string(let next) = r[0], case .array(let keys) = r[1] else {
                throw LiveError(.server, "redis \(c.endpoint): SCAN: unexpected reply \(reply)")
            }
            let names = keys.compactMap { if case .string(let k) = $0 { return k } else { return nil } }
            for case .array(let f) in try c.pipeline(names.map { ["HMGET", $0, "w", "h"] }) where f.count == 2 {
                total = total + StoreTruth(writes: UInt64(f[0].int ?? 0), highestVersion: UInt64(f[1].int ?? 0))
            }
            cursor = next
        } while cursor != "0"
        return total
    }

    public func reset() throws(LiveError) {
        for pool in pools {
            try pool.with { c throws(LiveError) in
                var cursor = "0"
                repeat {
                    let reply = try c.command(["SCAN", cursor, "MATCH", Self.prefix + "*", "COUNT", "1000"])
                    guard case .array(let r) = reply, r.count == 2, case .string(let next) = r[0], case .array(let keys) = r[1] else { break }
                    let names = keys.compactMap { if case .string(let k) = $0 { return k } else { return nil } }
                    if !names.isEmpty { try c.command(["DEL"] + names) }
                    cursor = next
                } while cursor != "0"
            }
        }
    }

    /// Runs `script` on `key`'s server with EVALSHA, loading it on first use and again when
    /// the server answers NOSCRIPT.
    private func evalScript(_ script: String, key: String, args: [String]) throws(LiveError) -> RedisValue {
        try pool(key).with { c throws(LiveError) in
            var sha = try loadedSHA(script, c)
            for attempt in 0..<2 {
                let reply = try c.command(["EVALSHA", sha, "1", Self.prefix + key] + args)
                if case .error(let e) = reply {
                    if e.hasPrefix("NOSCRIPT") && attempt == 0 {
                        sha = try load(script, c)
                        continue
                    }
                    throw LiveError(.server, "redis \(c.endpoint): EVALSHA on \(key): \(e)")
                }
                return reply
            }
            throw LiveError(.server, "redis \(c.endpoint): EVALSHA on \(key): NOSCRIPT after SCRIPT LOAD")
        }
    }

    private func loadedSHA(_ script: String, _ c: RedisConnection) throws(LiveError) -> String {
        if let sha = scripts.withLock({ $0[script] }) { return sha }
        return try load(script, c)
    }

    /// SCRIPT LOAD on `c`'s server. The SHA1 is the same on every server, so it is kept once.
    private func load(_ script: String, _ c: RedisConnection) throws(LiveError) -> String {
        let reply = try c.command(["SCRIPT", "LOAD", script])
        guard case .string(let sha) = reply else { throw LiveError(.server, "redis \(c.endpoint): SCRIPT LOAD: \(reply)") }
        scripts.withLock { $0[script] = sha }
        return sha
    }

    private func unexpected(_ what: String, _ key: String, _ reply: RedisValue) -> LiveError {
        LiveError(.server, "redis: \(what) on \(key): unexpected reply \(reply)")
    }
}

/// Connections to one Redis server, handed out one caller at a time; a broken connection is
/// dropped, a healthy one goes back.
final class RedisPool: Sendable {
    let endpoint: RedisEndpoint
    let timeoutMs: Int
    // RedisConnection is not Sendable; it only moves between threads through this mutex,
    // and a caller holds it exclusively between take and give back.
    private let idle: Mutex<[UnsafeConnection]> = Mutex([])

    struct UnsafeConnection: @unchecked Sendable {  // owned by exactly one holder at a time (see above)
        let connection: RedisConnection
    }

    init(_ endpoint: RedisEndpoint, timeoutMs: Int) {
        self.endpoint = endpoint
        self.timeoutMs = timeoutMs
    }

    func with<R>(_ body: (RedisConnection) throws(LiveError) -> R) throws(LiveError) -> R {
        let c: RedisConnection
        if let held = idle.withLock({ $0.popLast() }) { c = held.connection } else { c = try RedisConnection(endpoint, timeoutMs: timeoutMs) }
        defer { if c.healthy { idle.withLock { $0.append(UnsafeConnection(connection: c)) } } }
        return try body(c)
    }
}
