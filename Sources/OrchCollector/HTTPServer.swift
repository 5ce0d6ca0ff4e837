import COrchMicroHTTPD
import Glibc
import Synchronization

/// An HTTP/1.1 server on libmicrohttpd that serves GET and HEAD through one handler.
///
/// libmicrohttpd does the protocol work: parsing, keep-alive, HEAD (headers without
/// the body), TLS through GnuTLS, Basic-auth header decoding, and refusing abuse —
/// requests whose headers or URL exceed `Options.connectionMemoryLimit` get 431/414,
/// connections idle past `Options.connectionTimeoutSeconds` are closed (slowloris),
/// and past `Options.connectionLimit` open connections no more are accepted.
///
/// In front of the handler the server applies the web config, read again for every request
/// and TLS connection as exporter-toolkit does (`WebConfigReloader`, `TLSPolicy`): its extra
/// headers on every response, its rate limit (429), and Basic auth against bcrypt hashes
/// (`BasicAuthenticator`) on every path except `Options.unauthenticatedPaths` (401 with
/// `WWW-Authenticate: Basic realm="orchlog"`). Methods other than GET and HEAD get
/// 405 with `Allow: GET, HEAD`.
///
/// Requests run on a pool of `Options.threadPoolSize` threads, each multiplexing its
/// connections with epoll; the handler should be quick (render, don't wait).
public final class HTTPServer: Sendable {
    /// Limits and behaviour; the defaults suit a metrics endpoint on a small machine.
    public struct Options: Sendable {
        /// Most connections open at once (idle ones included). At the limit the server
        /// stops accepting: newcomers wait in the kernel's listen backlog until a slot
        /// frees (idle connections time out). Clamped below the open-file limit.
        public var connectionLimit = 2048
        /// Most connections from one IP address; 0 for no per-address limit.
        public var perIPConnectionLimit = 0
        /// Seconds of inactivity after which a connection is closed.
        public var connectionTimeoutSeconds = 15
        /// Bytes of memory per connection for the request line and headers (and
        /// response headers); larger requests are refused with 431 or 414.
        public var connectionMemoryLimit = 32 * 1024
        /// Worker threads (each multiplexes its share of the connections with epoll).
        public var threadPoolSize = 2
        /// The Basic-auth realm.
        public var realm = "orchlog"
        /// Paths served without authentication even when `basic_auth_users` is set.
        public var unauthenticatedPaths: Set<String> = ["/-/healthy"]
        /// Checks a password against a bcrypt hash; nil for `PasswordHasher.verify` (tests count calls).
        var passwordVerifier: (@Sendable (_ password: String, _ hash: String) -> Bool)?

        /// The defaults.
        public init() {}
    }

    /// The TCP port the server listens on (the kernel's choice when asked for port 0).
    public let port: UInt16
    /// True when the server speaks HTTPS.
    public let isTLS: Bool

    private let running: Mutex<RunningDaemon?>
    private let context: ServerContext

    /// How many bcrypt verifications authentication has run (one per distinct credentials,
    /// whatever was wrong with them; repeats are cached); for tests of the uniform timing path.
    var authenticationChecks: Int { context.authenticator.verifications.load(ordering: .relaxed) }

