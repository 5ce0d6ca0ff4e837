import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// A small tmpfs mounted for one test (root only; `make test` runs as root in CI), with a
/// filler file that takes the free space and gives it back.
final class SmallDisk {
    let path: String
    var filler: String { path + "/filler" }

    init(_ path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        guard r.status == 0 else { throw TestFailure("mount tmpfs on \(path) (needs root): \(r.stderr)") }
    }

    /// Free bytes on the file system.
    var free: Int {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return 0 }
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// Writes the filler until only `leave` bytes remain free (0: until ENOSPC).
    func fill(leaving leave: Int = 0) throws {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TestFailure("open \(filler): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0xA5, count: 4096)
        while free > leave {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress!, min($0.count, max(1, free - leave))) }
            if n <= 0 { break }
        }
    }

    /// Gives the space back.
    func release() { unlink(filler) }

    func unmount() {
        _ = try? run("/bin/umount", [path])
    }
}

/// Sums the `events_dropped` counts a log recorded, by reason.
func recordedDrops(_ records: [EventRecord]) -> [String: UInt64] {
    var out: [String: UInt64] = [:]
    for r in records where r.type == .eventsDropped {
        out[r.text(of: "reason") ?? "?", default: 0] += r.number(of: "count") ?? 0
    }
    return out
}

