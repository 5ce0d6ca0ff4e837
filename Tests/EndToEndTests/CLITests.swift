import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

@Suite struct CLITests {
    /// `tail --from-start` streams: it holds one block per source, not the whole log, so a
    /// log of any size can be printed (or copied through `orchlog ingest`) in bounded memory.
    @Test func tailFromStartStreamsInBoundedMemory() throws {
        let dir = TempDir("tail-stream")
        defer { dir.remove() }
        let events = 200_000
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "\(events)", "--seed", "3"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let few = try runMeasuringPeakRSS(binaryPath("orchlog"), ["tail", "-n", "5", dir.sub("root")], in: dir)
        let all = try runMeasuringPeakRSS(binaryPath("orchlog"), ["tail", "--from-start", "-o", "json", dir.sub("root")], in: dir)
        #expect(few.status == 0 && all.status == 0)
        // Buffering the log would cost ~265 bytes per event (50 MiB here) on top of the baseline.
        #expect(all.maxRSSKiB < few.maxRSSKiB + 16 * 1024, "peak RSS \(all.maxRSSKiB) KiB vs \(few.maxRSSKiB) KiB for -n 5")
        let printed = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        let seqs = try printed.stdout.split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["seq"] as! Int
        }
        #expect(seqs.count >= events)
        #expect(Set(seqs).count == seqs.count && seqs.min() == 1 && seqs.max() == seqs.count)
    }

    /// `tail --from-start` over a root merges its sources by time across many blocks of each
    /// (it streams them block by block rather than sorting the whole log).
    @Test func tailFromStartMergesSourcesByTimeAcrossBlocks() throws {
        let dir = TempDir("tail-merge")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.blockSize = 1024
        let t0: UInt64 = 1_700_000_000_000_000_000
        let n = 5_000
        for (i, name) in ["a", "b"].enumerated() {
            let log = try EventLog(directory: dir.sub("root/\(name)"), options: options)
            let q = log.label("q")
            // a at even microseconds, b at odd ones.
            for k in 0..<n { log.emit(.queueSample(queue: q, depth: UInt64(k), capacity: 1), at: t0 + UInt64(2 * k + i) * 1_000) }
            log.close()
            #expect(log.stats.blocksWritten > 10)
        }
        let r = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(r.status == 0, "\(r.stderr)")
        let sources = try r.stdout.split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["source"] as! String
        }
        #expect(sources.count == 2 * n)
        #expect(sources == (0..<(2 * n)).map { $0 % 2 == 0 ? "a" : "b" })
    }

    @Test func generateTailInspectVerifyAgreeWithTheSummary() throws {
        let dir = TempDir("cli")
        defer { dir.remove() }
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "30000", "--seed", "7", "--summary-json", dir.sub("summary.json")])
        #expect(gen.status == 0, "\(gen.stderr)")
        let summary = try readJSON(dir.sub("summary.json"))
        let events = summary["events"] as! Int
        #expect(events >= 30000)
        let byType = summary["by_type"] as! [String: Int]
        #expect(byType.values.reduce(0, +) == events)

        let all = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(all.status == 0)
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count == events)
        var counts: [String: Int] = [:]
        for line in lines {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            counts[obj["type"] as! String, default: 0] += 1
            #expect(obj["source"] as? String == "app")
            #expect((obj["ts"] as? String)?.hasSuffix("Z") == true)
            #expect(obj["seq"] is Int)
        }
        #expect(counts == byType)

        let last = try runTool("orchlog", ["tail", dir.sub("root")])
        #expect(last.stdout.split(separator: "\n").count == 10)
        #expect(!last.stdout.contains("\u{1B}["), "no color when stdout is not a terminal")

        let filtered = try runTool("orchlog", ["tail", "--from-start", "-o", "json", "--type", "tool_call", "--where", "outcome=timeout", dir.sub("root/app")])
        let filteredLines = filtered.stdout.split(separator: "\n")
        #expect(!filteredLines.isEmpty)
        #expect(filteredLines.allSatisfy { $0.contains("\"type\":\"tool_call\"") && $0.contains("\"outcome\":\"timeout\"") })

        let inspect = try runTool("orchlog", ["inspect", "-o", "json", dir.sub("root")])
        #expect(inspect.status == 0)
        let info = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(info["events"] as? Int == events)
        #expect(info["segments"] as? Int == 1)
        for key in ["blocks", "compressed_bytes", "raw_bytes", "first_ts", "last_ts"] { #expect(info[key] != nil, "\(key)") }
        #expect((info["compressed_bytes"] as! Int) < (info["raw_bytes"] as! Int))

        let verify = try runTool("orchlog", ["verify", dir.sub("root")])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// Label values come from the instrumented program (tool names, agent names, queue names):
    /// text output escapes control characters so a value can neither drive the terminal (ESC
    /// sequences) nor forge output lines (newline), and quotes such values so they read back
    /// unambiguously. JSON output escapes them too and stays valid JSON.
    @Test func tailEscapesControlCharactersInLabelsAndKeepsOneEventPerLine() throws {
        let dir = TempDir("tail-escape")
        defer { dir.remove() }
        // (NDJSON string literal, the exact text `tail` must print for it, the decoded value)
        let cases: [(json: String, text: String, value: String)] = [
            (#"crm\u001b[31mRED"#, #""crm\u{1B}[31mRED""#, "crm\u{1B}[31mRED"),
            (#"x\n2026-01-01T00:00:00.000000Z  fake  queue_sample        queue=forged"#,
             #""x\n2026-01-01T00:00:00.000000Z  fake  queue_sample        queue=forged""#,
             "x\n2026-01-01T00:00:00.000000Z  fake  queue_sample        queue=forged"),
            (#"nul\u0000byte"#, #""nul\u{0}byte""#, "nul\u{0}byte"),
            (#"cr\rtab\tbell\u0007"#, #""cr\rtab\tbell\u{7}""#, "cr\rtab\tbell\u{7}"),
            (#"del\u007fc1\u0085\u009b"#, #""del\u{7F}c1\u{85}\u{9B}""#, "del\u{7F}c1\u{85}\u{9B}"),
            (#"say \"hi\" C:\\dir"#, #""say \"hi\" C:\\dir""#, "say \"hi\" C:\\dir"),
            (#"\"quoted\""#, #""\"quoted\"""#, "\"quoted\""),
            (#"back\\n"#, #""back\\n""#, "back\\n"),
            (#"with space"#, #""with space""#, "with space"),
            (#""#, #""""#, ""),
            (#"plain-é☃"#, "plain-é☃", "plain-é☃"),
        ]
        var input = ""
        var expectedText: [String] = []
        for (i, c) in cases.enumerated() {
            let second = String(format: "%02d", i)  // in time order, so tail prints them in this order
            input += #"{"type":"queue_sample","ts":"2026-01-01T00:00:\#(second)Z","queue":"\#(c.json)","depth":\#(i),"capacity":9}"# + "\n"
            expectedText.append("2026-01-01T00:00:\(second).000000Z  svc     queue_sample        queue=\(c.text) depth=\(i) capacity=9 oldest_age=0ns enqueued=0")
        }
        let ingest = try runTool("orchlog", ["ingest", "--out", dir.sub("svc")], stdin: input)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(try readAll(dir.sub("svc")).compactMap { $0.text(of: "queue") } == cases.map(\.value), "stored as given")

        let text = try runTool("orchlog", ["tail", "--from-start", dir.sub("svc")])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == cases.count, "one line per event:\n\(text.stdout)")
        for (got, want) in zip(lines, expectedText) {
            #expect(got == want)
        }
        let controls = text.stdout.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        #expect(controls.isEmpty, "raw control characters in text output: \(controls.map(\.value))")

        let json = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("svc")])
        #expect(json.status == 0, "\(json.stderr)")
        let jsonLines = json.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(jsonLines.count == cases.count)
        let values = try jsonLines.map { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["queue"] as? String }
        #expect(values == cases.map(\.value), "JSON output decodes to the stored values")
        #expect(json.stdout.unicodeScalars.allSatisfy { ($0.value >= 0x20 || $0 == "\n") && !(0x7F...0x9F).contains($0.value) })
        #expect(json.stdout.contains(#""queue":"crm\u001b[31mRED""#) && json.stdout.contains(#""queue":"del\u007fc1\u0085\u009b""#))
    }

    /// A problem found in a segment names its location once, whichever tool reports it.
    @Test func aBadSegmentHeaderIsReportedWithItsPathOnce() throws {
        let dir = TempDir("header-crc")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "100"]).status == 0)
        let segment = try LogDirectory.segments(in: dir.sub("root/app"))[0].path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[20] ^= 0x01  // inside the writer id: covered by the header CRC
        try bytes.write(to: URL(fileURLWithPath: segment))
        let line = "\(segment):0: segment header CRC mismatch"

        let tail = try runTool("orchlog", ["tail", "--from-start", dir.sub("root/app")])
        #expect(tail.status == 1)
        #expect(tail.stderr == "orchlog: warning: \(line)\n")
        let verify = try runTool("orchlog", ["verify", dir.sub("root")])
        #expect(verify.status == 1)
        #expect(verify.stdout == line + "\n")
        let inspect = try runTool("orchlog", ["inspect", dir.sub("root")])
        #expect(inspect.status == 1)
        #expect(inspect.stderr == line + "\n")
        let collector = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")])
        #expect(collector.stderr.split(separator: "\n").contains("orchlog-collector: bad_segment: \(line)"), "\(collector.stderr)")
    }

    @Test func usageErrorsExitTwoAndNameTheProblem() throws {
        for args in [["tail"], ["tail", "--bogus", "/tmp"], ["tail", "--type", "nope", "/tmp"], ["tail", "--where", "nokey=1", "/tmp"],
                     ["tail", "-o", "xml", "/tmp"], ["generate"], ["frobnicate"], ["verify"], ["inspect", "a", "b"]] {
            let r = try runTool("orchlog", args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("orchlog: "), "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        }
        for cmd in ["tail", "inspect", "verify", "generate"] {
            let r = try runTool("orchlog", [cmd, "--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("Usage: orchlog \(cmd)"))
        }
    }

    @Test func badPathsGiveOneLineErrorsAndExitOne() throws {
        let dir = TempDir("badpaths")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("empty"), withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: dir.sub("plainfile")))
        try FileManager.default.createDirectory(atPath: dir.sub("garbage"), withIntermediateDirectories: true)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: dir.sub("garbage/0000000000000001.olog")))
        try FileManager.default.createDirectory(atPath: dir.sub("emptyseg"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.sub("emptyseg/0000000000000001.olog"), contents: Data())

        let missing = try runTool("orchlog", ["inspect", dir.sub("nope")])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("No such file or directory"))
        let empty = try runTool("orchlog", ["verify", dir.sub("empty")])
        #expect(empty.status == 0, "no sources yet: a warning (docs/exit-status.md)")
        #expect(empty.stderr.contains("no orchlog sources under"))
        let file = try runTool("orchlog", ["tail", dir.sub("plainfile")])
        #expect(file.status == 1)
        #expect(file.stderr.contains("not a directory"))
        let garbage = try runTool("orchlog", ["verify", dir.sub("garbage")])
        #expect(garbage.status == 1)
        #expect(garbage.stdout.contains("0000000000000001.olog:0: not an orchlog segment"))
        let garbageTail = try runTool("orchlog", ["tail", dir.sub("garbage")])
        #expect(garbageTail.status == 1)
        #expect(garbageTail.stderr.contains("not an orchlog segment"))
        let emptySeg = try runTool("orchlog", ["verify", dir.sub("emptyseg")])
        #expect(emptySeg.status == 1)
        #expect(emptySeg.stdout.contains("torn header"))
        let repaired = try runTool("orchlog", ["verify", "--repair", dir.sub("emptyseg")])
        #expect(repaired.status == 0, "\(repaired.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("emptyseg/0000000000000001.olog")))

        // An unreadable directory: root reads everything, so run the CLI as nobody.
        try FileManager.default.createDirectory(atPath: dir.sub("locked/src"), withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        chmod(dir.sub("locked"), 0o700)
        let denied = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binaryPath("orchlog"), "inspect", dir.sub("locked")])
        #expect(denied.status == 1, "\(denied.stderr)")
        #expect(denied.stderr.contains("Permission denied"))
    }

    @Test func tornTailIsReportedThenRepairedAtSampledOffsets() throws {
        let dir = TempDir("torn")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "50000"]).status == 0)
        let segment = try LogDirectory.segments(in: dir.sub("src"))[0].path
        let original = try Data(contentsOf: URL(fileURLWithPath: segment))
        let (start, header) = try #require(try segmentFrames(segment).last)
        let eventsBefore = Int(header.firstSeq) - 1
        for cut in [start + 1, start + 20, start + 44, start + 45, start + Int64(header.frameLength) - 1] {
            try original.prefix(Int(cut)).write(to: URL(fileURLWithPath: segment))
            let verify = try runTool("orchlog", ["verify", dir.sub("src")])
            #expect(verify.status == 1)
            #expect(verify.stdout.contains("\(segment):\(start): torn tail"), "\(verify.stdout)")
            let repair = try runTool("orchlog", ["verify", "--repair", dir.sub("src")])
            #expect(repair.status == 0, "\(repair.stdout)")
            #expect(repair.stdout.contains("repaired: cut \(cut - start) bytes"), "\(repair.stdout)")
            #expect(try runTool("orchlog", ["verify", dir.sub("src")]).status == 0)
            #expect(try readAll(dir.sub("src")).count == eventsBefore)
        }
    }

    @Test func flippedByteIsReportedByVerifyAndSkippedByTailWithAWarning() throws {
        let dir = TempDir("flipcli")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "40000"]).status == 0)
        let segment = try LogDirectory.segments(in: dir.sub("src"))[0].path
        let frames = try segmentFrames(segment)
        #expect(frames.count >= 3)
        let (victim, header) = frames[frames.count / 2]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[Int(victim) + 100] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: segment))

        let verify = try runTool("orchlog", ["verify", "--repair", dir.sub("src")])
        #expect(verify.status == 1, "corruption in the middle is not repairable")
        #expect(verify.stdout.contains("\(segment):\(victim): CRC mismatch"))
        let tail = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("src")])
        #expect(tail.status == 1)
        #expect(tail.stderr.contains("warning: \(segment):\(victim): CRC mismatch"))
        let total = frames.reduce(0) { $0 + Int($1.1.eventCount) }
        #expect(tail.stdout.split(separator: "\n").count == total - Int(header.eventCount))
    }

    @Test func writerKilledWithSIGKILLLeavesARepairableContiguousLog() throws {
        let dir = TempDir("kill")
        defer { dir.remove() }
        for iteration in 0..<15 {
            let daemon = try Daemon(binaryPath("orchlog"), ["generate", "--out", dir.sub("src"), "--events", "100000000", "--seed", "\(iteration)"], dir: dir, name: "gen")
            usleep(UInt32.random(in: 50_000...300_000))
            daemon.signal(SIGKILL)
            daemon.process.waitUntilExit()
            let repair = try runTool("orchlog", ["verify", "--repair", dir.sub("src")])
            #expect(repair.status == 0, "iteration \(iteration): \(repair.stdout)")
            let verify = try runTool("orchlog", ["verify", dir.sub("src")])
            #expect(verify.status == 0, "iteration \(iteration): \(verify.stdout)")
        }
        var problems: [LogProblem] = []
        let records = try readAll(dir.sub("src"), problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        #expect(!records.isEmpty)
        #expect(records.map(\.seq) == Array(1...UInt64(records.count)), "sequence carries on across crashes without gaps")
        // One segment per run, less any whose header a kill cut short (repair removes those).
        let segments = try LogDirectory.segments(in: dir.sub("src"))
        #expect(segments.count >= 1 && segments.count <= 15)
        #expect(zip(segments, segments.dropFirst()).allSatisfy { $1.number > $0.number })
    }

    @Test func secondGeneratorOnTheSameDirectoryFailsNamingIt() throws {
        let dir = TempDir("two")
        defer { dir.remove() }
        let first = try Daemon(binaryPath("orchlog"), ["generate", "--out", dir.sub("src"), "--rate", "100"], dir: dir, name: "first")
        #expect(Daemon.waitUntil { (try? LogDirectory.segments(in: dir.sub("src")).count) == 1 })
        let second = try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "10"])
        #expect(second.status == 1)
        #expect(second.stderr.contains(dir.sub("src")) && second.stderr.contains("another writer"), "\(second.stderr)")
        #expect(first.stop() == 0, "SIGTERM closes the generator cleanly")
        #expect(try runTool("orchlog", ["verify", dir.sub("src")]).status == 0)
    }

    @Test func tailFollowShowsNewEventsAndNewSources() throws {
        let dir = TempDir("follow")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("root"), withIntermediateDirectories: true)
        let tail = try Daemon(binaryPath("orchlog"), ["tail", "-f", "-o", "json", dir.sub("root")], dir: dir, name: "tail")
        usleep(300_000)
        let log = try EventLog(directory: dir.sub("root/late"))
        let agent = log.label("follow-me")
        log.emit(.invocationStarted(agent: agent, invocationID: 42))
        #expect(Daemon.waitUntil { tail.stdout.contains("\"agent\":\"follow-me\"") }, "\(tail.stdout)\(tail.stderr)")
        log.emit(.invocationStarted(agent: agent, invocationID: 43))
        #expect(Daemon.waitUntil { tail.stdout.contains("\"invocation_id\":43") })
        log.close()
        #expect(tail.stdout.contains("\"source\":\"late\""))
        tail.signal(SIGTERM)
    }

    @Test func colorOnlyOnATerminalAndNeverWithNoColor() throws {
        let dir = TempDir("color")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "100"]).status == 0)
        let cmd = "\(binaryPath("orchlog")) tail \(dir.sub("src"))"
        let tty = try run("/usr/bin/env", ["-u", "NO_COLOR", "/usr/bin/script", "-qec", cmd, "/dev/null"])
        #expect(tty.stdout.contains("\u{1B}["), "colored on a terminal")
        let noColor = try run("/usr/bin/script", ["-qec", cmd, "/dev/null"], environment: ["NO_COLOR": "1"])
        #expect(!noColor.stdout.contains("\u{1B}["))
        #expect(noColor.stdout.contains("invocation"))
    }
}