    /// Starts serving on `listenAddress` (`host:port`, `:port` or `[v6]:port`).
    ///
    /// - Parameters:
    ///   - webConfig: TLS, basic auth, extra headers and rate limit; nil for plain HTTP
    ///     without authentication.
    ///   - options: connection limits and timeouts.
    ///   - logger: receives libmicrohttpd's diagnostics (one line each); nil drops them.
    ///   - handler: called on a server thread for each authorized GET or HEAD request.
    /// - Throws: `CollectorError` — `.config` for a bad address or TLS material,
    ///   `.unsupported` when libmicrohttpd lacks TLS, `.io` when the daemon cannot start
    ///   (the message includes libmicrohttpd's reason, e.g. the address is in use).
    public init(listenAddress: String, webConfig: WebConfig?, options: Options = Options(),
                logger: (@Sendable (String) -> Void)? = nil,
                handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws {
        let address = try ListenAddress.parse(listenAddress)
        let resolved = try address.resolve()
        let config = webConfig ?? WebConfig()

        // The TLS policy is built now so that a bad certificate, key or CA fails the start.
        var policy: TLSPolicy?
        if let tls = config.tls {
            do { policy = try TLSPolicy(tls) } catch let e as CollectorError {
                let prefix = config.path.map { "web config \($0): " } ?? ""
                throw CollectorError(e.code, prefix + e.message, errno: e.errno)
            }
        }
        let authenticator = BasicAuthenticator(verify: options.passwordVerifier ?? PasswordHasher.verify)
        authenticator.prepare(for: config.basicAuthUsers)
        let context = ServerContext(
            handler: handler, webConfig: WebConfigReloader(initial: config, policy: policy, logger: logger),
            authenticator: authenticator, realm: options.realm, unauthenticatedPaths: options.unauthenticatedPaths,
            limiter: config.rateLimit.map { RateLimiter($0) }, logger: logger)

        var flags = MHD_USE_AUTO_INTERNAL_THREAD.rawValue | MHD_USE_ERROR_LOG.rawValue
        if resolved.family == AF_INET6 {
            flags |= resolved.dualStack ? MHD_USE_DUAL_STACK.rawValue : MHD_USE_IPv6.rawValue
        }

        // Strings libmicrohttpd reads while starting; wiped and freed after it stops.
        var cStrings: [UnsafeMutablePointer<CChar>] = []
        func keep(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBufferPointer { src in
                UnsafeMutableRawPointer(p).copyMemory(from: src.baseAddress!, byteCount: bytes.count)
            }
            p[bytes.count] = 0
            cStrings.append(p)
            return p
        }
        var tlsOptions: [MHD_OptionItem] = []
        if let tls = config.tls {
            guard MHD_is_feature_supported(.FEATURE_TLS) == .YES else {
                throw CollectorError(.unsupported, "this libmicrohttpd was built without TLS support; cannot serve HTTPS")
            }
            let pem: (certificate: [UInt8], key: [UInt8])
            do { pem = try tls.loadCertificateAndKey() } catch let e as CollectorError {
                let prefix = config.path.map { "web config \($0): " } ?? ""
                throw CollectorError(e.code, prefix + e.message, errno: e.errno)
            }
            flags |= MHD_USE_TLS.rawValue
            tlsOptions = [
                COrchMicroHTTPD_pointerOption(.HTTPS_MEM_KEY, keep(pem.key)),
                COrchMicroHTTPD_pointerOption(.HTTPS_MEM_CERT, keep(pem.certificate)),
                COrchMicroHTTPD_pointerOption(.HTTPS_PRIORITIES, keep(Array(tls.gnutlsPriorities.utf8))),
            ]
        }
        let freeStrings = { [cStrings] in
            for p in cStrings {
                explicit_bzero(p, strlen(p))
                p.deallocate()
            }
        }

        let unmanaged = Unmanaged.passRetained(context)
        let contextPointer = unmanaged.toOpaque()
        var storage = resolved.storage
        let daemon: OpaquePointer? = withUnsafeMutablePointer(to: &storage) { sa in
            var items: [MHD_OptionItem] = [
                // First, so that it also receives warnings about the options after it.
                COrchMicroHTTPD_loggerOption(orchCollectorMHDLog, contextPointer),
                COrchMicroHTTPD_intOption(.CONNECTION_LIMIT, Self.clampedConnectionLimit(options.connectionLimit)),
                COrchMicroHTTPD_intOption(.CONNECTION_TIMEOUT, max(1, options.connectionTimeoutSeconds)),
                COrchMicroHTTPD_intOption(.CONNECTION_MEMORY_LIMIT, max(4096, options.connectionMemoryLimit)),
                COrchMicroHTTPD_pointerOption(.SOCK_ADDR, UnsafeMutableRawPointer(sa)),
            ]
            if options.threadPoolSize > 1 {
                items.append(COrchMicroHTTPD_intOption(.THREAD_POOL_SIZE, options.threadPoolSize))
            }
            if options.perIPConnectionLimit > 0 {
                items.append(COrchMicroHTTPD_intOption(.PER_IP_CONNECTION_LIMIT, options.perIPConnectionLimit))
            }
            items += tlsOptions
            if config.tls != nil {
                // Each new connection gets the then-current TLS policy (HTTPServer+TLS.swift).
                items.append(COrchMicroHTTPD_notifyConnectionOption(orchCollectorConnectionNotify, contextPointer))
            }
            items.append(COrchMicroHTTPD_endOption())
            return items.withUnsafeMutableBufferPointer { buf in
                COrchMicroHTTPD_startDaemon(flags, address.port, orchCollectorAccessHandler, contextPointer, buf.baseAddress)
            }
        }
        let startErrno = errno
        guard let daemon else {
            unmanaged.release()
            freeStrings()
            let log = context.finishStartup()
            var why = log.isEmpty ? String(cString: strerror(startErrno)) : log.joined(separator: "; ")
            if config.tls != nil { why += " (check the TLS certificate, key and versions)" }
            throw CollectorError(.io, "cannot serve \(config.tls == nil ? "HTTP" : "HTTPS") on \(address): \(why)", errno: startErrno)
        }
        for line in context.finishStartup() { context.logger?(line) }
        self.port = COrchMicroHTTPD_boundPort(daemon)
        self.isTLS = config.tls != nil
        self.context = context
        self.running = Mutex(RunningDaemon(daemon: daemon, context: unmanaged, freeStrings: freeStrings))
    }

    /// Stops accepting, closes every connection and waits for the worker threads to
    /// finish. Idempotent. Must not be called from inside the handler.
    public func stop() {
        running.withLock { r in
            guard let d = r else { return }
            MHD_stop_daemon(d.daemon)
            d.context.release()
            d.freeStrings()
            r = nil
        }
    }

    deinit { stop() }

    /// `limit`, kept 64 below the soft open-file limit so the process can still open files.
    static func clampedConnectionLimit(_ limit: Int) -> Int {
        var rl = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max else {
            return max(1, limit)
        }
        return max(1, min(limit, Int(clamping: rl.rlim_cur) - 64))
    }
}

/// What `HTTPServer.stop()` tears down.
private struct RunningDaemon {
    let daemon: OpaquePointer
    let context: Unmanaged<ServerContext>
    let freeStrings: () -> Void
}

/// Everything the C callbacks need, reached through an `Unmanaged` pointer.
final class ServerContext: Sendable {
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    /// The web config, re-read for every request and new TLS connection.
    let webConfig: WebConfigReloader
    let authenticator: BasicAuthenticator
    let realm: String
    let unauthenticatedPaths: Set<String>
    let limiter: RateLimiter?
    let logger: (@Sendable (String) -> Void)?
    /// Messages logged while the daemon starts (nil once it has started).
    private let startupLog = Mutex<[String]?>([])

