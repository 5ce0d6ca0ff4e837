import Foundation
import OrchLog
@testable import OrchReference
import OrchTestSupport
import Testing

@Suite struct ReferenceCLITests {
    @Test func parsesTheDocumentedFlags() throws {
        let o = try RunOptions.parse(["--scenario", "tool-outage", "--out", "/tmp/x", "--speed", "60", "--invocations-per-day", "120000",
                                      "--duration", "90m", "--summary-json", "/tmp/s.json", "--seed", "7", "--naive", "breaker,occ",
                                      "--protect", "occ", "--start-hour", "9.5", "--source=demo"])
        #expect(o.scenario == "tool-outage")
        #expect(o.out == "/tmp/x" && o.source == "demo")
        #expect(o.pacing == .factor(60))
        #expect(o.invocationsPerDay == 120_000)
        #expect(o.durationSeconds == 5_400)
        #expect(o.summaryJSON == "/tmp/s.json")
        #expect(o.seed == 7)
        #expect(o.naive == ["breaker", "occ"] && o.protect == ["occ"])
        #expect(o.startHour == 9.5)
        #expect(try RunOptions.parse(["--scenario", "pilot", "--out", "d", "--speed", "max", "--rate", "600"]).pacing == .maxSpeed)
        for (text, seconds) in [("3600", 3600.0), ("30s", 30), ("1.5h", 5400), ("1d", 86_400), ("250ms", 0.25)] {
            #expect(RunOptions.parseDuration(text) == seconds)
        }
    }

    @Test func faultFlagsPlaceTheFaultAndTheDefaultIsTheMiddleThird() throws {
        let o = try RunOptions.parse(["--scenario", "memory-slowdown", "--out", "d", "--duration", "30m",
                                      "--fault-start", "10m", "--fault-duration=600"])
        #expect(o.faultStartSeconds == 600 && o.faultDurationSeconds == 600)
        let scenario = try #require(Scenario.named("memory-slowdown"))
        let placed = scenario.setup(invocationsPerDay: 12_000, durationSeconds: 1_800, faultStartSeconds: 600, faultDurationSeconds: 600)
        #expect(placed.world.faults.map(\.fromNs) == [600_000_000_000] && placed.world.faults.map(\.toNs) == [1_200_000_000_000])
        // Without the flags: the middle third, as before them.
        let middle = scenario.setup(invocationsPerDay: 12_000, durationSeconds: 10_800)
        #expect(middle.world.faults.map(\.fromNs) == [3_600_000_000_000] && middle.world.faults.map(\.toNs) == [7_200_000_000_000])
        // Only a start: a third of the duration long; a fault past the run's end ends with it.
        let late = scenario.setup(invocationsPerDay: 12_000, durationSeconds: 900, faultStartSeconds: 800)
        #expect(late.world.faults.map(\.fromNs) == [800_000_000_000] && late.world.faults.map(\.toNs) == [900_000_000_000])
        #expect(scenario.setup(invocationsPerDay: 12_000, durationSeconds: 900, faultStartSeconds: 100).world.faults.map(\.toNs) == [400_000_000_000])
        // A scenario without a fault gets none from them.
        #expect(try #require(Scenario.named("production-hardened")).setup(invocationsPerDay: 12_000, durationSeconds: 900, faultStartSeconds: 1).world.faults.isEmpty)
    }

    @Test(arguments: [
        ["--scenario", "nope", "--out", "d"],
        ["--scenario", "pilot"],
        ["--scenario", "pilot", "--out", "d", "--speed", "0"],
        ["--scenario", "pilot", "--out", "d", "--speed", "fast"],
        ["--scenario", "pilot", "--out", "d", "--duration", "soon"],
        ["--scenario", "pilot", "--out", "d", "--invocations-per-day", "-5"],
        ["--scenario", "pilot", "--out", "d", "--naive", "everything"],
        ["--scenario", "pilot", "--out", "d", "--source", "../escape"],
        ["--scenario", "pilot", "--out", "d", "--seed"],
        ["--scenario", "pilot", "--out", "d", "--fault-start", "600"],
        ["--scenario", "tool-outage", "--out", "d", "--duration", "30m", "--fault-start", "30m"],
        ["--scenario", "tool-outage", "--out", "d", "--fault-duration", "0"],
        ["--scenario", "tool-outage", "--out", "d", "--fault-start", "soon"],
        ["--bogus"],
        [],
    ])
    func badCommandLinesExitWithUsageStatus(arguments: [String]) {
        #expect(ReferenceCLI.main(arguments) == 2)
    }

