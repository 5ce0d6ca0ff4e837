import Foundation
import Synchronization

/// Versioned records in one PostgreSQL table, `orch_state(key, version, data, writes,
/// highest)`: `writes` counts the writes that reported success and `highest` is the highest
/// version reached, both updated in the same statement as the record (the ground truth).
///
/// Compare-and-set is row-level locking plus a version check: in one transaction,
/// `SELECT version … FOR UPDATE` locks the row; if it is still at the version the writer read,
/// `UPDATE … WHERE key = $1 AND version = $read` writes it, else the transaction rolls back and
/// the write is a conflict. The naive path is one unconditional `UPDATE` to `base + 1`.
public final class PostgresStateStore: LiveStateStore {
    public var kind: String { "postgres" }
    /// The connection string.
    public let dsn: String
    private let idle: Mutex<[Held]> = Mutex([])

    struct Held: @unchecked Sendable {  // a connection is owned by exactly one holder at a time: taken from and given back to `idle` under its mutex
        let connection: PostgresConnection
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS orch_state (
            key text PRIMARY KEY,
            version bigint NOT NULL DEFAULT 0,
            data text NOT NULL DEFAULT '',
            writes bigint NOT NULL DEFAULT 0,
            highest bigint NOT NULL DEFAULT 0
        )
        """

    /// A store on `dsn`; creates the table when missing. `statementTimeoutMs` bounds every
    /// statement and lock wait (0: none).
    public init(dsn: String, statementTimeoutMs: Int = 5_000) throws(LiveError) {
        self.dsn = dsn
        self.statementTimeoutMs = statementTimeoutMs
        try with { c throws(LiveError) in try c.exec(Self.schema) }
    }

    private let statementTimeoutMs: Int

    @discardableResult
    private func with<R>(_ body: (PostgresConnection) throws(LiveError) -> R) throws(LiveError) -> R {
        let c: PostgresConnection
        if let held = idle.withLock({ $0.popLast() }) {
            c = held.connection
        } else {
            c = try PostgresConnection(dsn: dsn)
            if statementTimeoutMs > 0 {
                try c.exec("SET statement_timeout = \(statementTimeoutMs)")
                try c.exec("SET lock_timeout = \(statementTimeoutMs)")
            }
        }
        defer { if c.healthy { idle.withLock { $0.append(Held(connection: c)) } } }
        return try body(c)
    }

    public func read(_ key: String) throws(LiveError) -> StoredRecord {
        let r = try with { c throws(LiveError) in try c.exec("SELECT version, data, writes FROM orch_state WHERE key = $1", [key]) }
        guard let row = r.rows.first else { return StoredRecord(version: 0, data: "") }
        return StoredRecord(version: UInt64(row[0] ?? "0") ?? 0, data: row[1] ?? "", writes: UInt64(row[2] ?? "0") ?? 0)
    }

    public func compareAndSet(_ key: String, base: UInt64, data: String) throws(LiveError) -> LiveWriteOutcome {
        try with { c throws(LiveError) in
            try c.exec("BEGIN")
            do throws(LiveError) {
                var locked = try c.exec("SELECT version FROM orch_state WHERE key = $1 FOR UPDATE", [key])
                if locked.rows.isEmpty {
                    try c.exec("INSERT INTO orch_state (key) VALUES ($1) ON CONFLICT (key) DO NOTHING", [key])
                    locked = try c.exec("SELECT version FROM orch_state WHERE key = $1 FOR UPDATE", [key])
                }
                let current = UInt64(locked.rows.first?[0] ?? "0") ?? 0
                guard current == base else {
                    try c.exec("ROLLBACK")
                    return .conflict(current: current)
                }
                let updated = try c.exec("""
                    UPDATE orch_state SET version = version + 1, data = $3, writes = writes + 1,
                        highest = GREATEST(highest, version + 1)
                    WHERE key = $1 AND version = $2 RETURNING version, writes
                    """, [key, String(base), data])
                guard let row = updated.rows.first, let v = row[0].flatMap({ UInt64($0) }), let w = row[1].flatMap({ UInt64($0) }) else {
                    try c.exec("ROLLBACK")
                    return .conflict(current: current)
                }
                try c.exec("COMMIT")
                return .committed(LiveCommit(version: v, sequence: w))
            } catch {
                if c.healthy { _ = try? c.exec("ROLLBACK") }
                throw error
            }
        }
    }

    public func blindSet(_ key: String, base: UInt64, data: String) throws(LiveError) -> LiveCommit {
        let r = try with { c throws(LiveError) in
            try c.exec("""
                INSERT INTO orch_state AS s (key, version, data, writes, highest) VALUES ($1, $2::bigint + 1, $3, 1, $2::bigint + 1)
                ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data,
                    writes = s.writes + 1, highest = GREATEST(s.highest, EXCLUDED.version)
                RETURNING version, writes
                """, [key, String(base), data])
        }
        guard let row = r.rows.first, let v = row[0].flatMap({ UInt64($0) }), let w = row[1].flatMap({ UInt64($0) }) else {
            throw LiveError(.server, "postgres: blind set of \(key) returned no row")
        }
        return LiveCommit(version: v, sequence: w)
    }

    /// One statement for the whole batch (`unnest` of arrays).
    public func put(_ records: [FlushRecord]) throws(LiveError) {
        guard !records.isEmpty else { return }
        func array(_ values: [String]) -> String {
            "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
        }
        try with { c throws(LiveError) in
            try c.exec("""
                INSERT INTO orch_state AS s (key, version, data, writes, highest)
                SELECT k, v, d, w, v FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS t(k, v, d, w)
                ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data,
                    writes = GREATEST(s.writes, EXCLUDED.writes), highest = GREATEST(s.highest, EXCLUDED.version)
                """, [array(records.map(\.key)), array(records.map { String($0.version) }),
                      array(records.map(\.data)), array(records.map { String($0.writes) })])
        }
    }

    public func truth(_ key: String) throws(LiveError) -> StoreTruth {
        let r = try with { c throws(LiveError) in try c.exec("SELECT writes, highest FROM orch_state WHERE key = $1", [key]) }
        guard let row = r.rows.first else { return StoreTruth(writes: 0, highestVersion: 0) }
        return StoreTruth(writes: UInt64(row[0] ?? "0") ?? 0, highestVersion: UInt64(row[1] ?? "0") ?? 0)
    }

    public func totalTruth() throws(LiveError) -> StoreTruth {
        let r = try with { c throws(LiveError) in
            try c.exec("SELECT coalesce(sum(writes), 0), coalesce(sum(highest), 0) FROM orch_state")
        }
        let row = r.rows.first ?? ["0", "0"]
        return StoreTruth(writes: UInt64(row[0] ?? "0") ?? 0, highestVersion: UInt64(row[1] ?? "0") ?? 0)
    }

    /// Blocks every write to the table for `milliseconds` while reads go on (a lock holder:
    /// `LOCK TABLE … IN EXCLUSIVE MODE` held through `pg_sleep` in a transaction), on
    /// `connection`, a connection of the caller's own (not one of the store's). Writers
    /// queue behind it and go through when it commits. The memory slowdown's duty cycle.
    public func holdWriteLock(on connection: PostgresConnection, milliseconds: Int) throws(LiveError) {
        try connection.exec("BEGIN")
        do throws(LiveError) {
            try connection.exec("LOCK TABLE orch_state IN EXCLUSIVE MODE")
            try connection.exec("SELECT pg_sleep($1::float8)", [String(Double(milliseconds) / 1_000)])
            try connection.exec("COMMIT")
        } catch {
            if connection.healthy { _ = try? connection.exec("ROLLBACK") }
            throw error
        }
    }

    public func reset() throws(LiveError) {
        try with { c throws(LiveError) in try c.exec("TRUNCATE orch_state") }
    }
}