    init(handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse, webConfig: WebConfigReloader,
         authenticator: BasicAuthenticator, realm: String, unauthenticatedPaths: Set<String>,
         limiter: RateLimiter?, logger: (@Sendable (String) -> Void)?) {
        self.handler = handler
        self.webConfig = webConfig
        self.authenticator = authenticator
        self.realm = realm
        self.unauthenticatedPaths = unauthenticatedPaths
        self.limiter = limiter
        self.logger = logger
    }

    /// During startup, messages are kept: a failed start says them once, in its error; a
    /// successful one passes them on (`finishStartup`). Afterwards they go to the logger.
    func log(_ message: String) {
        let kept = startupLog.withLock { log -> Bool in
            guard log != nil else { return false }
            log!.append(message)
            return true
        }
        if !kept { logger?(message) }
    }

    /// Ends the startup phase and returns what was logged during it.
    func finishStartup() -> [String] {
        startupLog.withLock { log in
            let l = log ?? []
            log = nil
            return l
        }
    }

    /// Decides the response for one request: web config (500 while it is broken), rate limit,
    /// authentication, method, handler. Returns the headers `http_server_config` adds.
    func respond(method: String, path: String, headers: HTTPHeaders, credentials: (user: String, password: String)?)
        -> (HTTPResponse, challenge: Bool, extraHeaders: [(name: String, value: String)]) {
        let config: WebConfig
        switch webConfig.config() {
        case .failure: return (.text(500, "Internal Server Error\n"), false, [])
        case .success(let c): config = c
        }
        let extra = config.headers.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        if let limiter, !limiter.allow() {
            return (.text(429, "Too Many Requests\n"), false, extra)
        }
        if !config.basicAuthUsers.isEmpty && !unauthenticatedPaths.contains(path) {
            // One bcrypt verification (or a cached result) on every path through here, whatever is wrong.
            guard authenticator.authenticate(users: config.basicAuthUsers, credentials: credentials) else {
                return (.text(401, "Unauthorized\n"), true, extra)
            }
        }
        guard method == "GET" || method == "HEAD" else {
            var r = HTTPResponse.text(405, "Method Not Allowed\n")
            r.headers.add("Allow", "GET, HEAD")
            return (r, false, extra)
        }
        return (handler(HTTPRequest(method: method, path: path, headers: headers)), false, extra)
    }
}

/// A token bucket: `burst` tokens, one more every `interval` seconds (exporter-toolkit's
/// `rate.NewLimiter(rate.Every(interval), burst)`, which starts full).
final class RateLimiter: Sendable {
    private let interval: Double
    private let burst: Double
    private let state: Mutex<(tokens: Double, lastNs: UInt64)>

