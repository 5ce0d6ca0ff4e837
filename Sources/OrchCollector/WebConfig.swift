import Glibc

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
/// duplicate keys are errors. Options this libmicrohttpd-based server cannot honour
/// (client certificates, `cipher_suites`) are rejected with `.unsupported` rather
/// than silently ignored. `http2` is accepted and ignored (libmicrohttpd speaks HTTP/1.1).
public struct WebConfig: Sendable, Equatable {
    /// A TLS protocol version, spelled as in exporter-toolkit.
    public enum TLSVersion: String, Sendable, Equatable, Comparable, CaseIterable {
        /// TLS 1.0 … 1.3.
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        /// The GnuTLS priority keyword for this version.
        var gnutlsName: String {
            switch self {
            case .tls10: "VERS-TLS1.0"
            case .tls11: "VERS-TLS1.1"
            case .tls12: "VERS-TLS1.2"
            case .tls13: "VERS-TLS1.3"
            }
        }

        /// Older versions sort first.
        public static func < (a: TLSVersion, b: TLSVersion) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// Where PEM data comes from: a file (absolute or relative to the working
    /// directory, already resolved against the config file's directory) or inline text.
    public enum PEMSource: Sendable, Equatable {
        /// PEM read from this file when the server starts.
        case file(String)
        /// PEM text given in the config (`cert:` / `key:`).
        case inline(String)
    }

    /// `tls_server_config`: serve HTTPS with this certificate and key.
    public struct TLSServerConfig: Sendable, Equatable {
        /// `cert_file` or `cert`.
        public var certificate: PEMSource
        /// `key_file` or `key`.
        public var key: PEMSource
        /// `min_version` (default TLS12).
        public var minVersion: TLSVersion = .tls12
        /// `max_version` (default TLS13).
        public var maxVersion: TLSVersion = .tls13
        /// `prefer_server_cipher_suites` (default true).
        public var preferServerCipherSuites = true
        /// `curve_preferences` as GnuTLS group names, in preference order; empty for the default.
        public var gnutlsGroups: [String] = []

        /// Creates a TLS config with exporter-toolkit's defaults.
        public init(certificate: PEMSource, key: PEMSource) {
            self.certificate = certificate
            self.key = key
        }

        /// The GnuTLS priority string libmicrohttpd is started with.
        public var gnutlsPriorities: String {
            var p = "NORMAL:-VERS-ALL"
            for v in TLSVersion.allCases.reversed() where v >= minVersion && v <= maxVersion {
                p += ":+" + v.gnutlsName
            }
            if !gnutlsGroups.isEmpty {
                p += ":-GROUP-ALL" + gnutlsGroups.map { ":+" + $0 }.joined()
            }
            if preferServerCipherSuites { p += ":%SERVER_PRECEDENCE" }
            return p
        }

        /// Reads the certificate and key PEM (from their files, or inline). Throws
        /// `.io` naming the file when it cannot be read and `.config` when it holds no
        /// PEM certificate or private key.
        public func loadCertificateAndKey() throws -> (certificate: [UInt8], key: [UInt8]) {
            let cert = try Self.read(certificate, what: "cert_file")
            let key = try Self.read(key, what: "key_file")
            guard contains(cert, "-----BEGIN CERTIFICATE-----") else {
                throw CollectorError(.config, "tls_server_config: \(describe(certificate, "cert")) holds no PEM certificate")
            }
            guard contains(key, "-----BEGIN "), contains(key, "PRIVATE KEY-----") else {
                throw CollectorError(.config, "tls_server_config: \(describe(self.key, "key")) holds no PEM private key")
            }
            return (cert, key)
        }

        private static func read(_ source: PEMSource, what: String) throws -> [UInt8] {
            switch source {
            case .inline(let text): return Array(text.utf8)
            case .file(let path):
                do { return try WebConfigFiles.read(path, limit: 1 << 20) } catch let e as CollectorError {
                    throw CollectorError(e.code, "tls_server_config: \(what) \(e.message)", errno: e.errno)
                }
            }
        }

        private func describe(_ s: PEMSource, _ field: String) -> String {
            switch s {
            case .file(let p): "\(field)_file \(p)"
            case .inline: "inline \(field)"
            }
        }

        private func contains(_ hay: [UInt8], _ needle: String) -> Bool {
            let n = Array(needle.utf8)
            guard hay.count >= n.count else { return false }
            for i in 0...(hay.count - n.count) where hay[i] == n[0] && Array(hay[i..<(i + n.count)]) == n {
                return true
            }
            return false
        }
    }

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
            do { _ = try tls.loadCertificateAndKey() } catch let e as CollectorError {
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
        guard let root = try YAMLNode.load(yaml, name: name), !root.isNull else { return config }
        let p = WebConfigParser(name: name, directory: directoryOf(path))
        let top = try p.mapping(root, what: "the top level",
                                keys: ["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"])
        if let n = top["tls_server_config"] { config.tls = try p.tls(n) }
        if let n = top["http_server_config"] {
            let m = try p.mapping(n, what: "http_server_config", keys: ["http2", "headers"])
            if let b = m["http2"] { config.http2 = try p.bool(b, what: "http_server_config.http2") }
            if let h = m["headers"] { config.headers = try p.headers(h) }
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
