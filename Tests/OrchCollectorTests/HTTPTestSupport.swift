import Foundation
import Glibc
@testable import OrchCollector
import OrchTestSupport
import Synchronization

/// What `curl` saw.
struct CurlResult {
    /// curl's exit code (0 on a completed HTTP exchange, whatever the status).
    var exitCode: Int32
    /// The HTTP status (0 when there was none).
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    var stderr: String

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Helpers for tests that talk to a real server with real tools.
enum HTTPTesting {
    /// Runs the real `curl` with `arguments` against `url`, writing headers and body to
    /// files in `dir` so that binary bodies survive.
    static func curl(_ url: String, _ arguments: [String] = [], in dir: TempDir) throws -> CurlResult {
        let id = UUID().uuidString.prefix(8)
        let headerFile = dir.sub("headers-\(id)")
        let bodyFile = dir.sub("body-\(id)")
        let r = try run("/usr/bin/curl", ["-sS", "--max-time", "20", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"]
                        + arguments + [url])
        let rawHeaders = (try? String(contentsOfFile: headerFile, encoding: .isoLatin1)) ?? ""
        // With several responses (redirects, 100-continue) keep the last block.
        let blocks = rawHeaders.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        var headers = HTTPHeaders()
        for line in (blocks.last ?? "").components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))).map { [UInt8]($0) } ?? []
        return CurlResult(exitCode: r.status, status: Int(r.stdout.trimmingCharacters(in: .whitespaces)) ?? 0,
                          headers: headers, body: body, stderr: r.stderr)
    }

    /// A TCP connection to 127.0.0.1:`port` (or ::1), left for the test to use and close.
    static func connectLoopback(_ port: UInt16, ipv6: Bool = false) -> Int32 {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var rc: Int32
        if ipv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            a.sin6_addr = in6addr_loopback
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Sends all of `text` on `fd`; false if the peer closed.
    @discardableResult
    static func sendAll(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Waits up to `seconds` for the peer to close `fd` (recv returns 0 or an error).
    static func waitForClose(_ fd: Int32, seconds: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, ms) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return true }
        }
        return false
    }

    /// Reads from `fd` until the peer closes it or `seconds` pass; returns what arrived.
    static func readUntilClose(_ fd: Int32, seconds: Double) -> [UInt8] {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(seconds)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, ms) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// A self-signed certificate for 127.0.0.1/localhost made by the real `openssl`.
    static func makeCertificate(in dir: TempDir, name: String = "server") throws -> (cert: String, key: String) {
        let cert = dir.sub("\(name).crt"), key = dir.sub("\(name).key")
        let r = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                             "-days", "2", "-subj", "/CN=localhost",
                                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        guard r.status == 0 else { throw CollectorError(.io, "openssl failed: \(r.stderr)") }
        return (cert, key)
    }

    /// Writes `text` to `path`.
    static func writeFile(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// A handler that serves `/metrics` (negotiated format, gzip when accepted), `/` and
/// `/-/healthy`, and 404 elsewhere; counts its calls.
final class HTTPTestHandler: Sendable {
    let calls = HTTPCallCounter()
    let metricsBody: String

    init(metricsBody: String = String(repeating: "orch_test_total{source=\"a\"} 1\n", count: 200)) {
        self.metricsBody = metricsBody
    }

    var handler: @Sendable (HTTPRequest) -> HTTPResponse {
        { [self] request in
            calls.increment()
            switch request.path {
            case "/metrics":
                let format = ContentNegotiation.format(accept: request.headers["Accept"])
                let r = HTTPResponse(status: 200, headers: ["Content-Type": format.contentType], body: Array(metricsBody.utf8))
                return r.compressed(for: request)
            case "/-/healthy":
                return .text(200, "Healthy\n")
            case "/":
                return HTTPResponse(status: 200, headers: ["Content-Type": "text/html; charset=utf-8"], body: Array("<html></html>".utf8))
            default:
                return .text(404, "Not Found\n")
            }
        }
    }
}

/// A thread-safe counter.
final class HTTPCallCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

/// A small deterministic generator (SplitMix64) for property tests.
struct HTTPTestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