    init(_ limit: WebConfig.RateLimit) {
        interval = limit.intervalSeconds
        burst = Double(limit.burst)
        state = Mutex((Double(limit.burst), Self.nowNs()))
    }

    func allow() -> Bool {
        let now = Self.nowNs()
        return state.withLock { s in
            let elapsed = Double(now &- s.lastNs) / 1e9
            s.tokens = min(burst, s.tokens + elapsed / interval)
            s.lastNs = now
            guard s.tokens >= 1 else { return false }
            s.tokens -= 1
            return true
        }
    }

    private static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

// MARK: - C callbacks (free functions: called on libmicrohttpd's threads)

/// libmicrohttpd's request callback. It answers on the first call (headers complete):
/// the server never reads request bodies.
private func orchCollectorAccessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadDataSize: UnsafeMutablePointer<Int>?, _ requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection else { return .NO }
    if let requestState, requestState.pointee != nil {
        // Called again after the response was queued (a body is arriving): discard it.
        uploadDataSize?.pointee = 0
        return .YES
    }
    requestState?.pointee = UnsafeMutableRawPointer(bitPattern: 1)
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()

    let methodString = method.map { String(cString: $0) } ?? ""
    let path = url.map { String(cString: $0) } ?? "/"
    var fields: [(name: String, value: String)] = []
    _ = withUnsafeMutablePointer(to: &fields) { p in
        MHD_get_connection_values(connection, .HEADER_KIND, orchCollectorCollectHeader, p)
    }

    var credentials: (user: String, password: String)? = nil
    do {
        var password: UnsafeMutablePointer<CChar>? = nil
        let user = MHD_basic_auth_get_username_password(connection, &password)
        if let user, let password {
            credentials = (String(cString: user), String(cString: password))
        }
        if let password {
            explicit_bzero(password, strlen(password))
            MHD_free(password)
        }
        if let user { MHD_free(user) }
    }

    let (response, challenge, extraHeaders) = context.respond(method: methodString, path: path, headers: HTTPHeaders(fields),
                                                              credentials: credentials)
    return orchCollectorQueue(connection, response, extraHeaders: extraHeaders,
                              challengeRealm: challenge ? context.realm : nil)
}

/// Appends one request header to the `[(name, value)]` behind `cls`.
private func orchCollectorCollectHeader(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let fields = cls.assumingMemoryBound(to: [(name: String, value: String)].self)
    fields.pointee.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
    return .YES
}

/// Hands `response` to libmicrohttpd (which copies the body and adds Content-Length).
private func orchCollectorQueue(_ connection: OpaquePointer, _ response: HTTPResponse,
                                extraHeaders: [(name: String, value: String)], challengeRealm: String?) -> MHD_Result {
    let created: OpaquePointer? = response.body.withUnsafeBytes { body in
        MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY)
    }
    guard let r = created else { return .NO }
    defer { MHD_destroy_response(r) }
    for (name, value) in extraHeaders {
        _ = MHD_add_response_header(r, name, value)
    }
    for (name, value) in response.headers {
        // libmicrohttpd computes these itself.
        if HTTPHeaders.sameName(name, "Content-Length") || HTTPHeaders.sameName(name, "Transfer-Encoding") { continue }
        _ = MHD_add_response_header(r, name, value)
    }
    if let challengeRealm {
        return MHD_queue_basic_auth_fail_response(connection, challengeRealm, r)
    }
    let status = (100...999).contains(response.status) ? UInt32(response.status) : 500
    return MHD_queue_response(connection, status, r)
}

/// libmicrohttpd's logger: formats the message and passes it to the server context.
private func orchCollectorMHDLog(_ cls: UnsafeMutableRawPointer?, _ format: UnsafePointer<CChar>?, _ args: CVaListPointer?) {
    guard let cls, let format, let args else { return }
    var buffer = [CChar](repeating: 0, count: 1024)
    _ = vsnprintf(&buffer, buffer.count, format, args)
    var message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    while message.last == "\n" || message.last == "\r" { message.removeLast() }
    Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().log(message)
}