    @Test func helpAndScenarioListExitZero() {
        #expect(ReferenceCLI.main(["--help"]) == 0)
        #expect(ReferenceCLI.main(["--list-scenarios"]) == 0)
        #expect(Scenario.all.map(\.name) == ["pilot", "production-naive", "production-hardened", "tool-outage",
                                              "llm-quota-cut", "hot-key-contention", "memory-slowdown", "agent-loop", "budget-burn", "limiter-misconfigured",
                                              "queue-backlog", "llm-slowdown", "overhead-benchmark"])
    }

    @Test func writesTheLogUnderTheRootAndTheSummaryAsJSON() throws {
        let dir = TempDir("cli")
        defer { dir.remove() }
        let json = dir.sub("summary.json")
        let status = ReferenceCLI.main(["--scenario", "pilot", "--out", dir.sub("root"), "--duration", "2h", "--start-hour", "10",
                                        "--summary-json", json, "--quiet", "--start-time", "1700000000"])
        #expect(status == 0)
        let summary = try RunSummary.decode(Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(summary.scenario == "pilot" && summary.source == "pilot" && summary.seed == 1)
        #expect(summary.invocations.total > 10)
        let sources = try LogDirectory.sources(at: dir.sub("root"))
        #expect(sources.map(\.name) == ["pilot"])
        let a = try LogAudit(source: sources[0].path)
        expectLogMatches(summary, a)
        // The JSON holds the fields the issue names, snake_case.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let fields: [String: [String]] = [
            "invocations": ["total", "success", "failure", "rejected", "timeout"],
            "queue": ["max_depth"],
            "state": ["writes", "conflicts", "timeouts", "lost_updates", "stale_reads"],
            "memory": ["writes", "timeouts"],
            "tools": ["calls", "timeouts", "errors", "short_circuited", "fallbacks"],
            "llm": ["requests", "rate_limited", "max_inflight", "concurrency_limit", "tokens_input", "tokens_output"],
        ]
        #expect(object["success_rate"] is Double)
        for (group, keys) in fields {
            let g = try #require(object[group] as? [String: Any], "\(group)")
            for k in keys { #expect(g[k] != nil, "\(group).\(k)") }
        }
    }

    @Test func summaryJSONRoundTripsIncludingFailureCauses() throws {
        let dir = TempDir("json")
        defer { dir.remove() }
        let s = try runScenario("production-naive", duration: 1_800, startHour: 10, in: dir)
        #expect(!s.failureReasons.isEmpty)
        #expect(try RunSummary.decode(s.json()) == s)
    }

    @Test func aLockedLogDirectoryIsAFailureNotAUsageError() throws {
        let dir = TempDir("locked")
        defer { dir.remove() }
        let holder = try EventLog(directory: dir.sub("pilot"))
        defer { holder.close() }
        #expect(ReferenceCLI.main(["--scenario", "pilot", "--out", dir.path, "--duration", "60", "--quiet"]) == 1)
    }

    @Test func theSameSeedGivesTheSameRun() throws {
        let dir = TempDir("seed")
        defer { dir.remove() }
        func run(_ seed: UInt64, _ name: String) throws -> RunSummary {
            var o = RunOptions()
            o.scenario = "hot-key-contention"
            o.out = dir.path
            o.source = name
            o.durationSeconds = 1_200
            o.seed = seed
            var s = try ReferenceCLI.run(o)
            s.wallSeconds = 0
            s.source = ""
            return s
        }
        let a = try run(3, "a"), b = try run(3, "b"), c = try run(4, "c")
        #expect(a == b)
        #expect(a != c)
    }

    @Test func naiveAndProtectSwitchComponents() throws {
        let dir = TempDir("switch")
        defer { dir.remove() }
        let s = try runScenario("production-hardened", duration: 600, naive: ["all"], protect: ["occ", "limiter"], in: dir)
        #expect(s.components == "occ,limiter")
    }

    @Test func speedPacesSimulatedTimeAgainstTheWallClock() throws {
        var o = RunOptions()
        o.scenario = "pilot"
        o.noLog = true
        o.durationSeconds = 20
        o.pacing = .factor(100)  // 20 simulated seconds ≈ 0.2 s of wall time
        let s = try ReferenceCLI.run(o)
        #expect(s.wallSeconds >= 0.19)
        #expect(s.simulatedSeconds == 20)
        #expect(s.events == 0)
    }

    @Test func theExecutableMapsErrorsToExitCodes() throws {
        let help = try runTool("reference-orchestrator", ["--help"])
        #expect(help.status == 0 && help.stdout.contains("--scenario NAME"))
        let bad = try runTool("reference-orchestrator", ["--scenario", "nope", "--out", "/tmp"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("reference-orchestrator: unknown scenario nope"))
    }
}

@Suite struct SchedulerTests {
    @Test func runsCallbacksInTimeOrderAndTiesInSchedulingOrder() {
        let scheduler = Scheduler()
        var order: [Int] = []
        scheduler.schedule(at: 30) { order.append(3) }
        scheduler.schedule(at: 10) { order.append(1) }
        scheduler.schedule(at: 20) {
            order.append(2)
            scheduler.schedule(after: 0) { order.append(22) }  // same time, after the others
            scheduler.schedule(after: 5) { order.append(25) }
        }
        scheduler.schedule(at: 20) { order.append(21) }
        scheduler.schedule(at: 100) { order.append(100) }
        scheduler.run(until: 50)
        #expect(order == [1, 2, 21, 22, 25, 3])
        #expect(scheduler.now == 50)
        #expect(scheduler.pending == 1)
    }

    @Test func aServerQueueServesFirstComeFirstServedAndDropsWhatWouldStartTooLate() {
        var q = ServerQueue(servers: 2)
        #expect(q.admit(now: 0, service: 10)! == (0, 10))
        #expect(q.admit(now: 0, service: 4)! == (0, 4))
        #expect(q.admit(now: 1, service: 5)! == (4, 9))    // the second server frees first
        #expect(q.admit(now: 2, service: 5, deadline: 9) == nil)  // would start at 9
        #expect(q.admit(now: 2, service: 1)! == (9, 10))
        #expect(q.busy(at: 5) == 2)
    }
}
