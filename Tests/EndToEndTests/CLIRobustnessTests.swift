import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// What the `orchlog` CLI does with inputs a user or a disk can produce that used to give a
/// wrong or unclear result: filters that cannot match, output paths that cannot be written,
/// closed standard streams, hostile characters, torn and zero-filled tails, out-of-order
/// timestamps. Each test runs the built binaries as a user would.
@Suite struct CLIRobustnessTests {
    /// `tail -o json` output's values of `key`, in order.
    static func jsonValues(_ stdout: String, _ key: String) throws -> [Any] {
        try stdout.split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])[key]!
        }
    }

    @Test func filtersThatCannotMatchAreUsageErrorsNamingTheValueAndWhatIsAllowed() throws {
        let dir = TempDir("filters")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "3000"]).status == 0)
        // (arguments, what stderr must name)
        let bad: [([String], [String])] = [
            (["--where", "outcome=bogus"], ["outcome=bogus", "bogus", "success", "rate_limited"]),
            (["--type", "tool_call", "--where", "outcome=rate_limited"], ["rate_limited", "tool_call", "short_circuited"]),
            (["--where", "seq=abc"], ["seq=abc", "whole number"]),
            (["--where", "seq=-1"], ["seq=-1", "whole number"]),
            (["--where", "depth=1.5"], ["depth=1.5", "whole number"]),
            (["--where", "latency_ns=5xs"], ["latency_ns=5xs", "nanoseconds"]),
            (["--where", "fallback=yes"], ["fallback=yes", "true or false"]),
            (["--where", "type=nope"], ["type=nope", "unknown event type", "llm_request"]),
            (["--where", "source="], ["source=", "source name"]),
            (["--type", ""], ["--type \"\"", "llm_request"]),
            (["--type", ","], ["--type ,", "llm_request"]),
            (["--type", "queue_sample", "--where", "invocation_id=3"], ["invocation_id", "queue_sample", "invocation_started"]),
            (["--type", "llm_request", "--where", "type=tool_call"], ["type=tool_call", "llm_request"]),
            (["--where", "outcome=rate_limited", "--where", "fallback=true"], ["fallback=true", "llm_request"]),
        ]
        for (args, names) in bad {
            let r = try runTool("orchlog", ["tail"] + args + [dir.sub("src")])
            #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args)")
            #expect(r.stderr.hasPrefix("orchlog: ") && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
            for name in names { #expect(r.stderr.contains(name), "\(args) should name \(name): \(r.stderr)") }
        }
        // Filters that can match still do; numbers compare as numbers.
        let ok = try runTool("orchlog", ["tail", "--from-start", "-o", "json", "--type", "tool_call", "--where", "outcome=timeout", dir.sub("src")])
        #expect(ok.status == 0 && !ok.stdout.isEmpty, "\(ok.stderr)")
        let seq = try runTool("orchlog", ["tail", "-o", "json", "--where", "seq=0042", dir.sub("src")])
        #expect(try Self.jsonValues(seq.stdout, "seq") as? [Int] == [42], "\(seq.stdout)\(seq.stderr)")
        let flag = try runTool("orchlog", ["tail", "--from-start", "-o", "json", "--where", "fallback=true", dir.sub("src")])
        let fallbacks = try Self.jsonValues(flag.stdout, "fallback") as? [Bool]
        #expect(flag.status == 0 && !flag.stdout.isEmpty && fallbacks?.allSatisfy { $0 } == true)
        // A label value is anything: no match is an empty result, not an error.
        let label = try runTool("orchlog", ["tail", "--where", "tool=no-such-tool", dir.sub("src")])
        #expect(label.status == 0 && label.stdout.isEmpty && label.stderr.isEmpty, "\(label.stderr)")
    }

    @Test func outputPathsAreCheckedBeforeAnyWorkIsDone() throws {
        let dir = TempDir("outpaths")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("adir"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.sub("afile")))
        let cases: [(summary: String, why: String)] = [
            (dir.sub("missing/dir/x.json"), "directory \(dir.sub("missing/dir")) does not exist"),
            (dir.sub("afile/x.json"), "\(dir.sub("afile")) is not a directory"),
            (dir.sub("adir"), "it is a directory (give a file name)"),
        ]
        for c in cases {
            let gen = try runTool("orchlog", ["generate", "--out", dir.sub("log/src"), "--events", "200000", "--summary-json", c.summary])
            #expect(gen.status == 1, "\(c.summary): \(gen.stderr)")
            #expect(gen.stderr == "orchlog: --summary-json \(c.summary): cannot write: \(c.why)\n")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("log")), "no log is written")

            let ref = try runTool("reference-orchestrator", ["--scenario", "pilot", "--speed", "max", "--out", dir.sub("ref"), "--summary-json", c.summary])
            #expect(ref.status == 1, "\(c.summary): \(ref.stderr)")
            #expect(ref.stderr == "reference-orchestrator: --summary-json \(c.summary): cannot write: \(c.why)\n")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("ref")), "no log is written")
        }
        // A directory the user may not write in (root may write anywhere: run as nobody).
        try FileManager.default.createDirectory(atPath: dir.sub("open"), withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        chmod(dir.sub("open"), 0o777)
        chmod(dir.sub("adir"), 0o755)
        let denied = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binaryPath("orchlog"), "generate",
                                                  "--out", dir.sub("open/src"), "--summary-json", dir.sub("adir/summary.json")])
        #expect(denied.status == 1, "\(denied.stderr)")
        #expect(denied.stderr == "orchlog: --summary-json \(dir.sub("adir/summary.json")): cannot write: cannot create files in \(dir.sub("adir")): Permission denied\n")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("open/src")))

        // The collector: its checkpoint is checked before it reads anything.
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "100"]).status == 0)
        let collector = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--checkpoint.file", dir.sub("missing/cp")])
        #expect(collector.status == 1)
        #expect(collector.stdout.isEmpty, "nothing ingested or printed")
        #expect(collector.stderr == "orchlog-collector: --checkpoint.file \(dir.sub("missing/cp")): cannot write: directory \(dir.sub("missing")) does not exist\n")
        // And a good summary path still works.
        let good = try runTool("orchlog", ["generate", "--out", dir.sub("good/src"), "--events", "100", "--summary-json", dir.sub("summary.json")])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try readJSON(dir.sub("summary.json"))["events"] as? Int == 100)
    }

    @Test func closedStandardStreamsAreNeverReusedByFilesTheCommandOpens() throws {
        let dir = TempDir("closedfds")
        defer { dir.remove() }
        let orchlog = binaryPath("orchlog")
        // ingest with stdin closed: an error, nothing written; never its own .lock as input.
        let ingest = try run("/bin/sh", ["-c", "exec '\(orchlog)' ingest --out '\(dir.sub("in/src"))' <&-"])
        #expect(ingest.status == 1, "\(ingest.stderr)")
        #expect(ingest.stderr == "orchlog: ingest: standard input is closed: no events to read, nothing written (pipe NDJSON in: PRODUCER | orchlog ingest --out DIR)\n")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("in")))
        // Before the fix the lock (holding the pid) was fd 0: the pid was read as an NDJSON line.
        #expect(!ingest.stderr.contains("line 1"))

        // generate with stderr closed: its closing message must not land in a file it opened.
        let gen = try run("/bin/sh", ["-c", "exec '\(orchlog)' generate --out '\(dir.sub("gen/src"))' --events 5000 2>&-"])
        #expect(gen.status == 0)
        let lock = try String(contentsOfFile: dir.sub("gen/src/.lock"), encoding: .utf8)
        #expect(lock.allSatisfy { $0.isNumber || $0 == "\n" }, ".lock holds only the writer's pid: \(lock)")
        #expect(try runTool("orchlog", ["verify", dir.sub("gen/src")]).status == 0)
        #expect(try readAll(dir.sub("gen/src")).count >= 5000)

        // The collector with stdout closed: its exposition must not land in the checkpoint.
        let checkpoint = dir.sub("cp")
        let collector = try run("/bin/sh", ["-c", "exec '\(binaryPath("orchlog-collector"))' --once --log.dir '\(dir.sub("gen"))' --checkpoint.file '\(checkpoint)' >&-"])
        #expect(collector.status == 0, "\(collector.stderr)")
        #expect((try? readJSON(checkpoint)) != nil, "the checkpoint is valid JSON")
    }

    /// Label values and source names come from the instrumented program and the filesystem:
    /// line separators, bidirectional overrides and isolates and other format characters are
    /// escaped in every text column, so a value can neither forge a line nor reorder the
    /// text around it; JSON output escapes them and decodes back to the stored values.
    @Test func tailEscapesSeparatorsBidiAndFormatCharactersInEveryColumn() throws {
        let dir = TempDir("tail-bidi")
        defer { dir.remove() }
        // (value, how text output must show it)
        let cases: [(value: String, text: String)] = [
            ("a\u{2028}b", #""a\u{2028}b""#),
            ("a\u{2029}b", #""a\u{2029}b""#),
            ("a\u{85}b", #""a\u{85}b""#),
            ("user\u{202E}gnp.exe", #""user\u{202E}gnp.exe""#),
            ("\u{202A}\u{202B}\u{202C}\u{202D}", #""\u{202A}\u{202B}\u{202C}\u{202D}""#),
            ("\u{2066}x\u{2067}y\u{2068}z\u{2069}", #""\u{2066}x\u{2067}y\u{2068}z\u{2069}""#),
            ("zero\u{200B}width\u{200F}\u{FEFF}", #""zero\u{200B}width\u{200F}\u{FEFF}""#),
            ("tag\u{E0041}", #""tag\u{E0041}""#),
            ("plain-é☃日本", "plain-é☃日本"),
        ]
        let source = "svc\u{202E}\u{2028}x"
        let shownSource = #""svc\u{202E}\u{2028}x""#
        let log = try EventLog(directory: dir.sub("root/" + source))
        let t0: UInt64 = 1_767_225_600_000_000_000  // 2026-01-01T00:00:00Z
        for (i, c) in cases.enumerated() {
            log.emit(.queueSample(queue: log.label(c.value), depth: UInt64(i), capacity: 9), at: t0 + UInt64(i) * 1_000_000_000)
        }
        log.close()

        let text = try runTool("orchlog", ["tail", "--from-start", dir.sub("root")])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == cases.count, "one line per event:\n\(text.stdout)")
        for (i, (got, c)) in zip(lines, cases).enumerated() {
            let second = String(format: "%02d", i)
            #expect(got == "2026-01-01T00:00:\(second).000000Z  \(shownSource)  queue_sample        queue=\(c.text) depth=\(i) capacity=9 oldest_age=0ns enqueued=0")
        }
        let unsafe = text.stdout.unicodeScalars.filter {
            ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value)
                || [.format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory)
        }
        #expect(unsafe.isEmpty, "raw separators or format characters in text output: \(unsafe.map(\.value))")

        let json = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(try Self.jsonValues(json.stdout, "queue") as? [String] == cases.map(\.value), "JSON decodes to the stored values")
        #expect(try Set(Self.jsonValues(json.stdout, "source") as! [String]) == [source])
        #expect(json.stdout.unicodeScalars.allSatisfy { $0.properties.generalCategory != .format && $0.value != 0x2028 && $0.value != 0x85 })
        #expect(json.stdout.contains(#""queue":"tag\udb40\udc41""#), "past U+FFFF: a surrogate pair")

        let inspect = try runTool("orchlog", ["inspect", dir.sub("root")])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.split(separator: "\n")[1].hasPrefix(shownSource + "  "), "\(inspect.stdout)")
    }

    /// A crash leaves a partial last frame in the newest segment. Every command names it once
    /// on stderr with its segment and offset; reading commands (tail, inspect, the collector's
    /// --once) warn and exit 0, verify reports it as a problem to repair (exit 1). While a
    /// writer holds the lock the same bytes are a frame being written: no one warns.
    @Test func aTornTailIsNamedOnceByEveryCommandAndNotWhileAWriterHoldsTheLock() throws {
        let dir = TempDir("torn-all")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "50000"]).status == 0)
        let segment = try LogDirectory.segments(in: dir.sub("root/app"))[0].path
        let frames = try segmentFrames(segment)
        let (start, header) = try #require(frames.last)
        let original = try Data(contentsOf: URL(fileURLWithPath: segment))
        try original.prefix(Int(start) + 100).write(to: URL(fileURLWithPath: segment))
        let complete = frames.dropLast().reduce(0) { $0 + Int($1.header.eventCount) }
        let location = "\(segment):\(start): torn tail: incomplete last frame (100 bytes) and no writer holds the source: left by a crash; `orchlog verify --repair` cuts it"

        let tail = try runTool("orchlog", ["tail", "-n", "3", dir.sub("root")])
        #expect(tail.status == 0)
        #expect(tail.stderr == "orchlog: warning: \(location)\n")
        #expect(tail.stdout.split(separator: "\n").count == 3)
        let all = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(all.status == 0 && all.stderr == "orchlog: warning: \(location)\n")
        #expect(all.stdout.split(separator: "\n").count == complete)
        let inspect = try runTool("orchlog", ["inspect", dir.sub("root")])
        #expect(inspect.status == 0)
        #expect(inspect.stderr == "orchlog: warning: \(location)\n")
        let collector = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root")])
        #expect(collector.status == 0)
        #expect(collector.stderr == "orchlog-collector: torn_tail: \(location)\n")
        let metrics = parseExposition(collector.stdout)
        #expect(metrics["orchlog_collector_events_ingested_total{source=\"app\"}"] == Double(complete))
        #expect((metrics["orchlog_collector_decode_errors_total{source=\"app\"}"] ?? 0) == 0, "the warning is not a decode error")
        let verify = try runTool("orchlog", ["verify", dir.sub("root")])
        #expect(verify.status == 1)
        #expect(verify.stdout == "\(segment):\(start): torn tail: incomplete last frame (100 bytes)\n")

        // A writer holds the lock: the frame may be being written.
        let fd = open(dir.sub("root/app/.lock"), O_RDWR | O_CLOEXEC)
        #expect(fd >= 0 && flock(fd, LOCK_EX) == 0)
        for (tool, args) in [("orchlog", ["tail", "-n", "1"]), ("orchlog", ["inspect"]), ("orchlog", ["verify"]), ("orchlog-collector", ["--once", "--log.dir"])] {
            let r = try runTool(tool, args + [dir.sub("root")])
            #expect(r.status == 0, "\(tool) \(args): \(r.stderr)")
            #expect(!r.stderr.contains("torn"), "\(tool) \(args): \(r.stderr)")
        }
        close(fd)

        // A newer segment follows (a writer restarted after the crash): still one warning, exit 0.
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/app"), "--events", "10"]).status == 0)
        let older = "\(segment):\(start): torn tail: incomplete last frame (100 bytes) in a segment the writer has left; `orchlog verify --repair` cuts it"
        let after = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(after.status == 0)
        #expect(after.stderr == "orchlog: warning: \(older)\n")
        let inspectAfter = try runTool("orchlog", ["inspect", dir.sub("root")])
        #expect(inspectAfter.status == 0 && inspectAfter.stderr == "orchlog: warning: \(older)\n")
        #expect(header.eventCount > 0)
    }

    /// After a crash some filesystems leave the file ending in zero bytes the writer never
    /// wrote (preallocated extents). verify calls that a torn tail and --repair cuts it.
    @Test func verifyRepairCutsAZeroFilledTail() throws {
        let dir = TempDir("zero-repair")
        defer { dir.remove() }
        #expect(try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "20000"]).status == 0)
        let segment = try LogDirectory.segments(in: dir.sub("src"))[0].path
        let original = try Data(contentsOf: URL(fileURLWithPath: segment))
        let end = Int64(original.count)
        let events = try readAll(dir.sub("src")).count
        try (original + Data(count: 4096)).write(to: URL(fileURLWithPath: segment))

        let verify = try runTool("orchlog", ["verify", dir.sub("src")])
        #expect(verify.status == 1)
        #expect(verify.stdout == "\(segment):\(end): torn tail: incomplete last frame (4096 bytes)\n", "not 'bad frame magic'")
        let tail = try runTool("orchlog", ["tail", "-n", "1", dir.sub("src")])
        #expect(tail.status == 0 && tail.stderr.contains("\(segment):\(end): torn tail"), "\(tail.stderr)")
        let repair = try runTool("orchlog", ["verify", "--repair", dir.sub("src")])
        #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
        #expect(repair.stdout.contains("\(segment):\(end): repaired: cut 4096 bytes of torn tail"), "\(repair.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment)) == original)
        #expect(try runTool("orchlog", ["verify", dir.sub("src")]).status == 0)
        #expect(try readAll(dir.sub("src")).count == events)
    }

    /// Timestamps need not grow in write order (clocks step, producers stamp late). inspect
    /// reports the earliest and latest, tail keeps write order, and -n N is the end of
    /// exactly what --from-start prints.
    @Test func outOfOrderTimestampsGiveAMinMaxRangeAndWriteOrderedTail() throws {
        let dir = TempDir("ooo")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.blockSize = 1024
        let t0: UInt64 = 1_767_225_600_000_000_000  // 2026-01-01T00:00:00Z
        var rng = SystemRandomNumberGenerator()
        var stamps: [String: [UInt64]] = [:]
        for name in ["a", "b"] {
            let log = try EventLog(directory: dir.sub("root/\(name)"), options: options)
            let q = log.label("q")
            // The first event written is not the earliest, the last not the latest.
            var ts: [UInt64] = [t0 + 50_000_000_000]
            ts += (0..<1_998).map { _ in t0 + UInt64.random(in: 1_000_000_000...90_000_000_000, using: &rng) }
            ts += [t0 + 20_000_000_000]
            ts[700] = t0 + (name == "a" ? 500_000_000 : 700_000_000)
            ts[1_300] = t0 + (name == "a" ? 99_000_000_000 : 95_000_000_000)
            for (k, t) in ts.enumerated() { log.emit(.queueSample(queue: q, depth: UInt64(k), capacity: 1), at: t) }
            log.close()
            #expect(log.stats.blocksWritten > 5)
            stamps[name] = ts
        }
        let inspect = try runTool("orchlog", ["inspect", "-o", "json", dir.sub("root")])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let info = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(info["first_ts"] as? String == "2026-01-01T00:00:00.500000000Z")
        #expect(info["last_ts"] as? String == "2026-01-01T00:01:39.000000000Z")
        let files = info["files"] as! [[String: Any]]
        #expect(files.map { $0["first_ts"] as? String } == ["2026-01-01T00:00:00.500000000Z", "2026-01-01T00:00:00.700000000Z"])
        #expect(files.map { $0["last_ts"] as? String } == ["2026-01-01T00:01:39.000000000Z", "2026-01-01T00:01:35.000000000Z"])
        let table = try runTool("orchlog", ["inspect", dir.sub("root/a")])
        #expect(table.stdout.split(separator: "\n")[1].hasSuffix("2026-01-01T00:00:00.500Z  2026-01-01T00:01:39.000Z"), "\(table.stdout)")

        // One source: write order, whatever the timestamps.
        let one = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root/a")])
        #expect(try Self.jsonValues(one.stdout, "seq") as? [Int] == Array(1...2000))
        let lastSeven = try runTool("orchlog", ["tail", "-n", "7", "-o", "json", dir.sub("root/a")])
        #expect(try Self.jsonValues(lastSeven.stdout, "seq") as? [Int] == Array(1994...2000))

        // Two sources: each in write order, and -n N is the end of --from-start's output.
        let all = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root")])
        #expect(all.status == 0)
        let lines = all.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4000)
        let sources = try Self.jsonValues(all.stdout, "source") as! [String]
        let seqs = try Self.jsonValues(all.stdout, "seq") as! [Int]
        for name in ["a", "b"] {
            #expect(zip(sources, seqs).filter { $0.0 == name }.map(\.1) == Array(1...2000), "\(name) in write order")
        }
        for n in [1, 10, 333, 2500, 4000] {
            let r = try runTool("orchlog", ["tail", "-n", "\(n)", "-o", "json", dir.sub("root")])
            #expect(r.stdout.split(separator: "\n").map(String.init) == Array(lines.suffix(n)), "-n \(n)")
        }
        let help = try runTool("orchlog", ["tail", "--help"])
        #expect(help.stdout.contains("in the order they were written (sequence order)"))
        #expect(stamps.count == 2)
    }

    /// `tail -n N` on one source reads from near the end (frame headers first, then only the
    /// frames it needs, going further back while too few match) and prints exactly the end
    /// of what --from-start prints: across segments, with filters that match only early
    /// events, and with fewer matches than N in the whole log.
    @Test func tailOfOneSourceReadsFromNearTheEndAndMatchesTheWholeRead() throws {
        let dir = TempDir("tailnear")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.blockSize = 1024
        options.segmentMaxBytes = 16 << 10
        let log = try EventLog(directory: dir.sub("src"), options: options)
        let q = log.label("q"), tool = log.label("search")
        let t0: UInt64 = 1_767_225_600_000_000_000
        for k in 0..<30_000 {
            let ts = t0 + UInt64(k) * 1_000_000
            if k == 40 || k == 41 || k == 15_000 {
                log.emit(.breakerTransition(tool: tool, from: .closed, to: .open), at: ts)
            } else {
                log.emit(.queueSample(queue: q, depth: UInt64(k), capacity: 1), at: ts)
            }
        }
        log.close()
        #expect(try LogDirectory.segments(in: dir.sub("src")).count > 3)
        for filter in [[], ["--type", "queue_sample"], ["--type", "breaker_transition"], ["--where", "depth=17"]] {
            let all = try runTool("orchlog", ["tail", "--from-start", "-o", "json"] + filter + [dir.sub("src")])
            #expect(all.status == 0, "\(all.stderr)")
            let lines = all.stdout.split(separator: "\n").map(String.init)
            for n in [1, 2, 3, 5, 100, 2_500, 40_000] {
                let r = try runTool("orchlog", ["tail", "-n", "\(n)", "-o", "json"] + filter + [dir.sub("src")])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(r.stdout.split(separator: "\n").map(String.init) == Array(lines.suffix(n)), "-n \(n) \(filter)")
            }
        }
    }


    /// `tail -n 0 -f` starts every source after its last complete frame: nothing of the
    /// existing log is printed, and what is written afterwards is.
    @Test func tailFromNowOnPrintsOnlyNewEventsOfEverySource() throws {
        let dir = TempDir("tailzero")
        defer { dir.remove() }
        for name in ["a", "b"] {
            #expect(try runTool("orchlog", ["generate", "--out", dir.sub("root/\(name)"), "--events", "5000"]).status == 0)
        }
        let once = try runTool("orchlog", ["tail", "-n", "0", dir.sub("root")])
        #expect(once.status == 0 && once.stdout.isEmpty, "\(once.stdout)\(once.stderr)")
        let tail = try Daemon(binaryPath("orchlog"), ["tail", "-n", "0", "-f", "-o", "json", dir.sub("root")], dir: dir, name: "tail")
        usleep(300_000)
        let log = try EventLog(directory: dir.sub("root/b"))
        let agent = log.label("after-start")
        log.emit(.invocationStarted(agent: agent, invocationID: 7))
        log.close()
        #expect(Daemon.waitUntil { tail.stdout.contains("\"agent\":\"after-start\"") }, "\(tail.stdout)\(tail.stderr)")
        usleep(300_000)
        tail.signal(SIGTERM)
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count == 1, "only the event written after the start: \(lines.count) lines")
        let seq = try Self.jsonValues(tail.stdout, "seq").first as? Int ?? 0
        #expect(seq > 5_000, "it carries on the source's sequence: \(tail.stdout)")
    }

}

