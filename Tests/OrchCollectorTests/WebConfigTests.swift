import Foundation
@testable import OrchCollector
import OrchTestSupport
import Testing

@Suite struct WebConfigTests {
    private static let hash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"

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
        #expect(tls.gnutlsPriorities == "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE")
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

    @Test func inconsistentOrUnsupportedTLSSettingsAreErrors() throws {
        #expect(failure("tls_server_config: {key_file: k}")?.message.contains("missing one of cert or cert_file") == true)
        #expect(failure("tls_server_config: {cert_file: c}")?.message.contains("missing one of key or key_file") == true)
        #expect(failure("tls_server_config: {cert_file: c, cert: x, key_file: k}")?.message.contains("only one of cert and cert_file") == true)
        #expect(failure("tls_server_config: {cert_file: c, key_file: k, min_version: TLS14}")?.message.contains("unknown TLS version \"TLS14\"") == true)
        #expect(failure("tls_server_config: {cert_file: c, key_file: k, min_version: TLS13, max_version: TLS12}")?.message.contains("above max_version") == true)
        #expect(failure("tls_server_config: {cert_file: c, key_file: k, client_auth_type: Sometimes}")?.message.contains("invalid tls_server_config.client_auth_type") == true)
        #expect(failure("tls_server_config: {cert_file: c, key_file: k, curve_preferences: [P999]}")?.message.contains("unknown curve") == true)
        for unsupported in ["client_auth_type: RequireAndVerifyClientCert", "cipher_suites: [TLS_AES_128_GCM_SHA256]"] {
            let e = try #require(failure("tls_server_config: {cert_file: c, key_file: k, \(unsupported)}"))
            #expect(e.code == .unsupported, "\(unsupported)")
            #expect(e.message.contains("not supported"), "\(unsupported)")
        }
        #expect(failure("tls_server_config: {cert_file: c, key_file: k, client_ca_file: ca.pem}")?.message.contains("without a client auth policy") == true)
    }

    @Test func rateLimitDurations() throws {
        #expect(try parse("rate_limit: {interval: 250ms, burst: 5}").rateLimit == .init(intervalSeconds: 0.25, burst: 5))
        #expect(try parse("rate_limit: {interval: 1h}").rateLimit == .init(intervalSeconds: 3600, burst: 0))
        #expect(failure("rate_limit: {interval: soon}")?.message.contains("not a duration") == true)
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
            return e.message.contains(web) && e.message.contains("cert_file " + dir.sub("missing.crt")) && e.message.contains("No such file")
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
