import Foundation
import Glibc

/// One live run's servers: a redis-server and a reference-backends on free loopback ports.
struct LiveBenchWorld {
    let redis: ChildProcess
    let backends: ChildProcess
    let arguments: [String]

    init(backends path: String, dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard let server = ["/usr/bin/redis-server", "/usr/sbin/redis-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchError("redis-server not found (apt-get install redis-server)")
        }
        let redisPort = Self.freePort(), httpPort = Self.freePort()
        redis = try ChildProcess.spawn(server, ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                                "--dir", dir, "--protected-mode", "no"])
        backends = try ChildProcess.spawn(path, ["--listen", "127.0.0.1:\(httpPort)", "--latency-scale", "0", "--concurrency", "100000",
                                                 "--rpm", "1e12", "--tpm", "1e15"])
        for port in [redisPort, httpPort] where !Self.waitForListener(port) {
            redis.terminate()
            backends.terminate()
            throw BenchError("no server listening on 127.0.0.1:\(port) after 10 s")
        }
        arguments = ["--redis", "redis://127.0.0.1:\(redisPort)", "--tool-url", "http://127.0.0.1:\(httpPort)",
                     "--llm-url", "http://127.0.0.1:\(httpPort)/v1"]
    }

    func stop() {
        redis.terminate()
        backends.terminate()
    }

    /// A loopback TCP port that was free a moment ago.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts connections on 127.0.0.1:`port` within 10 s.
    static func waitForListener(_ port: Int) -> Bool {
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if rc == 0 { return true }
            usleep(50_000)
        }
        return false
    }
}
