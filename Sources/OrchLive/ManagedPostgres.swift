import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster: `initdb` in a directory of its own, a server on a free
/// loopback port (Unix socket in the same directory), trust authentication for the
/// `orchlog` role; `stop()` (or deinit) stops it with `pg_ctl stop -m fast`.
///
/// PostgreSQL refuses to run as root; run as root, the cluster belongs to an unprivileged
/// user (`nobody` unless given) and every PostgreSQL command runs through `runuser`.
public final class ManagedPostgres: Sendable {
    /// A libpq connection string for the cluster's `postgres` database.
    public let dsn: String
    /// The port it listens on.
    public let port: Int
    /// Its directory (data in `data/`, socket and log beside it).
    public let directory: String
    private let binDir: String
    private let user: String?
    private let stopped = ManagedFlag()

    /// Where PostgreSQL's server programs are: PATH, else Debian's /usr/lib/postgresql/N/bin.
    static func binaryDirectory() -> String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        let debian = versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        guard let initdb = Host.find("initdb", extra: debian) else { return nil }
        let resolved = URL(fileURLWithPath: initdb).resolvingSymlinksInPath().deletingLastPathComponent().path
        return FileManager.default.isExecutableFile(atPath: resolved + "/pg_ctl") ? resolved : nil
    }

    /// Creates and starts a cluster in `directory` (created if missing).
    public init(directory: String, user: String = "nobody") throws(LiveError) {
        guard let bin = Self.binaryDirectory() else {
            throw LiveError(.process, "initdb / pg_ctl not found (scripts/deps.sh installs postgresql)")
        }
        binDir = bin
        self.directory = directory
        self.user = getuid() == 0 ? user : nil
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw LiveError(.process, "\(directory): \(error)")
        }
        if let owner = self.user {
            let chown = try Host.run("/bin/chown", ["-R", owner, directory])
            guard chown.status == 0 else { throw LiveError(.process, "chown \(owner) \(directory): \(chown.output)") }
        }
        let data = directory + "/data"
        let initdb = try Self.run(bin + "/initdb", ["-D", data, "-U", "orchlog", "--auth=trust", "-E", "UTF8", "--no-sync"], as: self.user)
        guard initdb.status == 0 else { throw LiveError(.process, "initdb \(data): \(initdb.output.suffix(800))") }
        var lastError = LiveError(.process, "postgres did not start")
        for _ in 0..<5 {
            let p = Host.freePort()
            let options = "-p \(p) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            let start = try Self.run(bin + "/pg_ctl", ["-D", data, "-l", directory + "/postgres.log", "-o", options, "-w", "-t", "30", "start"], as: self.user)
            if start.status == 0 {
                port = p
                dsn = "host=127.0.0.1 port=\(p) dbname=postgres user=orchlog connect_timeout=5"
                return
            }
            lastError = LiveError(.process, "pg_ctl start on port \(p): \(start.output.suffix(800))")
        }
        throw lastError
    }

    private static func run(_ exe: String, _ args: [String], as user: String?) throws(LiveError) -> (status: Int32, output: String) {
        guard let user else { return try Host.run(exe, args) }
        return try Host.run("/usr/sbin/runuser", ["-u", user, "--", exe] + args)
    }

    /// Stops the server (idempotent).
    public func stop() {
        guard stopped.set() else { return }
        _ = try? Self.run(binDir + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "-t", "30", "stop"], as: user)
    }

    deinit { stop() }
}

/// A flag that is set once.
final class ManagedFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// True the first time.
    func set() -> Bool { !flag.exchange(true, ordering: .acquiringAndReleasing) }
}
