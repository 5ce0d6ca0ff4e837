import Foundation
import Glibc
@testable import OrchCollector
import OrchTestSupport
import Synchronization
import Testing

@Suite struct HTTPServerTests {
    /// A server on a kernel-chosen loopback port with `HTTPTestHandler`.
    private func start(_ config: WebConfig? = nil, options: HTTPServer.Options = HTTPServer.Options(),
                       handler: HTTPTestHandler = HTTPTestHandler()) throws -> HTTPServer {
        try HTTPServer(listenAddress: "127.0.0.1:0", webConfig: config, options: options, handler: handler.handler)
    }

    @Test func servesMetricsWithContentTypeAndNegotiatedFormat() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let handler = HTTPTestHandler()
        let server = try start(handler: handler)
        defer { server.stop() }
        #expect(server.port != 0)
        let base = "http://127.0.0.1:\(server.port)"

        let plain = try HTTPTesting.curl(base + "/metrics", in: dir)
        #expect(plain.status == 200)
        #expect(plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(plain.text == handler.metricsBody)
        #expect(plain.headers["Content-Encoding"] == nil)

        let om = try HTTPTesting.curl(base + "/metrics", ["-H", "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"], in: dir)
        #expect(om.status == 200)
        #expect(om.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")

        let landing = try HTTPTesting.curl(base + "/", in: dir)
        #expect(landing.status == 200)
        #expect(landing.headers["Content-Type"] == "text/html; charset=utf-8")

