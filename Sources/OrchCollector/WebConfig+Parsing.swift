import OrchYAML
/// Turns libyaml's node tree into `WebConfig` values, strictly (exporter-toolkit's
/// `yaml.UnmarshalStrict`), with messages that name the file and line.
struct WebConfigParser {
    let name: String
    let directory: String

    /// The top-level keys (exporter-toolkit's `Config`).
    static let topKeys = ["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"]
    /// The keys of `http_server_config`.
    static let httpKeys = ["http2", "headers"]
    /// The keys of `rate_limit`.
    static let rateLimitKeys = ["interval", "burst"]

    func fail(_ node: YAMLNode, _ message: String, _ code: CollectorError.Code = .config) -> CollectorError {
        CollectorError(code, "\(name): line \(node.line): \(message)")
    }

    /// A mapping with string keys drawn from `keys` (nil: any key); null reads as empty.
    func mapping(_ node: YAMLNode, what: String, keys: Set<String>?) throws -> Map {
        if node.isNull { return Map() }
        guard case .mapping(let pairs) = node.kind else {
            throw fail(node, "\(what) must be a mapping, found \(node.kindName)")
        }
        var result = Map()
        for (k, v) in pairs {
            guard case .scalar(let key, _) = k.kind else {
                throw fail(k, "keys in \(what) must be strings, found \(k.kindName)")
            }
            if let keys, !keys.contains(key) {
                throw fail(k, "unknown key \"\(key)\" in \(what) (expected one of: \(keys.sorted().joined(separator: ", ")))")
            }
            guard result[key] == nil else { throw fail(k, "duplicate key \"\(key)\" in \(what)") }
            result.append(key, v)
        }
        return result
    }

    /// A scalar string; nil for null.
    func string(_ node: YAMLNode, what: String) throws -> String? {
        if node.isNull { return nil }
        guard case .scalar(let s, _) = node.kind else {
            throw fail(node, "\(what) must be a string, found \(node.kindName)")
        }
        return s
    }

    func bool(_ node: YAMLNode, what: String) throws -> Bool {
        if case .scalar(let s, plain: true) = node.kind {
            switch s {
            case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
            case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
            default: break
            }
        }
        throw fail(node, "\(what) must be true or false")
    }

    func stringList(_ node: YAMLNode, what: String) throws -> [String] {
        if node.isNull { return [] }
        guard case .sequence(let items) = node.kind else {
            throw fail(node, "\(what) must be a list, found \(node.kindName)")
        }
        return try items.map { item in
            guard let s = try string(item, what: "an entry of \(what)") else {
                throw fail(item, "an entry of \(what) is empty")
            }
            return s
        }
    }