/// docs/exit-status.md's table, run: every reader on every situation.
@Suite struct ExitStatusTests {
    @Test func everyReaderReturnsWhatTheTableSays() throws {
        let doc = try String(contentsOfFile: IngestTests.repoRoot + "/docs/exit-status.md", encoding: .utf8)
        var table: [String: [Int32]] = [:]
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let id = String(cells[0].dropFirst().prefix { $0 != "`" })
            table[id] = cells[1...4].map { Int32($0.prefix { $0.isNumber })! }
        }
        #expect(Set(table.keys) == ["clean", "corrupt", "torn", "empty", "missing", "usage"])

        let dir = TempDir("exit-status")
        defer { dir.remove() }
        func generate(_ name: String) throws -> String {
            let r = try runTool("orchlog", ["generate", "--out", dir.sub("\(name)/src"), "--events", "5000", "--fsync", "never"])
            #expect(r.status == 0)
            return try #require(try FileManager.default.contentsOfDirectory(atPath: dir.sub("\(name)/src")).first { $0.hasSuffix(".olog") }).map { dir.sub("\(name)/src/\($0)") }!
        }
        _ = try generate("clean")
        let corrupt = try generate("corrupt")
        let fh = try #require(FileHandle(forUpdatingAtPath: corrupt))
        try fh.seek(toOffset: 2000)
        fh.write(Data([0xFF, 0xFF, 0xFF, 0xFF]))
        try fh.close()
        let torn = try generate("torn")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: torn)[.size] as? NSNumber).intValue
        #expect(truncate(torn, off_t(size - 10)) == 0)
        try FileManager.default.createDirectory(atPath: dir.sub("empty"), withIntermediateDirectories: true)

        for (id, want) in table.sorted(by: { $0.key < $1.key }) {
            let path = id == "usage" ? dir.sub("clean") : dir.sub(id)
            let extra = id == "usage" ? ["--bogus"] : []
            let runs: [(String, [String])] = [
                ("orchlog", ["tail", "--from-start"] + extra + [path]),
                ("orchlog", ["inspect"] + extra + [path]),
                ("orchlog", ["verify"] + extra + [path]),
                ("orchlog-collector", ["--once", "--log.dir", path] + extra),
            ]
            for ((tool, args), status) in zip(runs, want) {
                let r = try runTool(tool, args)
                #expect(r.status == status, "\(id): \(tool) \(args.joined(separator: " ")) → \(r.status), the table says \(status): \(r.stderr)")
                if id == "empty" { #expect(r.stderr.contains("no orchlog sources under"), "\(tool) \(args): \(r.stderr)") }
            }
        }
    }
}
