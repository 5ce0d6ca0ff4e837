import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// The collector binary with `--web.config.file` (TLS, bcrypt basic auth), and the modes of the
/// files orchlog creates — checked end to end, as a user runs them. The HTTP layer's own
/// unit tests (HTTPServerTests) cover the server in isolation.
@Suite struct SecurityTests {
    /// A published bcrypt vector (Openwall crypt_blowfish): password "U*U", cost 5.
    static let hash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"

    func status(_ args: [String]) throws -> String {
        try curl(["-o", "/dev/null", "-w", "%{http_code}"] + args).stdout
    }

    @Test func withAWebConfigEveryEndpointButHealthyRequiresAuthOverTLS() throws {
        let dir = TempDir("auth")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "1000"]).status == 0)
        let cert = dir.sub("server.crt"), key = dir.sub("server.key")
        let ssl = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                                               "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        #expect(ssl.status == 0, "\(ssl.stderr)")
        try """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        basic_auth_users:
          alice: '\(Self.hash)'
        """.write(toFile: dir.sub("web.yml"), atomically: true, encoding: .utf8)
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root"), "--web.config.file", dir.sub("web.yml")], dir: dir)
        defer { collector.stop() }
        #expect(collector.stderr.contains("serving https://"))
        let base = "https://127.0.0.1:\(port)"
        let tls = ["--cacert", cert]

        #expect(try status(tls + [base + "/-/healthy"]) == "200", "liveness needs no credentials")
        let badCredentials: [(String, [String])] = [
            ("none", []),
            ("wrong password", ["-u", "alice:U*V"]),
            ("unknown user", ["-u", "mallory:U*U"]),
            ("empty password", ["-u", "alice:"]),
            ("malformed header", ["-H", "Authorization: Basic %%%"]),
            ("other scheme", ["-H", "Authorization: Bearer U*U"]),
        ]
        for path in ["/metrics", "/", "/-/ready", "/nope", "/metrics?format=x"] {
            for (what, args) in badCredentials {
                #expect(try status(tls + args + [base + path]) == "401", "\(path) with \(what) credentials")
            }
            #expect(try status(tls + ["-X", "POST", "-d", "x", base + path]) == "401", "POST \(path) without credentials")
            #expect(try status(tls + ["-I", base + path]) == "401", "HEAD \(path) without credentials")
        }
        let good = tls + ["-u", "alice:U*U"]
        #expect(Daemon.waitUntil { (try? status(good + [base + "/-/ready"])) == "200" })
        #expect(try status(good + [base + "/metrics"]) == "200")
        #expect(try status(good + [base + "/"]) == "200")
        #expect(try status(good + [base + "/nope"]) == "404")
        let body = try curl(good + [base + "/metrics"]).stdout
        #expect(body.contains("orchlog_collector_events_ingested_total{source=\"app\"} 1"))

        // Plain HTTP to the TLS port gets no HTTP answer, and the collector serves on.
        let plain = try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/metrics"])
        #expect(plain.status != 0 && plain.stdout == "000")
        #expect(try status(good + [base + "/metrics"]) == "200")
        #expect(collector.stop() == 0)
    }

    @Test func filesOrchlogCreatesAreNotWorldReadableEvenUnderAPermissiveUmask() throws {
        let dir = TempDir("modes")
        defer { dir.remove() }
        let checkpoint = dir.sub("state/collector.checkpoint")
        try FileManager.default.createDirectory(atPath: dir.sub("state"), withIntermediateDirectories: true)
        let script = """
        umask 000
        '\(binaryPath("orchlog"))' generate --out '\(dir.sub("root/app"))' --events 2000 || exit 1
        exec '\(binaryPath("orchlog-collector"))' --once --log.dir '\(dir.sub("root"))' --checkpoint.file '\(checkpoint)' >/dev/null
        """
        let r = try run("/bin/sh", ["-c", script])
        #expect(r.status == 0, "\(r.stderr)")
        var created = [dir.sub("root/app"), checkpoint]
        created += try FileManager.default.contentsOfDirectory(atPath: dir.sub("root/app")).map { dir.sub("root/app/\($0)") }
        #expect(created.contains { $0.hasSuffix(".lock") } && created.contains { $0.hasSuffix(".olog") })
        for path in created {
            var st = stat()
            #expect(stat(path, &st) == 0, "\(path)")
            #expect(st.st_mode & 0o007 == 0, "\(path) has mode \(String(st.st_mode & 0o777, radix: 8)): world-accessible")
        }
    }
}