@Suite struct DiskFullTests {
    @Test func writerKeepsEmittingWhileTheDiskFillsCountsDropsAndRecordsThemWhenSpaceReturns() throws {
        let dir = TempDir("diskfull")
        defer { dir.remove() }
        let disk = try SmallDisk(dir.sub("mnt"), size: "2m")
        defer { disk.unmount() }
        var options = EventLogOptions()
        options.flushAgeNs = 20_000_000
        let log = try EventLog(directory: disk.path + "/src", options: options)
        let agents = ["support", "billing", "triage"].map(log.label)
        let crm = log.label("crm")
        // Leave the writer a little room, so it fills the disk itself (partial frames included).
        try disk.fill(leaving: 192 << 10)

        var emitted = 0
        var slowestBatch = 0.0
        func batch(_ n: Int) {
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<n {
                // Incompressible-ish numbers, so the disk fills in a few hundred thousand events.
                let x = UInt64(emitted + i) &* 0x9E37_79B9_7F4A_7C15
                if i % 2 == 0 {
                    log.emit(.invocationStarted(agent: agents[i % 3], invocationID: x))
                } else {
                    log.emit(.toolCall(tool: crm, outcome: .success, latencyNs: x >> 20, fallbackUsed: false))
                }
            }
            slowestBatch = max(slowestBatch, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            emitted += n
        }
        var rounds = 0
        while log.stats.droppedDiskFull == 0 && rounds < 400 {
            batch(5_000)
            log.flush()  // returns even though the write fails
            rounds += 1
        }
        #expect(log.stats.droppedDiskFull > 0, "the disk filled after \(rounds) rounds: \(log.stats)")
        #expect(log.stats.lastError?.contains("No space left on device") == true, "\(String(describing: log.stats.lastError))")
        // Keep emitting into the full disk: every call returns, nothing is written.
        for _ in 0..<20 {
            batch(5_000)
            log.flush()
        }
        let droppedWhileFull = log.stats.droppedDiskFull
        #expect(droppedWhileFull >= 100_000)

        disk.release()
        batch(5_000)
        log.flush()
        log.close()
        let stats = log.stats
        #expect(stats.droppedDiskFull == droppedWhileFull, "space is back: nothing more dropped")

        var problems: [LogProblem] = []
        let records = try readAll(disk.path + "/src", problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        let ordinary = records.filter { $0.type != .eventsDropped }.count
        let drops = recordedDrops(records)
        #expect(drops["disk_full"] == stats.droppedDiskFull, "the drop count is in the log: \(drops)")
        #expect(UInt64(ordinary) + drops.values.reduce(0, +) == UInt64(emitted), "written + recorded drops == emitted")
        #expect(records.last?.type == .toolCall, "writing resumed after the space came back")
        let verify = try runTool("orchlog", ["verify", disk.path + "/src"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let collector = try runTool("orchlog-collector", ["--once", "--log.dir", disk.path + "/src"])
        #expect(parseExposition(collector.stdout)["orch_events_dropped_total{source=\"src\",reason=\"disk_full\"}"] == Double(stats.droppedDiskFull))
        print("disk-full[writer]: \(emitted) emitted, \(ordinary) written, \(stats.droppedDiskFull) dropped (disk_full) and recorded, slowest batch of 5,000 emits \(String(format: "%.4f", slowestBatch)) s")
    }

    @Test func generatorProcessOnAFullDiskNeverCrashesAndItsLogAccountsForEveryEvent() throws {
        let dir = TempDir("diskfull-gen")
        defer { dir.remove() }
        let disk = try SmallDisk(dir.sub("mnt"), size: "2m")
        defer { disk.unmount() }
        try disk.fill(leaving: 256 << 10)
        let gen = try Daemon(binaryPath("orchlog"), ["generate", "--out", disk.path + "/src", "--rate", "100000", "--seed", "5",
                                                     "--summary-json", dir.sub("summary.json")], dir: dir, name: "gen")
        #expect(gen.waitForStderr("(No space left on device)", timeout: 60) != nil, "the disk fills: \(gen.stderr)")
        usleep(500_000)  // keeps running on the full disk
        #expect(gen.process.isRunning)
        disk.release()
        usleep(500_000)
        let status = gen.stop()
        #expect(gen.process.terminationReason == .exit, "no crash: \(gen.stderr)")
        #expect(status == 1, "generate reports that events were dropped: \(gen.stderr)")
        #expect(gen.stderr.contains("dropped"))

        let summary = try readJSON(dir.sub("summary.json"))
        let emitted = UInt64(summary["events"] as! Int)
        var problems: [LogProblem] = []
        let records = try readAll(disk.path + "/src", problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        let ordinary = UInt64(records.filter { $0.type != .eventsDropped }.count)
        let drops = recordedDrops(records)
        #expect((drops["disk_full"] ?? 0) > 0, "\(drops)")
        #expect(ordinary + drops.values.reduce(0, +) == emitted, "written \(ordinary) + recorded drops \(drops) == emitted \(emitted)")
        #expect(try runTool("orchlog", ["verify", disk.path + "/src"]).status == 0)
    }

    @Test func collectorWithAFullCheckpointDiskKeepsServingAndReportsTheFailure() throws {
        let dir = TempDir("diskfull-cp")
        defer { dir.remove() }
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "10000", "--summary-json", dir.sub("app.json")])
        #expect(gen.status == 0)
        let events = Double(try readJSON(dir.sub("app.json"))["events"] as! Int)
        let disk = try SmallDisk(dir.sub("state"), size: "1m")
        defer { disk.unmount() }
        try disk.fill()
        let checkpoint = disk.path + "/collector.checkpoint"
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root"), "--checkpoint.file", checkpoint, "--checkpoint.interval", "0.1"], dir: dir)
        defer { collector.stop() }
        let url = "http://127.0.0.1:\(port)/metrics"
        #expect(collector.waitForStderr("(checkpoint failed: .*)") != nil, "\(collector.stderr)")
        #expect(collector.stderr.contains("No space left on device"), "\(collector.stderr)")
        var m: [String: Double] = [:]
        #expect(Daemon.waitUntil {
            m = parseExposition((try? curl(["-f", url]))?.stdout ?? "")
            return (m["orchlog_collector_checkpoint_errors_total"] ?? 0) >= 2
        }, "keeps serving and counts failures: \(m["orchlog_collector_checkpoint_errors_total"] ?? -1)")
        #expect(m["orchlog_collector_events_ingested_total{source=\"app\"}"] == events)
        #expect((m["orchlog_collector_checkpoint_writes_total"] ?? 0) == 0)
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/-/healthy"]).stdout == "200")
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
        // The checkpoint's lock (held by the running collector) stays; no temporary does.
        #expect(try FileManager.default.contentsOfDirectory(atPath: disk.path).sorted() == [(checkpoint as NSString).lastPathComponent + ".lock", "filler"].sorted(), "failed writes leave no temporaries")

        disk.release()
        #expect(Daemon.waitUntil {
            m = parseExposition((try? curl(["-f", url]))?.stdout ?? "")
            return (m["orchlog_collector_checkpoint_writes_total"] ?? 0) >= 1
        }, "checkpoints resume when space returns")
        #expect(collector.stop() == 0)
        #expect((try? readJSON(checkpoint)) != nil)
        let again = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--checkpoint.file", checkpoint])
        #expect(parseExposition(again.stdout)["orchlog_collector_events_ingested_total{source=\"app\"}"] == events, "restored, not double-counted")
    }
}
