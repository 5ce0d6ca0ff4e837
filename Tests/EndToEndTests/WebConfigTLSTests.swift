import Foundation
import OrchTestSupport
import Testing

/// exporter-toolkit's `tls_server_config` against the built collector: a CA, server and client
/// certificates made with openssl, every `client_auth_type` exercised with curl client
/// certificates, cipher suites, versions and curves, and the file re-read for new connections.
@Suite struct WebConfigTLSTests {
    /// A collector serving HTTPS with `tlsExtra` appended to `tls_server_config`.
    struct Server {
        let daemon: Daemon
        let url: String
        let pki: TestPKI

        /// curl's exit status and HTTP status for `/-/healthy` with `args` (the CA trusted).
        func get(_ args: [String] = []) throws -> (exit: Int32, status: String, stderr: String) {
            let r = try curl(["-v", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.caCert] + args + [url])
            return (r.status, r.stdout, r.stderr)
        }

        /// True when a request with `args` got a 200.
        func accepts(_ args: [String] = []) throws -> Bool {
            let r = try get(args)
            return r.exit == 0 && r.status == "200"
        }
    }

    func writeWebConfig(_ pki: TestPKI, _ tlsExtra: String, rest: String = "") throws {
        try """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        \(tlsExtra)
        \(rest)
        """.write(toFile: pki.dir.sub("web.yml"), atomically: true, encoding: .utf8)
    }

    func start(_ pki: TestPKI, _ tlsExtra: String, rest: String = "") throws -> Server {
        try writeWebConfig(pki, tlsExtra, rest: rest)
        let dir = pki.dir
        if !FileManager.default.fileExists(atPath: dir.sub("root")) {
            #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "100"]).status == 0)
        }
        let (daemon, port) = try startCollector(["--log.dir", dir.sub("root"), "--web.config.file", dir.sub("web.yml")], dir: dir)
        return Server(daemon: daemon, url: "https://127.0.0.1:\(port)/-/healthy", pki: pki)
    }

    /// Go's `tls.ClientAuthType`: (no certificate, trusted, untrusted CA, trusted but not for
    /// client auth) → accepted?
    static let clientAuthCases: [(mode: String, none: Bool, trusted: Bool, untrusted: Bool, serverOnlyUsage: Bool)] = [
        ("NoClientCert", true, true, true, true),
        ("RequestClientCert", true, true, true, true),
        ("RequireAnyClientCert", false, true, true, true),
        ("VerifyClientCertIfGiven", true, true, false, false),
        ("RequireAndVerifyClientCert", false, true, false, false),
    ]

    @Test(arguments: 0..<5)
    func everyClientAuthTypeAcceptsAndRefusesAsGo(_ index: Int) throws {
        let c = Self.clientAuthCases[index]
        let dir = TempDir("mtls-\(c.mode)")
        defer { dir.remove() }
        let pki = try TestPKI(in: dir)
        let trusted = try pki.client("alice", sans: "DNS:alice.example")
        let untrusted = try pki.client("mallory", signedBy: "other-ca", sans: "DNS:alice.example")
        let serverOnly = try pki.client("eve", sans: "DNS:eve.example", usage: "serverAuth")
        let ca = c.mode == "NoClientCert" ? "" : "  client_ca_file: ca.crt"
        let server = try start(pki, "  client_auth_type: \(c.mode)\n\(ca)")
        defer { server.daemon.stop() }

        #expect(try server.accepts() == c.none, "\(c.mode) without a certificate")
        #expect(try server.accepts(trusted) == c.trusted, "\(c.mode) with a certificate of the client CA")
        #expect(try server.accepts(untrusted) == c.untrusted, "\(c.mode) with a certificate of another CA")
        #expect(try server.accepts(serverOnly) == c.serverOnlyUsage, "\(c.mode) with a certificate not for client auth")
        if !c.untrusted {
            #expect(server.daemon.waitForStderr("TLS handshake refused: client certificate: .*issuer is unknown") != nil)
        }
        // A refused handshake does not stop the service.
        #expect(try server.accepts(trusted))
        #expect(server.daemon.stop() == 0)
    }

