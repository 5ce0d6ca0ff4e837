import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// Crash consistency: writer and collector children killed with SIGKILL at random moments.
/// `ORCHLOG_CRASH_ITERATIONS` sets the kills per loop (default 10; `make test-crash` runs 200).
@Suite(.serialized) struct CrashTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["ORCHLOG_CRASH_ITERATIONS"].flatMap(Int.init) ?? 10
    }

    /// Kills per log directory: each epoch starts a fresh source, so the collector's final
    /// pass over it stays cheap however many iterations run.
    static let epochLength = 10

    /// What one epoch's checks have established so far.
    struct Ledger {
        var nextSeq: UInt64 = 1
        var checkedSegments: UInt64 = 0
        var frames = 0
    }

    /// Reads the segments written since the last check: every frame must check and decode,
    /// and sequence numbers must carry on from the previous frame without a gap.
    static func checkNewSegments(_ src: String, _ ledger: inout Ledger, _ context: String) throws {
        for segment in try LogDirectory.segments(in: src) where segment.number > ledger.checkedSegments {
            let reader = try SegmentReader(path: segment.path)
            #expect(reader.header.segmentNumber == segment.number, "\(context): \(segment.path)")
            #expect(reader.header.firstSeq == ledger.nextSeq, "\(context): \(segment.path) starts at \(reader.header.firstSeq), expected \(ledger.nextSeq)")
            var offset = SegmentReader.firstFrameOffset
            scan: while true {
                switch try reader.readFrame(at: offset) {
                case let .frame(h, at):
                    try reader.decode(h, offset: at)
                    #expect(h.firstSeq == ledger.nextSeq, "\(context): \(segment.path):\(at): frame starts at \(h.firstSeq), expected \(ledger.nextSeq)")
                    #expect(reader.events.map(\.seq) == Array(h.firstSeq..<h.firstSeq + UInt64(h.eventCount)), "\(context): \(segment.path):\(at)")
                    ledger.nextSeq = h.firstSeq + UInt64(h.eventCount)
                    ledger.frames += 1
                    offset = at + Int64(h.frameLength)
                case .end:
                    break scan
                case let other:
                    Issue.record("\(context): \(segment.path): after repair: \(other)")
                    break scan
                }
            }
            ledger.checkedSegments = segment.number
        }
    }

    /// The last `durable SEQ` line the writer printed before it died (0: none).
    static func lastDurable(_ stdout: String) -> UInt64 {
        stdout.split(separator: "\n").last { $0.hasPrefix("durable ") }.flatMap { UInt64($0.dropFirst(8)) } ?? 0
    }

    /// The collector's one-shot view of a root: events ingested and decode errors for `source`.
    static func collectorCounts(_ root: String, source: String = "src") throws -> (ingested: Double, errors: Double) {
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", root])
        #expect(r.status == 0, "\(r.stderr)")
        let m = parseExposition(r.stdout)
        return (m["orchlog_collector_events_ingested_total{source=\"\(source)\"}"] ?? 0,
                m["orchlog_collector_decode_errors_total{source=\"\(source)\"}"] ?? 0)
    }

    @Test(arguments: ["never", "interval", "always"])
    func writerKilledAtRandomMomentsLeavesARepairableGaplessLog(policy: String) throws {
        let dir = TempDir("crash-\(policy)")
        defer { dir.remove() }
        var rng = SystemRandomNumberGenerator()
        var ledger = Ledger()
        var epoch = 0
        var tornFrames = 0, headerless = 0, durableReports = 0, eventsChecked: UInt64 = 0
        var durableSlack: [UInt64] = []
        var startup: [Double] = []
        for i in 0..<Self.iterations {
            if i > 0 && i % Self.epochLength == 0 {
                let (ingested, errors) = try Self.collectorCounts(dir.sub("epoch\(epoch)"))
                #expect(ingested == Double(ledger.nextSeq - 1), "epoch \(epoch): the collector ingests every event")
                #expect(errors == 0)
                eventsChecked += ledger.nextSeq - 1
                epoch += 1
                ledger = Ledger()
            }
            let root = dir.sub("epoch\(epoch)")
            let src = root + "/src"
            let context = "\(policy) iteration \(i)"
            let writer = try Daemon(binaryPath("orchlog"), ["generate", "--out", src, "--events", "1000000000", "--seed", "\(i)",
                                                            "--fsync", policy, "--report-durable"], dir: dir, name: "gen-\(policy)")
            if i % 8 == 7 {
                // Now and then during start-up, around the creation of the new segment.
                usleep(UInt32.random(in: 0...30_000, using: &rng))
            } else {
                // Mostly while blocks are being written: once this run's segment exists.
                let started = Date()
                let segmentsBefore = (try? LogDirectory.segments(in: src).count) ?? 0
                Daemon.waitUntil(timeout: 30) { ((try? LogDirectory.segments(in: src).count) ?? 0) > segmentsBefore }
                startup.append(Date().timeIntervalSince(started))
                usleep(UInt32.random(in: 0...300_000, using: &rng))
            }
            writer.signal(SIGKILL)
            writer.process.waitUntilExit()
            #expect(writer.process.terminationReason == .uncaughtSignal, "\(context): the writer was killed, not finished")
            let durable = Self.lastDurable(writer.stdout)
            if durable > 0 { durableReports += 1 }

            if i % 5 == 4, FileManager.default.fileExists(atPath: src) {
                // Before any repair, the collector reads every complete frame and stops at the torn tail.
                let before = try readAll(root).count
                let (ingested, _) = try Self.collectorCounts(root)
                #expect(ingested == Double(before), "\(context): collector on an unrepaired crash log")
            }

            guard FileManager.default.fileExists(atPath: src) else { continue }  // killed before it opened the log
            let repair = try runTool("orchlog", ["verify", "--repair", src])
            #expect(repair.status == 0, "\(context): \(repair.stdout)\(repair.stderr)")
            if repair.stdout.contains("repaired: cut") { tornFrames += 1 }
            if repair.stdout.contains("repaired: removed") { headerless += 1 }
            let verify = try runTool("orchlog", ["verify", src])
            #expect(verify.status == 0, "\(context): \(verify.stdout)\(verify.stderr)")
            try Self.checkNewSegments(src, &ledger, context)
            let present = ledger.nextSeq - 1
            #expect(present >= durable, "\(context): the writer reported \(durable) durable, only \(present) are in the log")
            if durable > 0 { durableSlack.append(present - durable) }
        }
        if FileManager.default.fileExists(atPath: dir.sub("epoch\(epoch)/src")) {
            let (ingested, errors) = try Self.collectorCounts(dir.sub("epoch\(epoch)"))
            #expect(ingested == Double(ledger.nextSeq - 1), "last epoch: the collector ingests every event")
            #expect(errors == 0)
            eventsChecked += ledger.nextSeq - 1
        }
        if policy == "always" && Self.iterations >= 10 {
            #expect(durableReports > 0, "with fsync=always the writer reports durable sequence numbers")
        }
        print("crash[\(policy)]: \(Self.iterations) kills survived, \(eventsChecked) events checked gapless, repairs: \(tornFrames) torn last frames cut, \(headerless) segments without a complete header removed, "
              + "\(durableReports) kills after a durable report, events lost past the durable mark: 0, "
              + "written-not-yet-reported-durable median \(durableSlack.sorted().dropFirst(durableSlack.count / 2).first ?? 0), "
              + "median start-up \(Int((startup.sorted().dropFirst(startup.count / 2).first ?? 0) * 1000)) ms")
    }

    @Test func collectorKilledDuringIngestAndCheckpointsKeepsExactTotals() throws {
        let dir = TempDir("crash-collector")
        defer { dir.remove() }
        var rng = SystemRandomNumberGenerator()
        // A backlog to ingest plus a live writer, so kills keep landing during ingest.
        let backlog = try runTool("orchlog", ["generate", "--out", dir.sub("root/a"), "--events", "40000", "--seed", "21", "--summary-json", dir.sub("a.json")])
        #expect(backlog.status == 0, "\(backlog.stderr)")
        let live = try Daemon(binaryPath("orchlog"), ["generate", "--out", dir.sub("root/b"), "--rate", "5000", "--seed", "22",
                                                      "--summary-json", dir.sub("b.json")], dir: dir, name: "live")
        let state = dir.sub("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let checkpoint = state + "/collector.checkpoint"
        var midWrite = 0, restoredRuns = 0
        for i in 0..<Self.iterations {
            let existed = FileManager.default.fileExists(atPath: checkpoint)
            let collector = try Daemon(binaryPath("orchlog-collector"), ["--web.listen-address", "127.0.0.1:0", "--log.dir", dir.sub("root"),
                                                                         "--checkpoint.file", checkpoint, "--checkpoint.interval", "0.01"],
                                       dir: dir, name: "collector")
            if existed { restoredRuns += 1 }
            if i % 8 == 7 {
                usleep(UInt32.random(in: 0...30_000, using: &rng))  // during start-up and restore
            } else {
                _ = collector.waitForStderr("serving", timeout: 30)
                usleep(UInt32.random(in: 0...500_000, using: &rng))  // ingesting, checkpointing every 10 ms
            }
            collector.signal(SIGKILL)
            collector.process.waitUntilExit()
            #expect(collector.process.terminationReason == .uncaughtSignal, "iteration \(i): \(collector.stderr)")
            #expect(!collector.stderr.contains("not a valid checkpoint"), "iteration \(i): \(collector.stderr)")
            let names = try FileManager.default.contentsOfDirectory(atPath: state)
            let leftovers = names.filter { $0.hasPrefix("collector.checkpoint.tmp.") }
            if !leftovers.isEmpty { midWrite += 1 }
            #expect(leftovers.count <= 1, "iteration \(i): stale temporaries are removed at start: \(leftovers)")
            if FileManager.default.fileExists(atPath: checkpoint) {
                let data = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
                #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "iteration \(i): the checkpoint is never half-written")
            }
        }
        #expect(live.stop() == 0, "the live writer closes cleanly: \(live.stderr)")
        let r = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("root"), "--checkpoint.file", checkpoint])
        #expect(r.status == 0, "\(r.stderr)")
        let m = parseExposition(r.stdout)
        for source in ["a", "b"] {
            let summary = try readJSON(dir.sub("\(source).json"))
            let events = Double(summary["events"] as! Int)
            #expect(m["orchlog_collector_events_ingested_total{source=\"\(source)\"}"] == events, "\(source): exact, after \(Self.iterations) kills")
            let outcomes = summary["invocations_by_outcome"] as! [String: Int]
            for (outcome, count) in outcomes {
                let sum = m.filter { $0.key.hasPrefix("orch_invocations_total{source=\"\(source)\",") && $0.key.contains("outcome=\"\(outcome)\"") }.values.reduce(0, +)
                #expect(sum == Double(count), "\(source) \(outcome)")
            }
            let tokens = summary["llm_tokens"] as! [String: Int]
            let input = m.filter { $0.key.hasPrefix("orch_llm_tokens_total{source=\"\(source)\",") && $0.key.contains("type=\"input\"") }.values.reduce(0, +)
            #expect(input == Double(tokens["input"]!), "\(source) input tokens")
        }
        print("crash[collector]: \(Self.iterations) kills survived (\(restoredRuns) restarts from a checkpoint, \(midWrite) kills during a checkpoint write), totals exact")
    }
}
