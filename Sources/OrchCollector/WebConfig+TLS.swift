/// `tls_server_config` of the web config: versions, client certificate policies, Go's
/// cipher suite and curve names, and their translation to a GnuTLS priority string.
extension WebConfig {
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

        private var rank: Int {
            switch self {
            case .tls10: 0
            case .tls11: 1
            case .tls12: 2
            case .tls13: 3
            }
        }

        /// Older versions sort first.
        public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a.rank < b.rank }
    }

    /// `client_auth_type`: Go's `tls.ClientAuthType` values, with their Go semantics.
    public enum ClientAuth: String, Sendable, Equatable, CaseIterable {
        /// No certificate is asked for; one sent anyway is ignored.
        case noClientCert = "NoClientCert"
        /// A certificate is asked for, not required, and not verified.
        case requestClientCert = "RequestClientCert"
        /// A certificate is required but not verified (any certificate will do).
        case requireAnyClientCert = "RequireAnyClientCert"
        /// A certificate is asked for; when one is sent it must verify against the client CAs.
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        /// A certificate is required and must verify against the client CAs.
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Parses a Go name; exporter-toolkit also accepts the old spelling
        /// `RequireClientCert` for `RequireAnyClientCert`.
        public init?(goName: String) {
            if goName == "RequireClientCert" { self = .requireAnyClientCert; return }
            self.init(rawValue: goName)
        }

        /// True when the server asks the client for a certificate.
        public var requests: Bool { self != .noClientCert }
        /// True when a handshake without a client certificate fails.
        public var requires: Bool { self == .requireAnyClientCert || self == .requireAndVerifyClientCert }
        /// True when a client certificate sent is checked against the client CAs.
        public var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// A cipher suite by Go's name (`tls.CipherSuites()`), with the GnuTLS algorithms it is made of.
    public struct CipherSuite: Sendable, Equatable {
        /// Go's name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
        public let name: String
        /// GnuTLS key exchange keyword (empty for TLS 1.3 suites).
        let kx: String
        /// GnuTLS cipher keyword.
        let cipher: String
        /// GnuTLS MAC keyword.
        let mac: String
        /// True for a TLS 1.3 suite: Go does not let those be configured, so listing one has no effect.
        public var isTLS13: Bool { kx.isEmpty }

        /// Every name Go's `tls.CipherSuites()` returns, in Go's order.
        public static let all: [CipherSuite] = [
            .init(name: "TLS_RSA_WITH_AES_128_CBC_SHA", kx: "RSA", cipher: "AES-128-CBC", mac: "SHA1"),
            .init(name: "TLS_RSA_WITH_AES_256_CBC_SHA", kx: "RSA", cipher: "AES-256-CBC", mac: "SHA1"),
            .init(name: "TLS_RSA_WITH_AES_128_GCM_SHA256", kx: "RSA", cipher: "AES-128-GCM", mac: "AEAD"),
            .init(name: "TLS_RSA_WITH_AES_256_GCM_SHA384", kx: "RSA", cipher: "AES-256-GCM", mac: "AEAD"),
            .init(name: "TLS_AES_128_GCM_SHA256", kx: "", cipher: "AES-128-GCM", mac: "AEAD"),
            .init(name: "TLS_AES_256_GCM_SHA384", kx: "", cipher: "AES-256-GCM", mac: "AEAD"),
            .init(name: "TLS_CHACHA20_POLY1305_SHA256", kx: "", cipher: "CHACHA20-POLY1305", mac: "AEAD"),
            .init(name: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", kx: "ECDHE-ECDSA", cipher: "AES-128-CBC", mac: "SHA1"),
            .init(name: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", kx: "ECDHE-ECDSA", cipher: "AES-256-CBC", mac: "SHA1"),
            .init(name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", kx: "ECDHE-RSA", cipher: "AES-128-CBC", mac: "SHA1"),
            .init(name: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", kx: "ECDHE-RSA", cipher: "AES-256-CBC", mac: "SHA1"),
            .init(name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", kx: "ECDHE-ECDSA", cipher: "AES-128-GCM", mac: "AEAD"),
            .init(name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", kx: "ECDHE-ECDSA", cipher: "AES-256-GCM", mac: "AEAD"),
            .init(name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", kx: "ECDHE-RSA", cipher: "AES-128-GCM", mac: "AEAD"),
            .init(name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", kx: "ECDHE-RSA", cipher: "AES-256-GCM", mac: "AEAD"),
            .init(name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", kx: "ECDHE-ECDSA", cipher: "CHACHA20-POLY1305", mac: "AEAD"),
            .init(name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", kx: "ECDHE-RSA", cipher: "CHACHA20-POLY1305", mac: "AEAD"),
        ]

        /// Go's default TLS 1.0–1.2 suites (Go ≥ 1.22), in its preference order: ECDHE only —
        /// Go has no DHE, and no longer offers RSA key exchange unless configured.
        public static let goDefaults: [CipherSuite] = [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        ].compactMap(named)

        /// The suite Go calls `name`, or nil.
        public static func named(_ name: String) -> CipherSuite? { all.first { $0.name == name } }
    }

    /// An elliptic curve by Go's `tls.CurveID` name.
    public enum Curve: String, Sendable, Equatable, CaseIterable {
        /// NIST P-256, P-384, P-521 and Curve25519.
        case p256 = "CurveP256", p384 = "CurveP384", p521 = "CurveP521", x25519 = "X25519"

        /// The GnuTLS group keyword.
        var gnutlsGroup: String {
            switch self {
            case .p256: "GROUP-SECP256R1"
            case .p384: "GROUP-SECP384R1"
            case .p521: "GROUP-SECP521R1"
            case .x25519: "GROUP-X25519"
            }
        }
    }

    /// Where PEM data comes from: a file (absolute or relative to the working
    /// directory, already resolved against the config file's directory) or inline text.
    public enum PEMSource: Sendable, Equatable {
        /// PEM read from this file (again for every new connection when it changes).
        case file(String)
        /// PEM text given in the config (`cert:` / `key:` / `client_ca:`).
        case inline(String)

        /// The file's path, nil for inline text.
        var path: String? {
            if case .file(let p) = self { return p }
            return nil
        }
    }

    /// `tls_server_config`: serve HTTPS with this certificate and key.
    public struct TLSServerConfig: Sendable, Equatable {
        /// `cert_file` or `cert`.
        public var certificate: PEMSource
        /// `key_file` or `key`.
        public var key: PEMSource
        /// `client_auth_type` (default NoClientCert).
        public var clientAuth: ClientAuth = .noClientCert
        /// `client_ca_file` or `client_ca`: the CAs client certificates are verified against;
        /// nil verifies against the system's trust store (as Go with no `ClientCAs`).
        public var clientCA: PEMSource?
        /// `client_allowed_sans`: a client certificate must carry one of these DNS, e-mail,
        /// IP or URI SANs exactly; nil (or empty) for no SAN check.
        public var clientAllowedSANs: [String]?
        /// `cipher_suites` by Go's names; empty for Go's defaults. As in Go they restrict
        /// TLS 1.0–1.2 only.
        public var cipherSuites: [CipherSuite] = []
        /// `curve_preferences` in preference order; empty for the default.
        public var curvePreferences: [Curve] = []
        /// `min_version` (default TLS12).
        public var minVersion: TLSVersion = .tls12
        /// `max_version` (default TLS13).
        public var maxVersion: TLSVersion = .tls13
        /// `prefer_server_cipher_suites` (default true).
        public var preferServerCipherSuites = true

        /// Creates a TLS config with exporter-toolkit's defaults.
        public init(certificate: PEMSource, key: PEMSource) {
            self.certificate = certificate
            self.key = key
        }

        /// The TLS 1.0–1.2 suites allowed: those `cipher_suites` lists, or Go's defaults; nil
        /// when only TLS 1.3 is allowed.
        var restrictedSuites: [CipherSuite]? {
            guard minVersion < .tls13 else { return nil }
            let suites = cipherSuites.filter { !$0.isTLS13 }
            return suites.isEmpty ? CipherSuite.goDefaults : suites
        }

        /// The GnuTLS priority string each connection is started with. For TLS ≤ 1.2 the key
        /// exchanges, ciphers and MACs of the allowed suites (`cipher_suites`, else Go's
        /// defaults) come first, in order; the TLS 1.3 suites' ciphers stay enabled (Go does not
        /// restrict TLS 1.3). Since a priority string cannot name whole suites, the handshake
        /// also checks that a TLS ≤ 1.2 connection got an allowed suite (see `TLSPolicy`).
        public var gnutlsPriorities: String {
            var p = "NORMAL:-VERS-ALL"
            for v in TLSVersion.allCases.reversed() where v >= minVersion && v <= maxVersion {
                p += ":+" + v.gnutlsName
            }
            if let suites = restrictedSuites {
                func unique(_ xs: [String]) -> [String] {
                    var seen = Set<String>()
                    return xs.filter { seen.insert($0).inserted }
                }
                let tls13 = maxVersion == .tls13 ? CipherSuite.all.filter(\.isTLS13) : []
                p += ":-KX-ALL" + unique(suites.map(\.kx)).map { ":+" + $0 }.joined()
                p += ":-CIPHER-ALL" + unique(suites.map(\.cipher) + tls13.map(\.cipher)).map { ":+" + $0 }.joined()
                p += ":-MAC-ALL" + unique(suites.map(\.mac) + tls13.map(\.mac)).map { ":+" + $0 }.joined()
            }
            if !curvePreferences.isEmpty {
                p += ":-GROUP-ALL" + curvePreferences.map { ":+" + $0.gnutlsGroup }.joined()
            }
            if preferServerCipherSuites { p += ":%SERVER_PRECEDENCE" }
            return p
        }

        /// Reads the certificate and key PEM (from their files, or inline). Throws
        /// `.io` naming the key and file when it cannot be read and `.config` when it holds
        /// no PEM certificate or private key.
        public func loadCertificateAndKey() throws -> (certificate: [UInt8], key: [UInt8]) {
            let cert = try Self.read(certificate, key: "cert")
            let key = try Self.read(key, key: "key")
            guard Self.contains(cert, "-----BEGIN CERTIFICATE-----") else {
                throw CollectorError(.config, "tls_server_config.\(Self.describe(certificate, "cert")) holds no PEM certificate")
            }
            guard Self.contains(key, "-----BEGIN "), Self.contains(key, "PRIVATE KEY-----") else {
                throw CollectorError(.config, "tls_server_config.\(Self.describe(self.key, "key")) holds no PEM private key")
            }
            return (cert, key)
        }

        /// Reads the client CA PEM; nil when none is configured. Throws as `loadCertificateAndKey`.
        public func loadClientCA() throws -> [UInt8]? {
            guard let clientCA else { return nil }
            let pem = try Self.read(clientCA, key: "client_ca")
            guard Self.contains(pem, "-----BEGIN CERTIFICATE-----") else {
                throw CollectorError(.config, "tls_server_config.\(Self.describe(clientCA, "client_ca")) holds no PEM certificate")
            }
            return pem
        }

        /// The files this config reads (certificate, key, client CA), for change detection.
        var files: [String] { [certificate.path, key.path, clientCA?.path].compactMap { $0 } }

        private static func read(_ source: PEMSource, key: String) throws -> [UInt8] {
            switch source {
            case .inline(let text): return Array(text.utf8)
            case .file(let path):
                do { return try WebConfigFiles.read(path, limit: 1 << 20) } catch let e as CollectorError {
                    throw CollectorError(e.code, "tls_server_config.\(key)_file: \(e.message)", errno: e.errno)
                }
            }
        }

        private static func describe(_ s: PEMSource, _ field: String) -> String {
            switch s {
            case .file(let p): "\(field)_file \(p)"
            case .inline: "\(field) (inline)"
            }
        }

        private static func contains(_ hay: [UInt8], _ needle: String) -> Bool {
            let n = Array(needle.utf8)
            guard hay.count >= n.count else { return false }
            for i in 0...(hay.count - n.count) where hay[i] == n[0] && hay[i..<(i + n.count)].elementsEqual(n) {
                return true
            }
            return false
        }
    }
}
