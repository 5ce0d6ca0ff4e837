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

/// A response: status, headers, body.
public struct BackendResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

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
    guard let r = created else { return .NO }
    defer { MHD_destroy_response(r) }
    for (name, value) in response.headers { _ = MHD_add_response_header(r, name, value) }
    return MHD_queue_response(connection, UInt32(response.status), r)
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