    @Test func clientCAsWithoutAClientAuthPolicyAreRefusedAtStart() throws {
        let dir = TempDir("mtls-policy")
        defer { dir.remove() }
        let pki = try TestPKI(in: dir)
        try writeWebConfig(pki, "  client_ca_file: ca.crt")
        let r = try runTool("orchlog-collector", ["--log.dir", dir.path, "--web.listen-address", "127.0.0.1:0",
                                                  "--web.config.file", dir.sub("web.yml")])
        #expect(r.status == 1)
        #expect(r.stderr.contains("web config \(dir.sub("web.yml")): line 4: tls_server_config.client_ca_file: client CA's have been configured without a Client Auth Policy"), "\(r.stderr)")
    }

    @Test func clientAllowedSANsMatchExactlyOnVerifiedAndUnverifiedCertificates() throws {
        let dir = TempDir("mtls-sans")
        defer { dir.remove() }
        let pki = try TestPKI(in: dir)
        let alice = try pki.client("alice", sans: "DNS:alice.example,email:alice@example.org")
        let bob = try pki.client("bob", sans: "DNS:bob.example,URI:spiffe://example.org/bob,IP:10.1.2.3")
        let carol = try pki.client("carol", sans: "DNS:carol.example,DNS:alice.example.evil")
        let mallory = try pki.client("mallory", signedBy: "other-ca", sans: "DNS:alice.example")

        let verified = try start(pki, """
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              client_allowed_sans: [alice.example, 10.1.2.3]
            """)
        #expect(try verified.accepts(alice), "DNS SAN listed")
        #expect(try verified.accepts(bob), "IP SAN listed")
        #expect(try !verified.accepts(carol), "wrong SANs")
        #expect(try !verified.accepts(mallory), "listed SAN, untrusted CA")
        #expect(try !verified.accepts(), "no certificate")
        #expect(verified.daemon.waitForStderr(#"could not find allowed SANs in client cert, found: \["carol.example", "alice.example.evil"\]"#) != nil)
        #expect(verified.daemon.stop() == 0)

        // RequireAnyClientCert does not verify, but the SAN check still applies (Go's
        // VerifyPeerCertificate sees the raw certificates).
        let any = try start(pki, """
              client_auth_type: RequireAnyClientCert
              client_allowed_sans: ['spiffe://example.org/bob', alice.example]
            """)
        defer { any.daemon.stop() }
        #expect(try any.accepts(mallory), "listed SAN on an unverified certificate")
        #expect(try any.accepts(bob), "URI SAN listed")
        #expect(try !any.accepts(carol))
    }

