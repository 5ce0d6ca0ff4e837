import Foundation
import Glibc

/// A child process started with posix_spawn and reaped with wait4, so that its own CPU time
/// (user + system, all its threads) is read exactly — Foundation's `Process` reaps children
/// itself and does not give their rusage.
struct ChildProcess {
    let pid: pid_t
    let command: String

    /// Starts `path` with `arguments`; its standard output goes to `stdout` (created or
    /// truncated; /dev/null by default), standard error is inherited.
    /// - Throws: `BenchError` when posix_spawn fails.
    static func spawn(_ path: String, _ arguments: [String], stdout: String = "/dev/null") throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // The child starts with no signal blocked and SIGTERM/SIGINT at their defaults,
        // whatever this process inherited (a test runner's threads block them): the servers
        // the benchmark starts must end on `terminate()`.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw BenchError("posix_spawn \(path): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid, command: ([path] + arguments).joined(separator: " "))
    }

    /// Waits for the child to exit; returns its CPU seconds (user + system).
    /// - Throws: `BenchError` when it did not exit with status 0.
    func wait() throws -> Double {
        try waitUsage().cpuSeconds
    }

    /// Waits for the child to exit; returns its CPU seconds (user + system) and peak
    /// resident set in bytes.
    /// - Throws: `BenchError` when it did not exit with status 0.
    func waitUsage() throws -> (cpuSeconds: Double, peakRSSBytes: Double) {
        var status: Int32 = 0
        var usage = rusage()
        var got: pid_t
        repeat { got = wait4(pid, &status, 0, &usage) } while got < 0 && errno == EINTR
        guard got == pid else { throw BenchError("wait4 \(pid): errno \(errno)") }
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw BenchError("\(command) failed (wait status \(status))")
        }
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return (cpu, Double(usage.ru_maxrss) * 1024)
    }

    /// Stops a server child: SIGTERM, then reaps it whatever its exit status.
    func terminate() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        var got: pid_t
        repeat { got = waitpid(pid, &status, 0) } while got < 0 && errno == EINTR
    }

    /// The executable `name` beside this one (the build directory the benchmark was built in).
    static func sibling(_ name: String) throws -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let path = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("\(path) not found: build it beside orchlog-bench (swift build -c release)")
        }
        return path
    }
}