        let missing = try HTTPTesting.curl(base + "/nope", in: dir)
        #expect(missing.status == 404)
        #expect(missing.headers["Content-Type"] == "text/plain; charset=utf-8")
    }

    @Test func headSendsHeadersWithoutBody() throws {
        let handler = HTTPTestHandler()
        let server = try start(handler: handler)
        defer { server.stop() }
        let fd = HTTPTesting.connectLoopback(server.port)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(HTTPTesting.sendAll(fd, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        let reply = String(decoding: HTTPTesting.readUntilClose(fd, seconds: 10), as: UTF8.self)
        let parts = reply.components(separatedBy: "\r\n\r\n")
        #expect(parts.count == 2)
        #expect(parts.first?.hasPrefix("HTTP/1.1 200") == true)
        #expect(parts.last == "")  // no body after the headers
        #expect(reply.contains("Content-Length: \(handler.metricsBody.utf8.count)\r\n"))
        #expect(reply.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
    }

    @Test func otherMethodsGet405WithAllowAndNeverReachTheHandler() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let handler = HTTPTestHandler()
        let server = try start(handler: handler)
        defer { server.stop() }
        let bigBody = String(repeating: "x", count: 100_000)
        for args in [["-X", "POST", "-d", "a=b"], ["-X", "DELETE"], ["-X", "PUT", "-d", "x"], ["-X", "OPTIONS"],
                     ["-X", "POST", "-H", "Expect: 100-continue", "--data-binary", bigBody], ["-X", "TRACE"], ["-X", "BREW"]] {
            let r = try HTTPTesting.curl("http://127.0.0.1:\(server.port)/metrics", args, in: dir)
            #expect(r.status == 405, "\(args.prefix(2))")
            #expect(r.headers["Allow"] == "GET, HEAD", "\(args.prefix(2))")
        }
        #expect(handler.calls.count == 0)
        // The server still answers normally afterwards.
        #expect(try HTTPTesting.curl("http://127.0.0.1:\(server.port)/metrics", in: dir).status == 200)
    }

    @Test func gzipOnlyWhenTheClientAcceptsIt() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let handler = HTTPTestHandler()
        let server = try start(handler: handler)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/metrics"

        let decoded = try HTTPTesting.curl(url, ["--compressed"], in: dir)
        #expect(decoded.status == 200)
        #expect(decoded.headers["Content-Encoding"] == "gzip")
        #expect(decoded.headers["Vary"] == "Accept-Encoding")
        #expect(decoded.text == handler.metricsBody)

        let raw = try HTTPTesting.curl(url, ["-H", "Accept-Encoding: gzip"], in: dir)
        #expect(raw.headers["Content-Encoding"] == "gzip")
        #expect(Array(raw.body.prefix(2)) == [0x1f, 0x8b])
        #expect(raw.body.count < handler.metricsBody.utf8.count)
        #expect(try Gzip.decompress(raw.body) == Array(handler.metricsBody.utf8))

        for refused in ["gzip;q=0", "identity", "deflate", "*;q=0"] {
            let r = try HTTPTesting.curl(url, ["-H", "Accept-Encoding: \(refused)"], in: dir)
            #expect(r.headers["Content-Encoding"] == nil, "\(refused)")
            #expect(r.text == handler.metricsBody, "\(refused)")
        }
    }

    @Test func basicAuthGuardsEveryPathButHealthy() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let alice = try PasswordHasher.hash(password: "wonderland", cost: 5)
        let bob = try PasswordHasher.hash(password: "builder", cost: 5)
        let config = WebConfig(basicAuthUsers: ["alice": alice, "bob": bob])
        let handler = HTTPTestHandler()
        let server = try start(config, handler: handler)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/metrics"

        let good = try HTTPTesting.curl(url, ["-u", "alice:wonderland"], in: dir)
        #expect(good.status == 200)
        #expect(try HTTPTesting.curl(url, ["-u", "bob:builder"], in: dir).status == 200)
        #expect(server.authenticationChecks == 2)

        let noColon = "Basic " + Data("alice".utf8).base64EncodedString()
        let failures: [(String, [String])] = [
            ("wrong password", ["-u", "alice:builder"]),
            ("unknown user", ["-u", "mallory:wonderland"]),
            ("missing header", []),
            ("not base64", ["-H", "Authorization: Basic !!!not-base64!!!"]),
            ("no colon", ["-H", "Authorization: \(noColon)"]),
            ("other scheme", ["-H", "Authorization: Bearer abc"]),
            ("empty", ["-H", "Authorization: Basic"]),
        ]
        for (what, args) in failures {
            let before = server.authenticationChecks
            let r = try HTTPTesting.curl(url, args, in: dir)
            #expect(r.status == 401, "\(what)")
            #expect(r.headers["WWW-Authenticate"] == "Basic realm=\"orchlog\"", "\(what)")
            // A rejection runs one bcrypt verification, as a wrong password does — or none when
            // the same credentials (or the same lack of them) were checked before.
            #expect(server.authenticationChecks - before <= 1, "\(what)")
        }
        // The wrong password, the unknown user and "no usable credentials" each cost one.
        #expect(server.authenticationChecks == 2 + 3)
        for (what, args) in failures {
            #expect(try HTTPTesting.curl(url, args, in: dir).status == 401, "\(what), again")
        }
        #expect(server.authenticationChecks == 2 + 3, "repeated failures are answered from the cache")
        // Paths that do not exist and other methods are not revealed without credentials.
        #expect(try HTTPTesting.curl("http://127.0.0.1:\(server.port)/nope", in: dir).status == 401)
        #expect(try HTTPTesting.curl(url, ["-X", "POST", "-d", "x"], in: dir).status == 401)
        #expect(try HTTPTesting.curl("http://127.0.0.1:\(server.port)/", in: dir).status == 401)

        let healthy = try HTTPTesting.curl("http://127.0.0.1:\(server.port)/-/healthy", in: dir)
        #expect(healthy.status == 200)
        #expect(handler.calls.count == 3)  // two good scrapes and /-/healthy
    }

    /// exporter-toolkit's cache: a bcrypt per distinct (user, hash, password), the hash part of
    /// the key; an unknown user costs a bcrypt against a dummy hash of the users' cost.
    @Test func basicAuthCachesResultsAndAnUnknownUserCostsABcrypt() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let alice = try PasswordHasher.hash(password: "wonderland", cost: 5)
        try HTTPTesting.writeFile("basic_auth_users:\n  alice: '\(alice)'\n", to: dir.sub("web.yml"))
        let hashes = HashLog()
        var options = HTTPServer.Options()
        options.passwordVerifier = { password, hash in
            hashes.append(hash)
            return PasswordHasher.verify(password: password, hash: hash)
        }
        let server = try start(try WebConfig.load(path: dir.sub("web.yml")), options: options)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/metrics"
        func status(_ user: String) throws -> Int { try HTTPTesting.curl(url, ["-u", user], in: dir).status }

        for _ in 0..<3 { #expect(try status("alice:wonderland") == 200) }
        #expect(hashes.all == [alice], "three scrapes, one bcrypt")

        #expect(try status("mallory:wonderland") == 401)
        let dummy = try #require(hashes.all.last)
        #expect(hashes.all.count == 2, "an unknown user costs a bcrypt too")
        #expect(dummy != alice && PasswordHasher.bcryptCost(dummy) == 5, "against a dummy hash of the users' cost")
        #expect(try status("mallory:wonderland") == 401)
        #expect(try status("alice:builder") == 401)
        #expect(try status("alice:builder") == 401)
        #expect(hashes.all.count == 3, "repeats are cached, failures too")

        // A new password in the file: the old one is checked again (the hash is in the key), and fails.
        let newHash = try PasswordHasher.hash(password: "looking-glass", cost: 5)
        try HTTPTesting.writeFile("basic_auth_users:\n  alice: '\(newHash)'\n", to: dir.sub("web.yml"))
        #expect(try status("alice:wonderland") == 401)
        #expect(try status("alice:looking-glass") == 200)
        #expect(hashes.all.suffix(2) == [newHash, newHash])
        #expect(server.authenticationChecks == 5)
    }

    /// exporter-toolkit reads the file for every request: headers and users change without a
    /// restart, and a broken file gives 500 (no fallback to the last good one) until fixed.
    @Test func theWebConfigFileIsReadAgainForRequests() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let web = dir.sub("web.yml")
        try HTTPTesting.writeFile("http_server_config:\n  headers:\n    X-Frame-Options: deny\n", to: web)
        let logged = HashLog()
        let server = try HTTPServer(listenAddress: "127.0.0.1:0", webConfig: try WebConfig.load(path: web),
                                    logger: { logged.append($0) }, handler: HTTPTestHandler().handler)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/metrics"
        #expect(try HTTPTesting.curl(url, in: dir).headers["X-Frame-Options"] == "deny")

        let hash = try PasswordHasher.hash(password: "pw", cost: 4)
        try HTTPTesting.writeFile("http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  bob: '\(hash)'\n", to: web)
        let denied = try HTTPTesting.curl(url, in: dir)
        #expect(denied.status == 401)
        #expect(denied.headers["X-Frame-Options"] == "sameorigin" && denied.headers["X-Content-Type-Options"] == "nosniff")
        #expect(try HTTPTesting.curl(url, ["-u", "bob:pw"], in: dir).status == 200)

        try HTTPTesting.writeFile("basic_auth_users: [\n", to: web)
        #expect(try HTTPTesting.curl(url, ["-u", "bob:pw"], in: dir).status == 500)
        #expect(try HTTPTesting.curl(url, ["-u", "bob:pw"], in: dir).status == 500)
        #expect(logged.all.filter { $0.contains("web config \(web): line") && $0.contains("invalid YAML") }.count == 1,
                "the error is logged once: \(logged.all)")

        try HTTPTesting.writeFile("", to: web)
        let fixed = try HTTPTesting.curl(url, in: dir)
        #expect(fixed.status == 200 && fixed.headers["X-Frame-Options"] == nil)
    }

    @Test func tlsServesHTTPSAndRefusesPlainHTTPCleanly() throws {
        let dir = TempDir("tls"); defer { dir.remove() }
        let (cert, _) = try HTTPTesting.makeCertificate(in: dir)
        let hash = try PasswordHasher.hash(password: "s3cret", cost: 4)
        // Relative paths resolve against the config file's directory.
        try HTTPTesting.writeFile("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            basic_auth_users:
              alice: \(hash)
            http_server_config:
              headers:
                X-Frame-Options: deny
                X-Content-Type-Options: nosniff
            """, to: dir.sub("web.yml"))
        let config = try WebConfig.load(path: dir.sub("web.yml"))
        let handler = HTTPTestHandler()
        let server = try start(config, handler: handler)
        defer { server.stop() }
        #expect(server.isTLS)
        let https = "https://127.0.0.1:\(server.port)"

        let ok = try HTTPTesting.curl(https + "/metrics", ["--cacert", cert, "-u", "alice:s3cret"], in: dir)
        #expect(ok.exitCode == 0, "\(ok.stderr)")
        #expect(ok.status == 200)
        #expect(ok.text == handler.metricsBody)
        #expect(ok.headers["X-Frame-Options"] == "deny")
        #expect(ok.headers["X-Content-Type-Options"] == "nosniff")

        let unauthorized = try HTTPTesting.curl(https + "/metrics", ["--cacert", cert], in: dir)
        #expect(unauthorized.status == 401)
        #expect(unauthorized.headers["X-Frame-Options"] == "deny")

        // Plain HTTP to the TLS port gets no HTTP response, and the server carries on.
        let plain = try HTTPTesting.curl("http://127.0.0.1:\(server.port)/metrics", in: dir)
        #expect(plain.status == 0)
        #expect(plain.exitCode != 0)
        #expect(try HTTPTesting.curl(https + "/-/healthy", ["--cacert", cert], in: dir).status == 200)

        // An untrusted certificate is rejected by the client (the server really presents ours).
        let untrusted = try HTTPTesting.curl(https + "/-/healthy", [], in: dir)
        #expect(untrusted.exitCode != 0)
    }

    @Test func tlsMinimumVersionIsEnforced() throws {
        let dir = TempDir("tls"); defer { dir.remove() }
        let (cert, key) = try HTTPTesting.makeCertificate(in: dir)
        var tls = WebConfig.TLSServerConfig(certificate: .file(cert), key: .file(key))
        tls.minVersion = .tls13
        let server = try start(WebConfig(tls: tls))
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/-/healthy"
        #expect(try HTTPTesting.curl(url, ["--cacert", cert], in: dir).status == 200)
        let old = try HTTPTesting.curl(url, ["--cacert", cert, "--tls-max", "1.2"], in: dir)
        #expect(old.exitCode != 0)
        #expect(old.status == 0)
    }

    @Test func oversizedHeadersAreRefusedAndTheServerKeepsServing() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let handler = HTTPTestHandler()
        let server = try start(handler: handler)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/metrics"

        // 100 KB of headers: 100 fields of 1 KB, read by curl from a file.
        let big = (0..<100).map { "X-Filler-\($0): " + String(repeating: "a", count: 1000) }.joined(separator: "\n")
        try HTTPTesting.writeFile(big, to: dir.sub("big-headers"))
        let r = try HTTPTesting.curl(url, ["-H", "@" + dir.sub("big-headers")], in: dir)
        #expect(r.status == 431, "status \(r.status) exit \(r.exitCode)")  // Request Header Fields Too Large

        // A 100 KB URL.
        let longURL = url + "?" + String(repeating: "q", count: 100_000)
        let l = try HTTPTesting.curl(longURL, [], in: dir)
        #expect(l.status == 414, "status \(l.status) exit \(l.exitCode)")  // URI Too Long

        #expect(handler.calls.count == 0)
        #expect(try HTTPTesting.curl(url, in: dir).status == 200)
    }

    @Test func manyIdleConnectionsDoNotStopService() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let server = try start()
        defer { server.stop() }
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<1000 {
            let fd = HTTPTesting.connectLoopback(server.port)
            #expect(fd >= 0)
            fds.append(fd)
        }
        // Some of them also start a request and never finish it.
        for fd in fds.prefix(300) { HTTPTesting.sendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n") }
        let r = try HTTPTesting.curl("http://127.0.0.1:\(server.port)/metrics", in: dir)
        #expect(r.status == 200)
    }

    @Test func slowClientsAreDisconnectedAfterTheTimeout() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        var options = HTTPServer.Options()
        options.connectionTimeoutSeconds = 1
        let server = try start(options: options)
        defer { server.stop() }
        let slow = HTTPTesting.connectLoopback(server.port)
        #expect(slow >= 0)
        defer { close(slow) }
        HTTPTesting.sendAll(slow, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        #expect(HTTPTesting.waitForClose(slow, seconds: 10))
        #expect(try HTTPTesting.curl("http://127.0.0.1:\(server.port)/metrics", in: dir).status == 200)
    }

    @Test func connectionLimitHoldsExtraClientsUntilIdleOnesTimeOut() throws {
        var options = HTTPServer.Options()
        options.connectionLimit = 4
        options.connectionTimeoutSeconds = 2
        let server = try start(options: options)
        defer { server.stop() }
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        for _ in 0..<4 { idle.append(HTTPTesting.connectLoopback(server.port)) }
        Thread.sleep(forTimeInterval: 0.3)  // let the server accept them

        let extra = HTTPTesting.connectLoopback(server.port)
        #expect(extra >= 0)
        defer { close(extra) }
        #expect(HTTPTesting.sendAll(extra, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        // At the limit, libmicrohttpd stops accepting: no answer while the idle ones hold the slots…
        var pfd = pollfd(fd: extra, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pfd, 1, 500) == 0)
        // …then the idle connections time out and the waiting client is served.
        let reply = String(decoding: HTTPTesting.readUntilClose(extra, seconds: 15), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        for fd in idle { #expect(HTTPTesting.waitForClose(fd, seconds: 5)) }
    }

    @Test func rateLimitAnswers429() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let server = try start(WebConfig(rateLimit: .init(intervalSeconds: 3600, burst: 2)))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/-/healthy"
        #expect(try HTTPTesting.curl(url, in: dir).status == 200)
        #expect(try HTTPTesting.curl(url, in: dir).status == 200)
        #expect(try HTTPTesting.curl(url, in: dir).status == 429)
    }

    @Test func ipv6LoopbackAndWildcardAddresses() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let v6 = try HTTPServer(listenAddress: "[::1]:0", webConfig: nil, handler: HTTPTestHandler().handler)
        defer { v6.stop() }
        #expect(try HTTPTesting.curl("http://[::1]:\(v6.port)/-/healthy", ["-g"], in: dir).status == 200)

        let any = try HTTPServer(listenAddress: ":0", webConfig: nil, handler: HTTPTestHandler().handler)
        defer { any.stop() }
        #expect(try HTTPTesting.curl("http://127.0.0.1:\(any.port)/-/healthy", in: dir).status == 200)
        #expect(try HTTPTesting.curl("http://[::1]:\(any.port)/-/healthy", ["-g"], in: dir).status == 200)
    }

    @Test func aBusyPortIsAClearStartupError() throws {
        let first = try start()
        defer { first.stop() }
        #expect {
            try HTTPServer(listenAddress: "127.0.0.1:\(first.port)", webConfig: nil, handler: HTTPTestHandler().handler)
        } throws: { error in
            guard let e = error as? CollectorError else { return false }
            return e.code == .io && e.message.contains("127.0.0.1:\(first.port)") && e.message.lowercased().contains("in use")
        }
    }

    @Test func badListenAddressesAreRejected() throws {
        for bad in ["", "9100", "localhost", "::1:9100", "[::1:9100", "host:99999", "host:-1", "host:abc", "[127.0.0.1]:80"] {
            #expect(throws: CollectorError.self, "\(bad)") { try ListenAddress.parse(bad) }
        }
        #expect(try ListenAddress.parse(":9464") == ListenAddress(host: "", port: 9464))
        #expect(try ListenAddress.parse("[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(try ListenAddress.parse("localhost:0") == ListenAddress(host: "localhost", port: 0))
        #expect(throws: CollectorError.self) {
            try HTTPServer(listenAddress: "no-such-host.invalid:0", webConfig: nil, handler: HTTPTestHandler().handler)
        }
    }

    @Test func stopClosesThePortAndIsIdempotent() throws {
        let dir = TempDir("http"); defer { dir.remove() }
        let server = try start()
        let url = "http://127.0.0.1:\(server.port)/-/healthy"
        #expect(try HTTPTesting.curl(url, in: dir).status == 200)
        server.stop()
        server.stop()
        let after = try HTTPTesting.curl(url, in: dir)
        #expect(after.exitCode != 0)
        #expect(after.status == 0)
    }

    @Test func tlsWithMismatchedKeyFailsAtStartup() throws {
        let dir = TempDir("tls"); defer { dir.remove() }
        let (cert, _) = try HTTPTesting.makeCertificate(in: dir, name: "one")
        let (_, otherKey) = try HTTPTesting.makeCertificate(in: dir, name: "two")
        let tls = WebConfig.TLSServerConfig(certificate: .file(cert), key: .file(otherKey))
        #expect {
            try start(WebConfig(tls: tls))
        } throws: { error in
            (error as? CollectorError)?.message.contains("do not match") == true
        }
    }
}

/// Strings recorded from server threads (hashes a verifier saw, log lines).
final class HashLog: Sendable {
    private let items = Mutex<[String]>([])
    func append(_ s: String) { items.withLock { $0.append(s) } }
    var all: [String] { items.withLock { $0 } }
}