    /// A relative path resolved against the config file's directory.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (directory == "." ? path : directory + "/" + path)
    }

    /// The keys `tls_server_config` takes (exporter-toolkit's `TLSConfig`).
    static let tlsKeys = [
        "cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file",
        "cipher_suites", "curve_preferences", "min_version", "max_version", "prefer_server_cipher_suites",
        "client_allowed_sans",
    ]

    func tls(_ node: YAMLNode) throws -> WebConfig.TLSServerConfig? {
        let m = try mapping(node, what: "tls_server_config", keys: Set(Self.tlsKeys))
        func str(_ key: String) throws -> String? {
            guard let n = m[key] else { return nil }
            let s = try string(n, what: "tls_server_config.\(key)")
            return (s?.isEmpty ?? true) ? nil : s
        }
        let certFile = try str("cert_file"), cert = try str("cert")
        let keyFile = try str("key_file"), key = try str("key")
        let clientAuthName = try str("client_auth_type"), clientCAFile = try str("client_ca_file"), clientCA = try str("client_ca")

        // exporter-toolkit: TLS is on when any of these is set.
        guard certFile != nil || cert != nil || keyFile != nil || key != nil || clientAuthName != nil
            || clientCAFile != nil || clientCA != nil
        else { return nil }

        var clientAuth = WebConfig.ClientAuth.noClientCert
        if let name = clientAuthName {
            guard let c = WebConfig.ClientAuth(goName: name) else {
                throw fail(m["client_auth_type"]!, "tls_server_config.client_auth_type: unknown value \"\(name)\" (expected one of: \(WebConfig.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            clientAuth = c
        }
        let certificate = try source(file: certFile, inline: cert, key: "cert", m, node)
        let keySource = try source(file: keyFile, inline: key, key: "key", m, node)
        var tls = WebConfig.TLSServerConfig(certificate: certificate, key: keySource)
        tls.clientAuth = clientAuth
        if clientCAFile != nil || clientCA != nil {
            tls.clientCA = try source(file: clientCAFile, inline: clientCA, key: "client_ca", m, node)
            guard clientAuth != .noClientCert else {
                throw fail(m["client_ca_file"] ?? m["client_ca"]!, "tls_server_config.client_ca_file: client CA's have been configured without a Client Auth Policy (set client_auth_type)")
            }
        }
        if let n = m["client_allowed_sans"] {
            let sans = try stringList(n, what: "tls_server_config.client_allowed_sans")
            tls.clientAllowedSANs = sans.isEmpty ? nil : sans
        }
        if let n = m["cipher_suites"] {
            tls.cipherSuites = try stringList(n, what: "tls_server_config.cipher_suites").map { name in
                guard let suite = WebConfig.CipherSuite.named(name) else {
                    throw fail(n, "tls_server_config.cipher_suites: unknown cipher \"\(name)\" (Go's names from tls.CipherSuites(), such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)")
                }
                return suite
            }
        }
        if let n = m["curve_preferences"] {
            tls.curvePreferences = try stringList(n, what: "tls_server_config.curve_preferences").map { name in
                guard let curve = WebConfig.Curve(rawValue: name) else {
                    throw fail(n, "tls_server_config.curve_preferences: unknown curve \"\(name)\" (expected one of: \(WebConfig.Curve.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return curve
            }
        }
        for (field, keyPath) in [("min_version", \WebConfig.TLSServerConfig.minVersion), ("max_version", \.maxVersion)] {
            guard let n = m[field], let s = try string(n, what: "tls_server_config.\(field)") else { continue }
            guard let v = WebConfig.TLSVersion(rawValue: s) else {
                throw fail(n, "tls_server_config.\(field): unknown TLS version \"\(s)\" (expected TLS10, TLS11, TLS12 or TLS13)")
            }
            tls[keyPath: keyPath] = v
        }
        guard tls.minVersion <= tls.maxVersion else {
            throw fail(m["min_version"] ?? node, "tls_server_config.min_version: \(tls.minVersion.rawValue) is above max_version \(tls.maxVersion.rawValue)")
        }
        if let n = m["prefer_server_cipher_suites"] {
            tls.preferServerCipherSuites = try bool(n, what: "tls_server_config.prefer_server_cipher_suites")
        }
        return tls
    }

    /// `<key>_file` or inline `<key>`: exactly one of them.
    private func source(file: String?, inline: String?, key: String, _ m: Map, _ node: YAMLNode) throws -> WebConfig.PEMSource {
        switch (file, inline) {
        case (let f?, nil): return .file(resolve(f))
        case (nil, let c?): return .inline(c)
        case (nil, nil): throw fail(node, "tls_server_config: missing one of \(key) or \(key)_file")
        case (_?, _?): throw fail(m[key]!, "tls_server_config.\(key): set only one of \(key) and \(key)_file")
        }
    }

    /// Go's HTTP/2 server refuses a TLS ≤ 1.2 cipher list without its required suite;
    /// exporter-toolkit then fails to start unless `http2: false`.
    func checkHTTP2Ciphers(_ tls: WebConfig.TLSServerConfig, http2: Bool, at node: YAMLNode) throws {
        guard http2, !tls.cipherSuites.isEmpty, tls.minVersion < .tls13 else { return }
        let required = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
        guard !tls.cipherSuites.contains(where: { required.contains($0.name) }) else { return }
        throw fail(node, "tls_server_config.cipher_suites: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of \(required.joined(separator: " or ")), or set http_server_config.http2: false)")
    }

    func headers(_ node: YAMLNode) throws -> [String: String] {
        var result: [String: String] = [:]
        let m = try mapping(node, what: "http_server_config.headers", keys: nil)
        for (k, v) in m.pairs {
            guard let allowed = WebConfig.configurableHeaders[k] else {
                throw fail(v, "http_server_config.headers: HTTP header \"\(k)\" can not be configured (allowed: \(WebConfig.configurableHeaders.keys.sorted().joined(separator: ", ")))")
            }
            let value = try string(v, what: "http_server_config.headers.\(k)") ?? ""
            if let allowed, !allowed.contains(value) {
                throw fail(v, "http_server_config.headers.\(k): invalid value for \(k) \"\(value)\" (expected one of: \(allowed.joined(separator: ", ")))")
            }
            guard !value.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) else {
                throw fail(v, "http_server_config.headers.\(k): the value contains a line break")
            }
            result[k] = value
        }
        return result
    }

    func users(_ node: YAMLNode) throws -> [String: String] {
        var result: [String: String] = [:]
        let m = try mapping(node, what: "basic_auth_users", keys: nil)
        for (user, v) in m.pairs {
            guard let hash = try string(v, what: "the password hash of user \"\(user)\"") else {
                throw fail(v, "basic_auth_users.\(user): user \"\(user)\" has no password hash")
            }
            guard PasswordHasher.bcryptCost(hash) != nil else {
                throw fail(v, "basic_auth_users.\(user): the password hash of user \"\(user)\" is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 60 characters)")
            }
            result[user] = hash
        }
        return result
    }

    func rateLimit(_ node: YAMLNode) throws -> WebConfig.RateLimit? {
        let m = try mapping(node, what: "rate_limit", keys: Set(Self.rateLimitKeys))
        var interval = 0.0
        var burst = 0
        if let n = m["interval"], let s = try string(n, what: "rate_limit.interval") {
            guard let d = parseGoDuration(s) else {
                throw fail(n, "rate_limit.interval: \"\(s)\" is not a duration (like 1s, 500ms, 1m30s)")
            }
            interval = d
        }
        if let n = m["burst"], let s = try string(n, what: "rate_limit.burst") {
            guard let b = Int(s), b >= 0 else { throw fail(n, "rate_limit.burst: \"\(s)\" is not a non-negative integer") }
            burst = b
        }
        return interval > 0 ? WebConfig.RateLimit(intervalSeconds: interval, burst: burst) : nil
    }

    /// Go's `time.ParseDuration` for non-negative values ("0", "1.5s", "1m30s", "250ms").
    func parseGoDuration(_ s: String) -> Double? {
        if s == "0" { return 0 }
        var rest = Substring(s)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let num = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !num.isEmpty, let value = Double(num) else { return nil }
            rest = rest.dropFirst(num.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs", "μs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += value * scale
        }
        return total.isFinite ? total : nil
    }

    /// String-keyed pairs in file order.
    struct Map {
        var pairs: [(key: String, value: YAMLNode)] = []
        subscript(_ key: String) -> YAMLNode? { pairs.first { $0.key == key }?.value }
        mutating func append(_ key: String, _ value: YAMLNode) { pairs.append((key, value)) }
    }
}
