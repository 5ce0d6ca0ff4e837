/// Turns libyaml's node tree into `WebConfig` values, strictly (exporter-toolkit's
/// `yaml.UnmarshalStrict`), with messages that name the file and line.
struct WebConfigParser {
    let name: String
    let directory: String

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

    func tls(_ node: YAMLNode) throws -> WebConfig.TLSServerConfig? {
        let m = try mapping(node, what: "tls_server_config", keys: [
            "cert", "key", "cert_file", "key_file", "client_auth_type", "client_ca_file", "client_ca",
            "cipher_suites", "curve_preferences", "min_version", "max_version", "prefer_server_cipher_suites",
            "client_allowed_sans",
        ])
        func str(_ key: String) throws -> String? {
            guard let n = m[key] else { return nil }
            let s = try string(n, what: "tls_server_config.\(key)")
            return (s?.isEmpty ?? true) ? nil : s
        }
        let certFile = try str("cert_file"), cert = try str("cert")
        let keyFile = try str("key_file"), key = try str("key")
        let clientAuth = try str("client_auth_type"), clientCAFile = try str("client_ca_file"), clientCA = try str("client_ca")

        // exporter-toolkit: TLS is on when any of these is set.
        guard certFile != nil || cert != nil || keyFile != nil || key != nil || clientAuth != nil
            || clientCAFile != nil || clientCA != nil
        else { return nil }

        switch clientAuth {
        case nil, "NoClientCert": break
        case "RequestClientCert", "RequireAnyClientCert", "RequireClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert":
            throw fail(m["client_auth_type"]!, "tls_server_config.client_auth_type \(clientAuth!) is not supported: libmicrohttpd does not verify client certificates (terminate mutual TLS in a proxy)", .unsupported)
        default:
            throw fail(m["client_auth_type"]!, "invalid tls_server_config.client_auth_type \"\(clientAuth!)\"")
        }
        if clientCAFile != nil || clientCA != nil {
            throw fail(m["client_ca_file"] ?? m["client_ca"]!, "client CAs are configured without a client auth policy")
        }
        if let n = m["client_allowed_sans"], try !stringList(n, what: "tls_server_config.client_allowed_sans").isEmpty {
            throw fail(n, "tls_server_config.client_allowed_sans is not supported: libmicrohttpd does not verify client certificates", .unsupported)
        }
        if let n = m["cipher_suites"], try !stringList(n, what: "tls_server_config.cipher_suites").isEmpty {
            throw fail(n, "tls_server_config.cipher_suites is not supported: GnuTLS cannot restrict to Go's cipher suite list; use min_version", .unsupported)
        }

        let certificate: WebConfig.PEMSource
        switch (certFile, cert) {
        case (let f?, nil): certificate = .file(resolve(f))
        case (nil, let c?): certificate = .inline(c)
        case (nil, nil): throw fail(node, "tls_server_config: missing one of cert or cert_file")
        case (_?, _?): throw fail(m["cert"]!, "tls_server_config: set only one of cert and cert_file")
        }
        let keySource: WebConfig.PEMSource
        switch (keyFile, key) {
        case (let f?, nil): keySource = .file(resolve(f))
        case (nil, let k?): keySource = .inline(k)
        case (nil, nil): throw fail(node, "tls_server_config: missing one of key or key_file")
        case (_?, _?): throw fail(m["key"]!, "tls_server_config: set only one of key and key_file")
        }
        var tls = WebConfig.TLSServerConfig(certificate: certificate, key: keySource)
        for (field, keyPath) in [("min_version", \WebConfig.TLSServerConfig.minVersion), ("max_version", \.maxVersion)] {
            guard let n = m[field], let s = try string(n, what: "tls_server_config.\(field)") else { continue }
            guard let v = WebConfig.TLSVersion(rawValue: s) else {
                throw fail(n, "unknown TLS version \"\(s)\" in tls_server_config.\(field) (expected TLS10, TLS11, TLS12 or TLS13)")
            }
            tls[keyPath: keyPath] = v
        }
        guard tls.minVersion <= tls.maxVersion else {
            throw fail(m["min_version"] ?? node, "tls_server_config.min_version \(tls.minVersion.rawValue) is above max_version \(tls.maxVersion.rawValue)")
        }
        if let n = m["prefer_server_cipher_suites"] {
            tls.preferServerCipherSuites = try bool(n, what: "tls_server_config.prefer_server_cipher_suites")
        }
        if let n = m["curve_preferences"] {
            let groups: [String: String] = ["CurveP256": "GROUP-SECP256R1", "CurveP384": "GROUP-SECP384R1",
                                            "CurveP521": "GROUP-SECP521R1", "X25519": "GROUP-X25519"]
            tls.gnutlsGroups = try stringList(n, what: "tls_server_config.curve_preferences").map { c in
                guard let g = groups[c] else {
                    throw fail(n, "unknown curve \"\(c)\" in tls_server_config.curve_preferences (expected CurveP256, CurveP384, CurveP521 or X25519)")
                }
                return g
            }
        }
        return tls
    }

    func headers(_ node: YAMLNode) throws -> [String: String] {
        var result: [String: String] = [:]
        let m = try mapping(node, what: "http_server_config.headers", keys: nil)
        for (k, v) in m.pairs {
            guard let allowed = WebConfig.configurableHeaders[k] else {
                throw fail(v, "HTTP header \"\(k)\" can not be configured (allowed: \(WebConfig.configurableHeaders.keys.sorted().joined(separator: ", ")))")
            }
            let value = try string(v, what: "http_server_config.headers.\(k)") ?? ""
            if let allowed, !allowed.contains(value) {
                throw fail(v, "invalid value \"\(value)\" for header \(k) (expected one of: \(allowed.joined(separator: ", ")))")
            }
            guard !value.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) else {
                throw fail(v, "header \(k) contains a line break")
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
                throw fail(v, "user \"\(user)\" in basic_auth_users has no password hash")
            }
            guard PasswordHasher.bcryptCost(hash) != nil else {
                throw fail(v, "the password hash of user \"\(user)\" is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 60 characters)")
            }
            result[user] = hash
        }
        return result
    }

    func rateLimit(_ node: YAMLNode) throws -> WebConfig.RateLimit? {
        let m = try mapping(node, what: "rate_limit", keys: ["interval", "burst"])
        var interval = 0.0
        var burst = 0
        if let n = m["interval"], let s = try string(n, what: "rate_limit.interval") {
            guard let d = parseGoDuration(s) else {
                throw fail(n, "rate_limit.interval \"\(s)\" is not a duration (like 1s, 500ms, 1m30s)")
            }
            interval = d
        }
        if let n = m["burst"], let s = try string(n, what: "rate_limit.burst") {
            guard let b = Int(s), b >= 0 else { throw fail(n, "rate_limit.burst \"\(s)\" is not a non-negative integer") }
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
