import Foundation
import Glibc
import OrchLog
import OrchMetrics

/// What a checkpoint holds: the aggregated metrics, the state tracker, and each source's read
/// position — written together, so a restart resumes exactly where the state was taken.
struct Checkpoint: Codable {
    static let currentVersion = 1

    struct Source: Codable {
        var name: String
        var path: String
        var position: LogPosition
        var lastEventTs: UInt64
        /// The gauge values this directory last gave (a source group's gauges combine its
        /// instances' values); nil in checkpoints written before groups.
        var gauges: [Gauge]? = nil
    }

    /// One gauge series' value as one instance last set it.
    struct Gauge: Codable {
        var family: String
        var labels: [String]
        var value: Double
    }

    var version: Int
    var writtenAt: Double
    /// The `--log.dir` set it was written for, as absolute paths, sorted (nil in checkpoints
    /// written before the set was recorded: adopted as they are).
    var logDirs: [String]?
    /// The `--source.group` rule it was written with ("" for none; nil in checkpoints written
    /// before the rule was recorded: adopted as they are). Its series are the groups'.
    var sourceGroup: String?
    var sources: [Source]
    var metrics: MetricSnapshot
    /// The state tracker, binary-packed (base64 in JSON) to keep checkpoints small.
    var tracker: Data

    /// Writes atomically: temp file, fsync, rename, fsync of the directory. A crash at any
    /// moment leaves either the old or the new checkpoint, never a half-written one.
    /// - Throws: `CollectorError(.io)` naming the file.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        let data: Data
        do { data = try encoder.encode(self) } catch { throw CollectorError(.io, "\(path): cannot encode checkpoint: \(error)") }
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw CollectorError.system("checkpoint \(tmp)") }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(tmp) }
        }
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw CollectorError.system("checkpoint \(tmp)") }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw CollectorError.system("fsync \(tmp)") }
        guard rename(tmp, path) == 0 else { throw CollectorError.system("rename \(tmp) to \(path)") }
        ok = true
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Removes `PATH.tmp.PID` files left by collectors killed while writing a checkpoint
    /// (PID no longer running), so crashes do not pile up temporaries on the state disk.
    static func removeStaleTemporaries(for path: String) {
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".tmp."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + name) }
        }
    }

    /// Reads a checkpoint; nil when the file does not exist.
    /// - Throws: `CollectorError(.corrupt)` when it exists but cannot be used.
    static func read(from path: String) throws -> Checkpoint? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CollectorError(.io, "\(path): cannot read checkpoint: \(error.localizedDescription)")
        }
        let checkpoint: Checkpoint
        do { checkpoint = try JSONDecoder().decode(Checkpoint.self, from: data) } catch {
            throw CollectorError(.corrupt, "\(path): not a valid checkpoint (\(error)); move it away to start counting from scratch")
        }
        guard checkpoint.version == currentVersion else {
            throw CollectorError(.corrupt, "\(path): checkpoint version \(checkpoint.version) is not supported (expected \(currentVersion))")
        }
        return checkpoint
    }
}

extension Checkpoint {
    /// `--log.dir` values as a checkpoint records them: absolute, symlinks resolved where the
    /// path exists, `/` at the end dropped; sorted, without duplicates.
    static func canonical(_ dirs: [String]) -> [String] {
        let cwd = FileManager.default.currentDirectoryPath
        return Array(Set(dirs.map { dir -> String in
            let absolute = dir.hasPrefix("/") ? dir : cwd + "/" + dir
            if let real = realpath(absolute, nil) {
                defer { free(real) }
                return String(cString: real)
            }
            return (absolute as NSString).standardizingPath
        })).sorted()
    }

    /// Refuses a checkpoint written for another `--log.dir` set or another `--source.group`.
    /// - Throws: `CollectorError(.invalidArgument)` saying what to do.
    func check(logDirs dirs: [String], sourceGroup rule: String?, path: String) throws {
        if let recorded = sourceGroup, recorded != rule ?? "" {
            func describe(_ r: String) -> String { r.isEmpty ? "no --source.group" : "--source.group \(r)" }
            throw CollectorError(.invalidArgument, """
                \(path) was written with \(describe(recorded)), not \(describe(rule ?? "")): its series \
                are those groups'. Give the same rule, another --checkpoint.file, or --checkpoint.reset \
                to start counting afresh (the old checkpoint is replaced at the first write)
                """)
        }
        guard let recorded = logDirs, recorded != dirs else { return }
        throw CollectorError(.invalidArgument, """
            \(path) was written for --log.dir \(recorded.joined(separator: ", ")), not \(dirs.joined(separator: ", ")): \
            its counts and read positions belong to those logs. Give the same --log.dir, another \
            --checkpoint.file, or --checkpoint.reset to start counting afresh (the old checkpoint is \
            replaced at the first write)
            """)
    }
}

/// The lock that keeps one collector per checkpoint: `flock` on `CHECKPOINT.lock`, which holds
/// the holder's pid; held for the life of the process.
enum CheckpointLock {
    /// Takes the lock (the descriptor stays open until exit).
    /// - Throws: `CollectorError(.io)` naming the holder's pid when another process has it.
    static func acquire(for path: String) throws -> Int32 {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw CollectorError(.io, "\(lockPath): cannot open the checkpoint lock: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, 31, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).filter(\.isNumber) : "?"
            throw CollectorError(.io, "\(path): another collector (pid \(pid)) uses this checkpoint; two would count every event twice (stop it, or give this one its own --checkpoint.file)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return fd
    }
}

extension StateTracker {
    /// Packs entries as little-endian u64 quintuples (key, version, at, previous, previousAt).
    func packed() -> Data {
        var words: [UInt64] = [UInt64(capacity)]
        for (key, e) in allEntries() { words += [key, e.version, e.committedAt, e.previousVersion, e.previousAt] }
        return words.withUnsafeBytes { Data($0) }
    }

    /// Unpacks what `packed` wrote; an empty or malformed blob gives an empty tracker.
    static func unpacked(_ data: Data, capacity: Int) -> StateTracker {
        var tracker = StateTracker(capacity: capacity)
        guard data.count % 8 == 0, data.count >= 8 else { return tracker }
        let words = data.withUnsafeBytes { raw in (0..<data.count / 8).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) } }
        var i = 1
        while i + 5 <= words.count {
            tracker.insert(words[i], Entry(version: words[i + 1], committedAt: words[i + 2], previousVersion: words[i + 3], previousAt: words[i + 4]))
            i += 5
        }
        return tracker
    }
}
