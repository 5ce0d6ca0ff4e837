import COrchMicroHTTPD
import Glibc
import Synchronization

/// A request as `BackendServer` hands it to its handler: method, path, headers (names
/// lowercased) and the whole body.
public struct BackendRequest: Sendable {
    public var method: String
    public var path: String
    public var headers: [String: String]
    public var body: [UInt8]
}

/// A response: status, headers, body — or, for a streamed one (`stream`), chunks sent one
/// after another with a delay before each (chunked transfer encoding).
public struct BackendResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Streamed instead of `body`.
    public var stream: BackendStream?

    /// One chunk of a streamed body: sent `delayNs` (wall) after the previous one.
    public struct Chunk: Sendable {
        public var delayNs: UInt64
        public var bytes: [UInt8]
        public init(delayNs: UInt64, bytes: [UInt8]) {
            self.delayNs = delayNs
            self.bytes = bytes
        }
    }

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> BackendResponse {
        BackendResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }
}

/// The HTTP server of `reference-backends` on libmicrohttpd: one thread per connection, so
/// a handler may sleep for a backend's latency (or hang for an outage) without holding up
/// other requests; request bodies are read whole before the handler runs.
public final class BackendServer: Sendable {
    /// The port it listens on (the kernel's choice when asked for 0).
    public let port: UInt16
    private let daemon: Mutex<OpaquePointer?>
    private let context: Unmanaged<BackendContext>

    /// Serves `handler` on `host:port` (port 0: a free one). Loopback by default.
    /// - Throws: `BackendError` when the daemon cannot start.
    public init(host: String = "127.0.0.1", port: UInt16, maxBodyBytes: Int = 4 << 20,
                handler: @escaping @Sendable (BackendRequest) -> BackendResponse) throws(BackendError) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw BackendError("--listen \(host): not an IPv4 address") }
        let ctx = Unmanaged.passRetained(BackendContext(handler: handler, maxBodyBytes: maxBodyBytes))
        let flags = MHD_USE_THREAD_PER_CONNECTION.rawValue | MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_ERROR_LOG.rawValue
        let started: OpaquePointer? = withUnsafeMutablePointer(to: &addr) { sa in
            var items: [MHD_OptionItem] = [
                COrchMicroHTTPD_intOption(.CONNECTION_LIMIT, 4000),
                COrchMicroHTTPD_intOption(.CONNECTION_TIMEOUT, 600),
                COrchMicroHTTPD_pointerOption(.SOCK_ADDR, UnsafeMutableRawPointer(sa)),
                COrchMicroHTTPD_intOption(.THREAD_STACK_SIZE, 256 * 1024),
                COrchMicroHTTPD_endOption(),
            ]
            return items.withUnsafeMutableBufferPointer { buf in
                COrchMicroHTTPD_startDaemon(flags, port, orchBackendsAccessHandler, ctx.toOpaque(), buf.baseAddress)
            }
        }
        guard let started else {
            ctx.release()
            throw BackendError("cannot serve HTTP on \(host):\(port): \(String(cString: strerror(errno)))")
        }
        self.port = COrchMicroHTTPD_boundPort(started)
        daemon = Mutex(started)
        context = ctx
    }

    /// Stops serving (closes connections, joins the threads). Idempotent.
    public func stop() {
        daemon.withLock { d in
            guard let running = d else { return }
            MHD_stop_daemon(running)
            d = nil
            context.release()
        }
    }

    deinit { stop() }
}

/// What the C callbacks reach through their context pointer.
final class BackendContext: Sendable {
    let handler: @Sendable (BackendRequest) -> BackendResponse
    let maxBodyBytes: Int

    init(handler: @escaping @Sendable (BackendRequest) -> BackendResponse, maxBodyBytes: Int) {
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
    }
}

/// One request's body as it arrives (owned by libmicrohttpd's per-request pointer).
final class BodyBuffer {
    var bytes: [UInt8] = []
    var tooLarge = false
}

// MARK: - C callbacks (free functions: called on libmicrohttpd's threads)