    /// `cert`, `key` and `client_ca` given inline instead of files (upstream's inline test files).
    @Test func inlineCertificateKeyAndClientCA() throws {
        let dir = TempDir("mtls-inline")
        defer { dir.remove() }
        let pki = try TestPKI(in: dir)
        let alice = try pki.client("alice", sans: "DNS:alice.example")
        func block(_ path: String) throws -> String {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        }
        try """
        tls_server_config:
          cert: |
        \(try block(pki.serverCert))
          key: |
        \(try block(pki.serverKey))
          client_auth_type: RequireAndVerifyClientCert
          client_ca: |
        \(try block(pki.caCert))
        """.write(toFile: dir.sub("web.yml"), atomically: true, encoding: .utf8)
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "10"]).status == 0)
        let (daemon, port) = try startCollector(["--log.dir", dir.sub("root"), "--web.config.file", dir.sub("web.yml")], dir: dir)
        let server = Server(daemon: daemon, url: "https://127.0.0.1:\(port)/-/healthy", pki: pki)
        #expect(try server.accepts(alice))
        #expect(try !server.accepts())
        #expect(daemon.stop() == 0)
    }

    @Test func cipherSuitesVersionsAndCurvesAsGo() throws {
        let dir = TempDir("tls-ciphers")
        defer { dir.remove() }
        let pki = try TestPKI(in: dir)
        func suite(_ r: (exit: Int32, status: String, stderr: String)) -> String? {
            r.stderr.components(separatedBy: "\n").first { $0.contains("SSL connection using") }
                .map { String($0[$0.range(of: "using ")!.upperBound...]).trimmingCharacters(in: .whitespaces) }
        }

        let listed = try start(pki, "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]")
        // TLS 1.3 is not restricted by cipher_suites (Go cannot restrict it).
        #expect(suite(try listed.get(["--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"])) == "TLSv1.3 / TLS_CHACHA20_POLY1305_SHA256")
        // TLS 1.2 gets the server's first listed suite the client has…
        #expect(suite(try listed.get(["--tls-max", "1.2"])) == "TLSv1.2 / ECDHE-RSA-AES128-GCM-SHA256")
        #expect(suite(try listed.get(["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"])) == "TLSv1.2 / ECDHE-RSA-AES256-GCM-SHA384")
        // …and no suite that is not listed: not one TLS 1.3 keeps enabled, nor a CBC one.
        #expect(try !listed.accepts(["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305"]))
        #expect(try !listed.accepts(["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-SHA"]))
        #expect(listed.daemon.waitForStderr("TLS handshake refused: the client offers none of the allowed TLS 1.2 suites.*it would get ECDHE_RSA_CHACHA20_POLY1305") != nil)
        #expect(listed.daemon.stop() == 0)

        // Without cipher_suites, TLS 1.2 gets Go's defaults: ECDHE only, so no RSA key exchange
        // (which would also dodge curve_preferences).
        let tls12 = try start(pki, "  max_version: TLS12\n  curve_preferences: [CurveP384]")
        #expect(suite(try tls12.get()) == "TLSv1.2 / ECDHE-RSA-AES128-GCM-SHA256")
        #expect(try !tls12.accepts(["--ciphers", "AES128-GCM-SHA256"]), "RSA key exchange is not among Go's defaults")
        #expect(try !tls12.accepts(["--ciphers", "DHE-RSA-AES128-GCM-SHA256"]), "Go has no DHE")
        #expect(try tls12.accepts(["--curves", "P-384"]))
        #expect(try !tls12.accepts(["--curves", "X25519"]), "a curve not in curve_preferences")
        #expect(tls12.daemon.stop() == 0)

        let tls13 = try start(pki, "  min_version: TLS13\n  curve_preferences: [CurveP521]")
        #expect(suite(try tls13.get())?.hasPrefix("TLSv1.3 / ") == true)
        #expect(try !tls13.accepts(["--tls-max", "1.2"]), "below min_version")
        #expect(try tls13.accepts(["--curves", "P-521"]))
        #expect(try !tls13.accepts(["--curves", "P-384"]))
        #expect(tls13.daemon.stop() == 0)
    }

    /// Upstream's TestConfigReloading, and more: the file (and the certificate files it names)
    /// are read again for every new connection; a broken file refuses them (no fallback).
    @Test func theFileIsReadAgainForNewConnections() throws {
        let dir = TempDir("tls-reload")
        defer { dir.remove() }
        let pki = try TestPKI(in: dir)
        let alice = try pki.client("alice", sans: "DNS:alice.example")
        // RequireAndVerifyClientCert with no client_ca_file: the system trust store, which
        // knows nothing of our CA.
        let server = try start(pki, "  client_auth_type: RequireAndVerifyClientCert",
                               rest: "http_server_config:\n  headers:\n    X-Frame-Options: deny")
        defer { server.daemon.stop() }
        #expect(try !server.accepts())
        #expect(try !server.accepts(alice))

        try writeWebConfig(pki, "  client_auth_type: VerifyClientCertIfGiven",
                           rest: "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin")
        #expect(try server.accepts(), "the changed file takes effect for a new connection, without a restart")
        let headers = try curl(["-D", "-", "-o", "/dev/null", "--cacert", pki.caCert, server.url]).stdout
        #expect(headers.contains("X-Frame-Options: sameorigin"))

        try "tls_server_config: [\n".write(toFile: dir.sub("web.yml"), atomically: true, encoding: .utf8)
        #expect(try !server.accepts(), "a broken file refuses new connections, as upstream")
        #expect(server.daemon.waitForStderr(#"web config .*web\.yml: line \d+.*invalid YAML"#) != nil)

        // A renewed certificate (another CA's) is served to the next connection.
        let renewed = TempDir("tls-reload-renewed")
        defer { renewed.remove() }
        let other = try TestPKI(in: renewed)
        try FileManager.default.removeItem(atPath: pki.serverCert)
        try FileManager.default.copyItem(atPath: other.serverCert, toPath: pki.serverCert)
        try FileManager.default.removeItem(atPath: pki.serverKey)
        try FileManager.default.copyItem(atPath: other.serverKey, toPath: pki.serverKey)
        try writeWebConfig(pki, "")
        #expect(try !server.accepts(), "the old CA no longer matches")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "--cacert", other.caCert, server.url]).stdout == "200")
        #expect(server.daemon.stop() == 0)
    }
}
