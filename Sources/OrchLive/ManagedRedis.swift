import Foundation

/// A throwaway `redis-server` on a free loopback port, with its files in a directory of its
/// own, no persistence; `stop()` (or deinit) shuts it down.
public final class ManagedRedis: Sendable {
    /// Where it listens.
    public let endpoint: RedisEndpoint
    /// Its working directory.
    public let directory: String
    private let process: ManagedProcess

    /// Starts `redis-server` in `directory` (created if missing) and waits until it answers
    /// PING. Retries on another port if the chosen one was taken meanwhile.
    public init(directory: String, executable: String? = nil) throws(LiveError) {
        guard let exe = executable ?? Host.find("redis-server") else {
            throw LiveError(.process, "redis-server not found on PATH (scripts/deps.sh installs it)")
        }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw LiveError(.process, "\(directory): \(error)")
        }
        self.directory = directory
        var lastError = LiveError(.process, "redis-server: did not start")
        for attempt in 0..<5 {
            let port = Host.freePort()
            let p = try ManagedProcess(exe, ["--port", String(port), "--bind", "127.0.0.1", "--dir", directory,
                                             "--save", "", "--appendonly", "no", "--daemonize", "no",
                                             "--protected-mode", "no", "--maxclients", "10000"],
                                       logPath: directory + "/redis-\(attempt).log")
            let ep = RedisEndpoint(host: "127.0.0.1", port: port)
            let up = Host.wait(timeout: 10) {
                guard p.isRunning, let c = try? RedisConnection(ep, timeoutMs: 500) else { return false }
                return (try? c.command(["PING"])) == .status("PONG")
            }
            if up {
                endpoint = ep
                process = p
                return
            }
            lastError = LiveError(.process, "redis-server on port \(port) did not start: \(p.logTail(500))")
            p.stop()
        }
        throw lastError
    }

    /// Shuts the server down (idempotent).
    public func stop() { process.stop() }

    deinit { stop() }
}
