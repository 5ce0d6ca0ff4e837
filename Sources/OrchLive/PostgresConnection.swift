import COrchPQ
import Foundation

/// One connection to PostgreSQL over libpq's blocking API. Not thread-safe: one thread uses
/// it at a time (`PostgresStateStore` pools them). A connection whose status went bad is
/// not reused.
public final class PostgresConnection {
    private let conn: OpaquePointer
    /// The DSN it connected with (for messages; no password is ever put in one here).
    public let dsn: String

    /// Connects with a libpq connection string (`host=… port=… dbname=… user=…` or a
    /// `postgresql://` URI).
    public init(dsn: String) throws(LiveError) {
        self.dsn = dsn
        guard let c = PQconnectdb(dsn) else { throw LiveError(.connection, "postgres \(dsn): out of memory") }
        if PQstatus(c) != CONNECTION_OK {
            let why = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(c)
            throw LiveError(.connection, "postgres \(dsn): \(why)")
        }
        conn = c
    }

    deinit { PQfinish(conn) }

    /// Whether the connection is still usable.
    public var healthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The rows of a statement's result, every value as text (nil for NULL).
    public struct Rows: Sendable {
        public var rows: [[String?]]
        /// Rows changed by an UPDATE / INSERT / DELETE.
        public var affected: Int
    }

    /// Runs `sql` with text parameters `$1…` and returns its rows; throws on a failed
    /// statement, naming its SQLSTATE.
    @discardableResult
    public func exec(_ sql: String, _ params: [String?] = []) throws(LiveError) -> Rows {
        let result: OpaquePointer? = withParams(params) { n, values in
            PQexecParams(conn, sql, n, nil, values, nil, nil, 0)
        }
        guard let result else {
            throw LiveError(.connection, "postgres: \(String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "?"
            let why = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            // 57014: query_canceled (statement_timeout); 55P03: lock_not_available (lock_timeout).
            let code: LiveError.Code = state == "57014" || state == "55P03" ? .timeout : (healthy ? .server : .connection)
            throw LiveError(code, "postgres: \(sql.prefix(60)): \(why) (SQLSTATE \(state))")
        }
        var rows: [[String?]] = []
        let n = PQntuples(result), m = PQnfields(result)
        rows.reserveCapacity(Int(n))
        for i in 0..<n {
            var row: [String?] = []
            for j in 0..<m {
                row.append(PQgetisnull(result, i, j) == 1 ? nil : String(cString: PQgetvalue(result, i, j)))
            }
            rows.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Rows(rows: rows, affected: affected)
    }

    private func withParams<R>(_ params: [String?], _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = params.map { $0.map { strdup($0) } }
        defer { for p in copies { free(p) } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body(Int32(params.count), $0.baseAddress) }
    }
}