/// `--version` on every executable, in the shape exporters print, and the same values in
/// `orchlog_collector_build_info`; OpenMetrics metadata on the collector's families.
@Suite struct VersionAndMetadataTests {
    @Test func everyExecutableSaysItsVersionAndTheCollectorExposesTheSame() throws {
        var texts: [String] = []
        for tool in ["orchlog", "orchlog-collector", "reference-orchestrator"] {
            let r = try runTool(tool, ["--version"])
            #expect(r.status == 0 && r.stderr.isEmpty, "\(tool): \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(r.stdout)")
            #expect(lines.first?.hasPrefix("\(tool), version 0.1.0 (revision: ") == true, "\(r.stdout)")
            texts.append(lines.dropFirst().joined(separator: "\n"))
        }
        #expect(Set(texts).count == 1, "one build: \(texts)")
        let text = try runTool("orchlog-collector", ["--version"]).stdout
        func field(_ name: String) -> String? {
            text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + ":") }
                .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
        }
        let revision = try #require(text.firstMatch(of: /revision: ([0-9a-f]{40}(-dirty)?|unknown)\)/)?.1)
        let date = try #require(field("build date"))
        #expect(date.wholeMatch(of: /\d{8}-\d\d:\d\d:\d\d/) != nil, "\(date)")
        #expect(field("platform") == "linux/amd64" || field("platform") == "linux/arm64")

        let dir = TempDir("version")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/a"), "--events", "100"]).status == 0)
        let once = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--once"]).stdout
        let info = try #require(once.split(separator: "\n").first { $0.hasPrefix("orchlog_collector_build_info{") })
        #expect(info.contains("version=\"0.1.0\"") && info.contains("revision=\"\(revision)\"") && info.contains("build_date=\"\(date)\""), "\(info)")
        let swift = try #require(field("swift version")), platform = try #require(field("platform"))
        #expect(info.contains("swift=\"\(swift)\"") && info.contains("platform=\"\(platform)\""))
        #expect(once.contains("# TYPE orchlog_collector_build_info gauge\n"), "text 0.0.4 has no info type")
    }

    @Test func openMetricsCarriesUnitsAndTheInfoType() throws {
        let dir = TempDir("om-meta")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/a"), "--events", "500"]).status == 0)
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root")], dir: dir)
        defer { collector.stop() }
        let om = try curl(["-s", "-H", "Accept: application/openmetrics-text; version=1.0.0", "http://127.0.0.1:\(port)/metrics"]).stdout
        let families = om.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        let units = Set(om.split(separator: "\n").filter { $0.hasPrefix("# UNIT ") }.map { String($0.split(separator: " ")[2]) })
        #expect(families.count > 40)
        for name in families {
            let unit = ["seconds", "bytes"].first { name.hasSuffix("_" + $0) }
            #expect(units.contains(String(name)) == (unit != nil), "# UNIT for \(name)")
        }
        #expect(units.contains("orch_tool_call_duration_seconds") && units.contains("process_resident_memory_bytes"))
        #expect(om.contains("# TYPE orchlog_collector_build info\n") && om.contains("\norchlog_collector_build_info{"))
    }
}
