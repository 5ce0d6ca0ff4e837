import Foundation
@testable import OrchCollector
import OrchTestSupport
import Testing

@Suite struct WebConfigTests {
    private static let hash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
    /// The priorities of Go's default TLS ≤ 1.2 suites (with TLS 1.3's ciphers kept).
    private static let goDefaultSuites = ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+AEAD:+SHA1"

    /// Parses `yaml` as if it were the file `/etc/orchlog/web.yml`.
    private func parse(_ yaml: String) throws -> WebConfig {
        try WebConfig.parse(Array(yaml.utf8), path: "/etc/orchlog/web.yml")
    }

    /// The error `yaml` fails with.
    private func failure(_ yaml: String) -> CollectorError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error as? CollectorError
        }
    }

    @Test func parsesEveryExporterToolkitField() throws {
        let c = try parse("""
            # comment
            tls_server_config:
              cert_file: tls/server.crt
              key_file: /abs/server.key
              client_auth_type: NoClientCert
              min_version: TLS13
              max_version: TLS13
              prefer_server_cipher_suites: false
              curve_preferences: [X25519, CurveP256]
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: sameorigin
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              alice: \(Self.hash)
              "bob": '\(Self.hash)'
            rate_limit:
              interval: 1m30s
              burst: 20
            """)
        #expect(c.path == "/etc/orchlog/web.yml")
        let tls = try #require(c.tls)
        #expect(tls.certificate == .file("/etc/orchlog/tls/server.crt"))
        #expect(tls.key == .file("/abs/server.key"))
        #expect(tls.minVersion == .tls13 && tls.maxVersion == .tls13)
        #expect(!tls.preferServerCipherSuites)
        #expect(tls.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1")
        #expect(c.http2 == false)
        #expect(c.headers == ["X-Frame-Options": "sameorigin", "Strict-Transport-Security": "max-age=31536000"])
        #expect(c.basicAuthUsers == ["alice": Self.hash, "bob": Self.hash])
        #expect(c.rateLimit == WebConfig.RateLimit(intervalSeconds: 90, burst: 20))
    }

    @Test func defaultsMatchExporterToolkit() throws {
        let c = try parse("tls_server_config:\n  cert: inline-cert\n  key: inline-key\n")
        let tls = try #require(c.tls)
        #expect(tls.certificate == .inline("inline-cert"))
        #expect(tls.minVersion == .tls12 && tls.maxVersion == .tls13 && tls.preferServerCipherSuites)
        // TLS ≤ 1.2 as Go by default: its ECDHE suites only (no RSA or DHE key exchange).
        #expect(tls.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" + Self.goDefaultSuites + ":%SERVER_PRECEDENCE")
        #expect(tls.restrictedSuites?.count == 10 && tls.restrictedSuites?.allSatisfy { $0.name.hasPrefix("TLS_ECDHE_") } == true)
        #expect(c.basicAuthUsers.isEmpty && c.headers.isEmpty && c.rateLimit == nil)
    }

    @Test func emptyAndNullSectionsMeanPlainHTTPWithoutAuth() throws {
        for yaml in ["", "\n# only a comment\n", "~", "tls_server_config:\nbasic_auth_users:\n",
                     "tls_server_config: {cert_file: ''}", "rate_limit: {interval: 0}"] {
            let c = try parse(yaml)
            #expect(c.tls == nil, "\(yaml)")
            #expect(c.basicAuthUsers.isEmpty, "\(yaml)")
            #expect(c.rateLimit == nil, "\(yaml)")
        }
    }

    @Test func relativePathsResolveAgainstTheConfigDirectory() throws {
        let c = try WebConfig.parse(Array("tls_server_config: {cert_file: a.crt, key_file: ../k/b.key}".utf8), path: "web.yml")
        #expect(c.tls?.certificate == .file("a.crt"))
        let d = try WebConfig.parse(Array("tls_server_config: {cert_file: a.crt, key_file: ../k/b.key}".utf8), path: "/srv/conf/web.yml")
        #expect(d.tls?.certificate == .file("/srv/conf/a.crt"))
        #expect(d.tls?.key == .file("/srv/conf/../k/b.key"))
    }

    @Test func unknownKeysAreErrorsNamingKeyAndLine() throws {
        let top = try #require(failure("basic_auth_users: {}\ntls_config:\n  cert_file: x\n"))
        #expect(top.code == .config)
        #expect(top.message.contains("/etc/orchlog/web.yml"))
        #expect(top.message.contains("line 2"))
        #expect(top.message.contains("\"tls_config\""))

        let nested = try #require(failure("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n"))
        #expect(nested.message.contains("line 4") && nested.message.contains("\"certfile\"") && nested.message.contains("tls_server_config"))

        let http = try #require(failure("http_server_config:\n  headerz: {}\n"))
        #expect(http.message.contains("\"headerz\""))
    }

    @Test func malformedYAMLIsAnErrorWithTheLine() throws {
        let e = try #require(failure("basic_auth_users:\n  alice: x\n   bob: [unclosed\n"))
        #expect(e.code == .config)
        #expect(e.message.hasPrefix("web config /etc/orchlog/web.yml: line "))
        #expect(e.message.contains("invalid YAML"))

        let tab = try #require(failure("tls_server_config:\n\tcert_file: x\n"))
        #expect(tab.message.contains("line 2"))

        let notUTF8 = try? WebConfig.parse([0x62, 0x3a, 0x20, 0xff, 0xfe, 0x0a], path: "w.yml")
        #expect(notUTF8 == nil)
    }

    @Test func wrongTypesDuplicatesAndMultipleDocumentsAreErrors() throws {
        #expect(failure("basic_auth_users: [alice, bob]")?.message.contains("basic_auth_users must be a mapping, found a sequence") == true)
        #expect(failure("- a\n- b\n")?.message.contains("the top level must be a mapping") == true)
        #expect(failure("tls_server_config: {cert_file: {a: b}, key_file: k}")?.message.contains("cert_file must be a string") == true)
        #expect(failure("http_server_config: {http2: maybe}")?.message.contains("http2 must be true or false") == true)
        let dup = try #require(failure("basic_auth_users:\n  alice: \(Self.hash)\n  alice: \(Self.hash)\n"))
        #expect(dup.message.contains("duplicate key \"alice\"") && dup.message.contains("line 3"))
        let docs = try #require(failure("basic_auth_users: {}\n---\nrate_limit: {}\n"))
        #expect(docs.message.contains("more than one YAML document"))
    }

    @Test func badPasswordHashesAreErrorsThatDoNotEchoTheHash() throws {
        for bad in ["plaintext", "$1$abc$def", "$2b$03$" + String(repeating: "a", count: 53), "$2b$10$short", "''",
                    "$2c$10$" + String(repeating: "a", count: 53)] {
            let e = try #require(failure("basic_auth_users:\n  alice: \(bad)\n"), "\(bad)")
            #expect(e.message.contains("user \"alice\""), "\(bad)")
            #expect(e.message.contains("line 2"), "\(bad)")
            if bad.count > 4 { #expect(!e.message.contains(bad), "\(bad)") }
        }
    }

    @Test func headersAreLimitedToExporterToolkitsList() throws {
        #expect(failure("http_server_config: {headers: {Server: x}}")?.message.contains("\"Server\" can not be configured") == true)
        #expect(failure("http_server_config: {headers: {X-Frame-Options: allow}}")?.message.contains("expected one of: deny, sameorigin") == true)
        #expect(failure("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n")?.message.contains("line break") == true)
    }

    /// Every error the parser can give, with the key it must name and its line.
    @Test func everyErrorNamesItsKeyAndLine() throws {
        let tls = "tls_server_config:\n  cert_file: c\n  key_file: k\n"
        let cases: [(yaml: String, message: String, line: Int)] = [
            ("tls_server_config:\n  key_file: k\n", "tls_server_config: missing one of cert or cert_file", 2),
            ("tls_server_config:\n  cert_file: c\n", "tls_server_config: missing one of key or key_file", 2),
            ("tls_server_config:\n  cert_file: ''\n  key_file: k\n", "missing one of cert or cert_file", 2),
            ("tls_server_config:\n  cert: ''\n  key_file: k\n", "missing one of cert or cert_file", 2),
            ("tls_server_config:\n  cert_file: c\n  key: ''\n", "missing one of key or key_file", 2),
            (tls + "  cert: x\n", "tls_server_config.cert: set only one of cert and cert_file", 4),
            (tls + "  key: x\n", "tls_server_config.key: set only one of key and key_file", 4),
            (tls + "  client_auth_type: Sometimes\n", "tls_server_config.client_auth_type: unknown value \"Sometimes\" (expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)", 4),
            (tls + "  client_ca_file: ca.pem\n", "tls_server_config.client_ca_file: client CA's have been configured without a Client Auth Policy", 4),
            (tls + "  client_ca: inline\n  client_auth_type: NoClientCert\n", "client CA's have been configured without a Client Auth Policy", 4),
            (tls + "  client_auth_type: RequestClientCert\n  client_ca: x\n  client_ca_file: y\n", "tls_server_config.client_ca: set only one of client_ca and client_ca_file", 5),
            (tls + "  client_allowed_sans: a.example\n", "tls_server_config.client_allowed_sans must be a list", 4),
            (tls + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048]\n", "tls_server_config.cipher_suites: unknown cipher \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048\"", 4),
            (tls + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", "unknown cipher \"TLS_RSA_WITH_RC4_128_SHA\"", 4),
            (tls + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n", "tls_server_config.cipher_suites: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher", 4),
            (tls + "  curve_preferences: [CurveP257]\n", "tls_server_config.curve_preferences: unknown curve \"CurveP257\" (expected one of: CurveP256, CurveP384, CurveP521, X25519)", 4),
            (tls + "  min_version: TLS111\n", "tls_server_config.min_version: unknown TLS version \"TLS111\"", 4),
            (tls + "  max_version: SSL3\n", "tls_server_config.max_version: unknown TLS version \"SSL3\"", 4),
            (tls + "  min_version: TLS13\n  max_version: TLS12\n", "tls_server_config.min_version: TLS13 is above max_version TLS12", 4),
            (tls + "  prefer_server_cipher_suites: sometimes\n", "tls_server_config.prefer_server_cipher_suites must be true or false", 4),
            (tls + "  cert_filse: x\n", "unknown key \"cert_filse\" in tls_server_config", 4),
            ("http_server_config:\n  http2: maybe\n", "http_server_config.http2 must be true or false", 2),
            ("http_server_config:\n  headers:\n    Content-Type: foo\n", "http_server_config.headers: HTTP header \"Content-Type\" can not be configured", 3),
            ("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "http_server_config.headers.X-Content-Type-Options: invalid value for X-Content-Type-Options \"sniff\" (expected one of: nosniff)", 3),
            ("http_server_config:\n  headers:\n    X-Frame-Options: foo\n", "http_server_config.headers.X-Frame-Options: invalid value for X-Frame-Options \"foo\" (expected one of: deny, sameorigin)", 3),
            ("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n", "http_server_config.headers.Content-Security-Policy: the value contains a line break", 3),
            ("basic_auth_users:\n  john: doe\n", "basic_auth_users.john: the password hash of user \"john\" is not a bcrypt hash", 2),
            ("basic_auth_users:\n  john:\n", "basic_auth_users.john: user \"john\" has no password hash", 2),
            ("rate_limit:\n  interval: soon\n", "rate_limit.interval: \"soon\" is not a duration", 2),
            ("rate_limit:\n  interval: 1s\n  burst: -1\n", "rate_limit.burst: \"-1\" is not a non-negative integer", 3),
            ("rate_limit:\n  every: 1s\n", "unknown key \"every\" in rate_limit", 2),
        ]
        for c in cases {
            let e = try #require(failure(c.yaml), "\(c.yaml)")
            #expect(e.code == .config, "\(c.yaml)")
            #expect(e.message.hasPrefix("web config /etc/orchlog/web.yml: line \(c.line): "), "\(e.message)")
            #expect(e.message.contains(c.message), "\(e.message)")
        }
    }

    @Test func allFiveClientAuthTypesWithGoSemantics() throws {
        let expected: [(String, WebConfig.ClientAuth, requests: Bool, requires: Bool, verifies: Bool)] = [
            ("NoClientCert", .noClientCert, false, false, false),
            ("RequestClientCert", .requestClientCert, true, false, false),
            ("RequireAnyClientCert", .requireAnyClientCert, true, true, false),
            ("RequireClientCert", .requireAnyClientCert, true, true, false),  // exporter-toolkit's old spelling
            ("VerifyClientCertIfGiven", .verifyClientCertIfGiven, true, false, true),
            ("RequireAndVerifyClientCert", .requireAndVerifyClientCert, true, true, true),
        ]
        for (name, mode, requests, requires, verifies) in expected {
            let c = try parse("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: \(name)\n")
            let tls = try #require(c.tls, "\(name)")
            #expect(tls.clientAuth == mode, "\(name)")
            #expect(tls.clientAuth.requests == requests && tls.clientAuth.requires == requires && tls.clientAuth.verifies == verifies, "\(name)")
            #expect(tls.clientCA == nil, "\(name)")
        }
        // client_auth_type alone turns TLS on (upstream's IsEnabled), then wants a certificate.
        #expect(failure("tls_server_config:\n  client_auth_type: RequestClientCert\n")?.message.contains("missing one of cert or cert_file") == true)

        let file = try parse("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca/clients.pem\n  client_allowed_sans: [a.example, 10.0.0.1]\n")
        #expect(file.tls?.clientCA == .file("/etc/orchlog/ca/clients.pem"))
        #expect(file.tls?.clientAllowedSANs == ["a.example", "10.0.0.1"])
        #expect(file.tls?.files == ["/etc/orchlog/c", "/etc/orchlog/k", "/etc/orchlog/ca/clients.pem"])
        let inline = try parse("tls_server_config:\n  cert: C\n  key: K\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca: PEM\n  client_allowed_sans: []\n")
        #expect(inline.tls?.clientCA == .inline("PEM"))
        #expect(inline.tls?.clientAllowedSANs == nil)
        #expect(inline.tls?.files == [])
    }

    @Test func cipherSuitesByGoNameBecomeGnuTLSPriorities() throws {
        // Go's whole tls.CipherSuites() list is accepted (upstream's allCiphers test file).
        let all = WebConfig.CipherSuite.all.map(\.name)
        #expect(all.count == 17 && Set(all).count == 17)
        let every = try parse("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [\(all.joined(separator: ", "))]\n")
        #expect(every.tls?.cipherSuites.map(\.name) == all)

        let some = try #require(try parse("""
            tls_server_config:
              cert_file: c
              key_file: k
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
              min_version: TLS12
              max_version: TLS12
            """).tls)
        #expect(some.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE")
        // With TLS 1.3 allowed its suites stay (Go cannot restrict them); the Finished check
        // keeps TLS 1.2 to the listed suites.
        var with13 = some
        with13.maxVersion = .tls13
        with13.cipherSuites = [try #require(WebConfig.CipherSuite.named("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA")),
                               try #require(WebConfig.CipherSuite.named("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))]
        #expect(with13.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+SHA1:+AEAD:%SERVER_PRECEDENCE")
        // TLS 1.3 names alone restrict nothing, as in Go.
        let only13 = try parse("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  min_version: TLS13\n")
        #expect(only13.tls?.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.3:%SERVER_PRECEDENCE")
        // Without HTTP/2, Go's HTTP/2 cipher requirement does not apply (upstream's noHTTP2 test file).
        let noHTTP2 = try parse("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n  max_version: TLS12\nhttp_server_config:\n  http2: false\n")
        #expect(noHTTP2.http2 == false)
        #expect(noHTTP2.tls?.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE")
        let order = try parse("tls_server_config:\n  cert_file: c\n  key_file: k\n  prefer_server_cipher_suites: false\n  curve_preferences: [CurveP521, CurveP384]\n  min_version: TLS10\n")
        #expect(order.tls?.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0" + Self.goDefaultSuites + ":-GROUP-ALL:+GROUP-SECP521R1:+GROUP-SECP384R1")
    }

    /// docs/deploying.md's table of web config keys lists exactly the keys the parser takes.
    @Test func deployingGuideTableListsEveryKey() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOfFile: root.appendingPathComponent("docs/deploying.md").path, encoding: .utf8)
        let section = try #require(doc.components(separatedBy: "<!-- web-config-keys -->").dropFirst().first)
        let rows = section.components(separatedBy: "<!-- /web-config-keys -->")[0].split(separator: "\n")
            .filter { $0.hasPrefix("| `") }
            .map { row in String(row.dropFirst(3).prefix { $0 != "`" }) }
        #expect(rows == WebConfig.keys)
    }

    @Test func rateLimitDurations() throws {
        #expect(try parse("rate_limit: {interval: 250ms, burst: 5}").rateLimit == .init(intervalSeconds: 0.25, burst: 5))
        #expect(try parse("rate_limit: {interval: 1h}").rateLimit == .init(intervalSeconds: 3600, burst: 0))
        #expect(try parse("rate_limit: {interval: 0, burst: 0}").rateLimit == nil)  // upstream's non-blocking file
        #expect(failure("rate_limit: {interval: 1s, burst: -1}")?.message.contains("burst") == true)
    }

    @Test func aliasBombsAndRecursiveAliasesFailFast() throws {
        var laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            laughs += "\(Character(UnicodeScalar(97 + i)!)): &\(Character(UnicodeScalar(97 + i)!)) ["
                + Array(repeating: "*\(Character(UnicodeScalar(96 + i)!))", count: 10).joined(separator: ", ") + "]\n"
        }
        let bomb = try #require(failure("basic_auth_users:\n  " + laughs.replacingOccurrences(of: "\n", with: "\n  ")))
        #expect(bomb.message.contains("more than") || bomb.message.contains("deeper"))
        // libyaml lets an anchored node refer to itself.
        let recursive = failure("basic_auth_users: &u {alice: *u}\n")
        #expect(recursive != nil)
    }

    @Test func loadReportsMissingAndUnreadableFiles() throws {
        let dir = TempDir("webcfg"); defer { dir.remove() }
        let missing = dir.sub("nope.yml")
        #expect {
            try WebConfig.load(path: missing)
        } throws: { e in
            guard let e = e as? CollectorError else { return false }
            return e.code == .io && e.message.contains(missing) && e.message.contains("No such file")
        }
        #expect {
            try WebConfig.load(path: dir.path)
        } throws: { e in
            (e as? CollectorError)?.message.contains("not a regular file") == true
        }
    }

    @Test func loadChecksCertificateAndKeyFiles() throws {
        let dir = TempDir("webcfg"); defer { dir.remove() }
        let (cert, key) = try HTTPTesting.makeCertificate(in: dir)
        let web = dir.sub("web.yml")

        try HTTPTesting.writeFile("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", to: web)
        #expect {
            try WebConfig.load(path: web)
        } throws: { e in
            guard let e = e as? CollectorError else { return false }
            return e.message.contains(web) && e.message.contains("tls_server_config.cert_file: " + dir.sub("missing.crt")) && e.message.contains("No such file")
        }

        try HTTPTesting.writeFile("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", to: web)
        #expect {
            try WebConfig.load(path: web)
        } throws: { e in
            (e as? CollectorError)?.message.contains("holds no PEM certificate") == true
        }

        try HTTPTesting.writeFile("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n", to: web)
        #expect {
            try WebConfig.load(path: web)
        } throws: { e in
            (e as? CollectorError)?.message.contains("holds no PEM private key") == true
        }

        try HTTPTesting.writeFile("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: somefile\n", to: web)
        #expect {
            try WebConfig.load(path: web)
        } throws: { e in
            (e as? CollectorError)?.message.contains("tls_server_config.client_ca_file: " + dir.sub("somefile") + ": cannot read") == true
        }
        try HTTPTesting.writeFile("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n", to: web)
        #expect {
            try WebConfig.load(path: web)
        } throws: { e in
            (e as? CollectorError)?.message.contains("tls_server_config.client_ca_file " + dir.sub("server.key") + " holds no PEM certificate") == true
        }

        try HTTPTesting.writeFile("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n", to: web)
        let ok = try WebConfig.load(path: web)
        #expect(ok.tls?.certificate == .file(cert))
        #expect(ok.tls?.key == .file(key))
    }

    @Test func arbitraryBytesNeverCrashTheParser() throws {
        var rng = HTTPTestRNG(seed: 42)
        let pieces = ["tls_server_config:", "basic_auth_users:", "  ", "\n", ": ", "- ", "&a ", "*a", "{", "}", "[", "]",
                      "'", "\"", "#", "---", "cert_file", "x", "\t", "? ", "!!str ", "|", ">"]
        for _ in 0..<2000 {
            var s: [UInt8] = []
            for _ in 0..<Int(rng.next() % 30) {
                if rng.next() % 5 == 0 {
                    s.append(UInt8(truncatingIfNeeded: rng.next()))
                } else {
                    s += Array(pieces[Int(rng.next() % UInt64(pieces.count))].utf8)
                }
            }
            _ = try? WebConfig.parse(s, path: "fuzz.yml")
        }
    }
}