private func orchBackendsAccessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadDataSize: UnsafeMutablePointer<Int>?, _ requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let requestState else { return .NO }
    let context = Unmanaged<BackendContext>.fromOpaque(cls).takeUnretainedValue()
    guard let state = requestState.pointee else {
        // First call: headers only. Keep a body buffer for the calls that follow.
        requestState.pointee = Unmanaged.passRetained(BodyBuffer()).toOpaque()
        return .YES
    }
    let buffer = Unmanaged<BodyBuffer>.fromOpaque(state).takeUnretainedValue()
    if let size = uploadDataSize, size.pointee > 0 {
        if let data = uploadData, buffer.bytes.count + size.pointee <= context.maxBodyBytes {
            data.withMemoryRebound(to: UInt8.self, capacity: size.pointee) {
                buffer.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: size.pointee))
            }
        } else {
            buffer.tooLarge = true
        }
        size.pointee = 0
        return .YES
    }
    // Body complete: answer, and free the buffer.
    Unmanaged<BodyBuffer>.fromOpaque(state).release()
    requestState.pointee = nil
    var headers: [String: String] = [:]
    _ = withUnsafeMutablePointer(to: &headers) { p in
        MHD_get_connection_values(connection, .HEADER_KIND, orchBackendsCollectHeader, p)
    }
    let response: BackendResponse
    if buffer.tooLarge {
        response = .json(413, #"{"error":{"message":"request body too large","type":"invalid_request_error"}}"#)
    } else {
        response = context.handler(BackendRequest(method: method.map { String(cString: $0) } ?? "", path: url.map { String(cString: $0) } ?? "/",
                                                  headers: headers, body: buffer.bytes))
    }
    let created: OpaquePointer? = response.body.withUnsafeBytes { body in
        MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY)
    }
    if let stream = response.stream {
        // libmicrohttpd pulls the body through the reader on this connection's thread, which
        // may sleep between chunks; the free callback drops the stream (and ends it, if the
        // client went away first).
        let ctx = Unmanaged.passRetained(stream)
        guard let r = MHD_create_response_from_callback(UInt64.max, 4096, orchBackendsStreamReader, ctx.toOpaque(), orchBackendsStreamFree) else {
            ctx.release()
            stream.finish()
            return .NO
        }
        defer { MHD_destroy_response(r) }
        for (name, value) in response.headers { _ = MHD_add_response_header(r, name, value) }
        return MHD_queue_response(connection, UInt32(response.status), r)
    }
    guard let r = created else { return .NO }
    defer { MHD_destroy_response(r) }
    for (name, value) in response.headers { _ = MHD_add_response_header(r, name, value) }
    return MHD_queue_response(connection, UInt32(response.status), r)
}

private func orchBackendsStreamReader(_ cls: UnsafeMutableRawPointer?, _ pos: UInt64, _ buf: UnsafeMutablePointer<CChar>?, _ max: Int) -> Int {
    guard let cls, let buf else { return -1 }
    return Unmanaged<BackendStream>.fromOpaque(cls).takeUnretainedValue().read(into: UnsafeMutableRawPointer(buf), max: max)
}

private func orchBackendsStreamFree(_ cls: UnsafeMutableRawPointer?) {
    guard let cls else { return }
    let stream = Unmanaged<BackendStream>.fromOpaque(cls).takeRetainedValue()
    stream.finish()
}

private func orchBackendsCollectHeader(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let headers = cls.assumingMemoryBound(to: [String: String].self)
    headers.pointee[String(cString: key).lowercased()] = value.map { String(cString: $0) } ?? ""
    return .YES
}

/// An error of `reference-backends`: what failed, naming the flag, address or value.
public struct BackendError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A streamed response body as libmicrohttpd reads it: chunk by chunk, sleeping each chunk's
/// delay first. Read only by its connection's thread (the mutex is for `finish` from the
/// free callback).
public final class BackendStream: Sendable {
    private struct State {
        var next = 0
        var offset = 0
        var done: (@Sendable () -> Void)?
    }

    private let chunks: [BackendResponse.Chunk]
    private let state: Mutex<State>

    /// A stream of `chunks`; `done` runs once, when the last is sent or the stream is dropped.
    public init(chunks: [BackendResponse.Chunk], done: @escaping @Sendable () -> Void) {
        self.chunks = chunks
        state = Mutex(State(done: done))
    }

    /// Copies the next bytes (up to `max`) into `buf`; -1 at the end (MHD_CONTENT_READER_END_OF_STREAM).
    func read(into buf: UnsafeMutableRawPointer, max: Int) -> Int {
        let (index, offset) = state.withLock { ($0.next, $0.offset) }
        guard index < chunks.count else {
            finish()
            return -1
        }
        let chunk = chunks[index]
        if offset == 0, chunk.delayNs > 0 {
            var ts = timespec(tv_sec: Int(chunk.delayNs / 1_000_000_000), tv_nsec: Int(chunk.delayNs % 1_000_000_000))
            var rest = timespec()
            while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
        }
        let n = min(max, chunk.bytes.count - offset)
        chunk.bytes.withUnsafeBytes { src in
            if n > 0 { buf.copyMemory(from: src.baseAddress! + offset, byteCount: n) }
        }
        state.withLock { s in
            if offset + n >= chunk.bytes.count {
                s.next = index + 1
                s.offset = 0
            } else {
                s.offset = offset + n
            }
        }
        return n
    }

    /// Runs `done` (once).
    func finish() {
        let done = state.withLock { s -> (@Sendable () -> Void)? in
            let d = s.done
            s.done = nil
            return d
        }
        done?()
    }
}
