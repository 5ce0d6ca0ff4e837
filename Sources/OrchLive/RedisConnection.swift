import COrchHiredis
import Foundation

/// A Redis reply, copied out of hiredis' reply object.
public indirect enum RedisValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case array([RedisValue])
    case nil_
    case status(String)
    case error(String)

    init(_ r: UnsafeMutablePointer<redisReply>) {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            self = .string(reply.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: reply.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisValue] = []
            items.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                if let e = reply.element[i] { items.append(RedisValue(e)) } else { items.append(.nil_) }
            }
            self = .array(items)
        case REDIS_REPLY_STATUS:
            self = .status(reply.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_ERROR:
            self = .error(reply.str.map { String(cString: $0) } ?? "")
        default:
            self = .nil_
        }
    }

    /// The value as an integer (integer replies, or strings holding one).
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .string(let s): return Int64(s)
        default: return nil
        }
    }
}

/// One connection to a Redis server over hiredis' blocking API, with a timeout on every
/// read and write. Not thread-safe: one thread uses it at a time (`RedisPool` hands
/// connections out exclusively). A connection that saw an I/O error is broken for good.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// Where it is connected (for messages).
    public let endpoint: RedisEndpoint
    /// False once an I/O error happened.
    public private(set) var healthy = true

    /// Connects to `endpoint`; `timeoutMs` bounds the connect and every later command.
    public init(_ endpoint: RedisEndpoint, timeoutMs: Int = 5_000) throws(LiveError) {
        self.endpoint = endpoint
        guard let c = COrchHiredis_connect(endpoint.host, Int32(endpoint.port), timeoutMs) else {
            throw LiveError(.connection, "redis \(endpoint): cannot allocate a context")
        }
        if c.pointee.err != 0 {
            let why = Self.errstr(c)
            redisFree(c)
            throw LiveError(.connection, "redis \(endpoint): \(why)")
        }
        _ = COrchHiredis_setTimeoutMs(c, timeoutMs)
        context = c
    }

    deinit { redisFree(context) }

    private static func errstr(_ c: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: c.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private func ioError() -> LiveError {
        healthy = false
        let why = Self.errstr(context)
        let timedOut = context.pointee.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
        return LiveError(timedOut ? .timeout : .connection, "redis \(endpoint): \(timedOut ? "timed out" : why)")
    }

    /// Runs one command (argv form) and returns its reply; a Redis error reply is returned
    /// as `.error`, not thrown. Throws on I/O errors and timeouts.
    @discardableResult
    public func command(_ args: [String]) throws(LiveError) -> RedisValue {
        let raw = withArgv(args) { argc, argv, lens in redisCommandArgv(context, argc, argv, lens) }
        guard let raw else { throw ioError() }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return RedisValue(reply)
    }

    /// Sends every command in one write (pipelining) and reads their replies in order.
    public func pipeline(_ commands: [[String]]) throws(LiveError) -> [RedisValue] {
        for args in commands {
            let rc = withArgv(args) { argc, argv, lens in redisAppendCommandArgv(context, argc, argv, lens) }
            guard rc == REDIS_OK else { throw ioError() }
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            guard let r = COrchHiredis_getReply(context) else { throw ioError() }
            replies.append(RedisValue(r))
            freeReplyObject(r)
        }
        return replies
    }

    private func withArgv<R>(_ args: [String], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        defer { for p in copies { free(p) } }
        var pointers = copies.map { $0.map { UnsafePointer($0) } }
        let lengths = args.map { $0.utf8.count }
        return pointers.withUnsafeMutableBufferPointer { p in
            lengths.withUnsafeBufferPointer { l in body(Int32(args.count), p.baseAddress!, l.baseAddress!) }
        }
    }
}

/// Where a Redis server listens: parsed from `redis://host:port` (or `host:port`).
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// An endpoint at `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `redis://host:port`, `redis://host` (port 6379) or `host:port`.
    public init(url: String) throws(LiveError) {
        var rest = Substring(url)
        if rest.hasPrefix("redis://") { rest = rest.dropFirst("redis://".count) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else {
            throw LiveError(.usage, "--redis \(url): expected redis://HOST:PORT")
        }
        let port = parts.count == 2 ? Int(parts[1]) : 6379
        guard let port, (1...65_535).contains(port) else { throw LiveError(.usage, "--redis \(url): bad port") }
        self.host = String(host)
        self.port = port
    }

    /// `redis://host:port`.
    public var description: String { "redis://\(host):\(port)" }
}
