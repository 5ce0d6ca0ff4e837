import COrchSpawn
import Foundation
import Synchronization

/// A server process the live mode starts and stops itself (redis-server, PostgreSQL's
/// `pg_ctl`, reference-backends): spawned with `posix_spawn`, standard output and error
/// appended to a log file, standard input from /dev/null and no other descriptor inherited
/// (a server that inherited a pipe of ours would keep it open for its whole life); stopped
/// with SIGTERM, then SIGKILL after a grace period, and reaped with `waitpid`.
public final class ManagedProcess: Sendable {
    /// Where its standard output and error go.
    public let logPath: String
    /// The process id.
    public let pid: pid_t
    private let exited = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments`; output goes to `logPath` (appended).
    /// - Throws: `.process` when it cannot be spawned.
    public init(_ executable: String, _ arguments: [String], logPath: String) throws(LiveError) {
        self.logPath = logPath
        pid = try Self.spawn(executable, arguments, output: logPath)
    }

    /// Spawns `executable`; returns its pid.
    static func spawn(_ executable: String, _ arguments: [String], output: String) throws(LiveError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        orchlive_spawn_closefrom(&actions, 3)
        // Default signal dispositions and an empty mask (a parent that blocks or ignores
        // SIGTERM would otherwise pass that on, and the server would not stop), and a process
        // group of its own (a Ctrl-C on the terminal stops the orchestrator, which then stops
        // the server after reading its ground truth).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw LiveError(.process, "\(executable): cannot start: \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Whether it is still running (reaps it when it has exited).
    public var isRunning: Bool {
        exited.withLock { status in
            if status != nil { return false }
            var s: Int32 = 0
            let r = waitpid(pid, &s, WNOHANG)
            if r == pid || (r < 0 && errno == ECHILD) {
                status = s
                return false
            }
            return true
        }
    }

    /// The exit status as `waitpid` gave it, once it has exited (nil while running).
    public var waitStatus: Int32? {
        _ = isRunning
        return exited.withLock { $0 }
    }

    /// Waits for it to exit; its `waitpid` status.
    @discardableResult
    public func wait() -> Int32 {
        exited.withLock { status in
            if let status { return status }
            var s: Int32 = 0
            while true {
                let r = waitpid(pid, &s, 0)
                if r == pid || (r < 0 && errno != EINTR) { break }
            }
            status = s
            return s
        }
    }

    /// The tail of its log (for error messages).
    public func logTail(_ bytes: Int = 2_000) -> String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "" }
        return String(decoding: data.suffix(bytes), as: UTF8.self)
    }

    /// Sends SIGTERM and waits for it to exit (SIGKILL after `grace` seconds). Idempotent.
    public func stop(grace: Double = 10) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning && Date() < deadline { usleep(5_000) }
        if isRunning {
            kill(pid, SIGKILL)
            wait()
        }
    }

    deinit { stop() }
}

/// Process helpers of the managed servers.
enum Host {
    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { return 0 }
        let named = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        guard named == 0 else { return 0 }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The first executable named `name` on PATH or in `extra` directories.
    static func find(_ name: String, extra: [String] = []) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + extra {
            let candidate = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a command to completion; its exit code (128 + signal when killed) and combined
    /// output. The output goes through a file, not a pipe: a server the command starts in the
    /// background (`pg_ctl start`) would hold a pipe open and the read would never end.
    static func run(_ executable: String, _ arguments: [String]) throws(LiveError) -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.path + "/orchlive-run-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(out) }
        let p = try ManagedProcess(executable, arguments, logPath: out)
        let s = p.wait()
        let code: Int32 = (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
        return (code, p.logTail(8_000))
    }

    /// Polls `ready` every 20 ms until it is true or `timeout` seconds pass.
    static func wait(timeout: Double, _ ready: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if ready() { return true }
            usleep(20_000)
        }
        return ready()
    }
}
