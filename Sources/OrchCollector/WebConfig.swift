import Glibc
import OrchYAML

/// The `--web.config.file` of Prometheus' exporter-toolkit: TLS, bcrypt basic auth,
/// extra response headers and a request rate limit, read from YAML with libyaml.
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt        # relative paths resolve against the file's directory
///   key_file: server.key
///   min_version: TLS12           # TLS10…TLS13; default TLS12 (max default TLS13)
/// basic_auth_users:
///   alice: $2y$10$…              # bcrypt hashes only
/// http_server_config:
///   headers: {X-Frame-Options: deny}
/// rate_limit: {interval: 1s, burst: 20}
/// ```
///
/// Parsing is strict like exporter-toolkit's `yaml.UnmarshalStrict`: unknown or
/// duplicate keys are errors, and every message names the key at fault. Every
/// exporter-toolkit key is honoured (client certificates through GnuTLS, see `TLSPolicy`);
/// `http2` is accepted and has no effect (libmicrohttpd speaks HTTP/1.1).
public struct WebConfig: Sendable, Equatable {
    /// `rate_limit`: a token bucket over all requests (exporter-toolkit semantics:
    /// one token every `interval`, at most `burst` stored).
    public struct RateLimit: Sendable, Equatable {
        /// Seconds between two tokens; the limiter is off when this is 0.
        public var intervalSeconds: Double
        /// Bucket size.
        public var burst: Int

        /// Creates a rate limit.
        public init(intervalSeconds: Double, burst: Int) {
            self.intervalSeconds = intervalSeconds
            self.burst = burst
        }
    }

    /// The headers `http_server_config.headers` may set, and their allowed values
    /// (nil: any value), as in exporter-toolkit.
    public static let configurableHeaders: [String: [String]?] = [
        "Strict-Transport-Security": nil,
        "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"],
        "X-XSS-Protection": nil,
        "Content-Security-Policy": nil,
    ]

    /// Every key the parser takes, dotted (`tls_server_config.cert_file`); `basic_auth_users`
    /// and `http_server_config.headers` are maps of names. docs/deploying.md's table is
    /// checked against this list.
    public static let keys: [String] =
        WebConfigParser.tlsKeys.map { "tls_server_config." + $0 } + WebConfigParser.httpKeys.map { "http_server_config." + $0 }
        + ["basic_auth_users"] + WebConfigParser.rateLimitKeys.map { "rate_limit." + $0 }

    /// The file this config was loaded from, if any.
    public var path: String?
    /// TLS settings; nil serves plain HTTP.
    public var tls: TLSServerConfig?
    /// `basic_auth_users`: user name → bcrypt hash. Empty disables basic auth.
    public var basicAuthUsers: [String: String]
    /// `http_server_config.headers`: added to every response.
    public var headers: [String: String]
    /// `http_server_config.http2` (accepted for compatibility; not used).
    public var http2: Bool
    /// `rate_limit`, if set with a non-zero interval.
    public var rateLimit: RateLimit?

    /// A config with nothing set: plain HTTP, no authentication.
    public init(tls: TLSServerConfig? = nil, basicAuthUsers: [String: String] = [:], headers: [String: String] = [:],
                rateLimit: RateLimit? = nil) {
        self.path = nil
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
        self.headers = headers
        self.http2 = true
        self.rateLimit = rateLimit
    }

    /// Reads and parses the web config file at `path`, then checks that the TLS
    /// certificate and key it names can be read and hold PEM data.
    /// Throws `CollectorError` (`.io`, `.config` or `.unsupported`) whose message starts
    /// with "web config `path`:" and names the line or file at fault.
    public static func load(path: String) throws -> WebConfig {
        let bytes: [UInt8]
        do { bytes = try WebConfigFiles.read(path, limit: YAMLNode.maxInputBytes) } catch let e as CollectorError {
            throw CollectorError(e.code, "web config \(e.message)", errno: e.errno)
        }
        let config = try parse(bytes, path: path)
        if let tls = config.tls {
            do {
                _ = try tls.loadCertificateAndKey()
                _ = try tls.loadClientCA()
            } catch let e as CollectorError {
                throw CollectorError(e.code, "web config \(path): \(e.message)", errno: e.errno)
            }
        }
        return config
    }

    /// Parses web config YAML. `path` names the file in messages and is the base for
    /// relative certificate paths; no file is read. Throws `CollectorError` (`.config`
    /// or `.unsupported`) for malformed YAML, unknown or duplicate keys, wrong types,
    /// bad bcrypt hashes, headers that cannot be configured and inconsistent TLS settings.
    public static func parse(_ yaml: [UInt8], path: String) throws -> WebConfig {
        let name = "web config \(path)"
        var config = WebConfig()
        config.path = path
        guard let root = try CollectorError.yaml({ try YAMLNode.load(yaml, name: name) }), !root.isNull else { return config }
        let p = WebConfigParser(name: name, directory: directoryOf(path))
        let top = try p.mapping(root, what: "the top level",
                                keys: Set(WebConfigParser.topKeys))
        if let n = top["tls_server_config"] { config.tls = try p.tls(n) }
        if let n = top["http_server_config"] {
            let m = try p.mapping(n, what: "http_server_config", keys: Set(WebConfigParser.httpKeys))
            if let b = m["http2"] { config.http2 = try p.bool(b, what: "http_server_config.http2") }
            if let h = m["headers"] { config.headers = try p.headers(h) }
        }
        if let tls = config.tls, let n = top["tls_server_config"],
           let suites = try p.mapping(n, what: "tls_server_config", keys: nil)["cipher_suites"] {
            try p.checkHTTP2Ciphers(tls, http2: config.http2, at: suites)
        }
        if let n = top["basic_auth_users"] { config.basicAuthUsers = try p.users(n) }
        if let n = top["rate_limit"] { config.rateLimit = try p.rateLimit(n) }
        return config
    }

    /// The directory part of `path` ("." when there is none), as Go's filepath.Dir.
    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}

/// Whole-file reads with EINTR retry and a size limit, for the config and PEM files.
enum WebConfigFiles {
    /// Reads all of `path`. Throws `.io` ("`path`: cannot read: reason") or `.config`
    /// when the file is larger than `limit` bytes.
    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw CollectorError.system("\(path): cannot read") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CollectorError.system("\(path): cannot stat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw CollectorError(.config, "\(path): not a regular file")
        }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CollectorError.system("\(path): cannot read")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= limit else { throw CollectorError(.config, "\(path): larger than \(limit) bytes") }
        }
        return out
    }
}
