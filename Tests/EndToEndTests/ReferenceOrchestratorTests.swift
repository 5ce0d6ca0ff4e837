import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// The `reference-orchestrator` binary, run as a user or a supervisor runs it.
@Suite struct ReferenceOrchestratorTests {
    /// SIGINT (Ctrl-C) and SIGTERM (`kill`, `timeout`, systemd, Kubernetes) stop a paced run the
    /// same way: it exits 0, closes the log (every event the summary counts is on disk, the log
    /// verifies) and writes the summary marked interrupted.
    @Test(arguments: [SIGTERM, SIGINT])
    func aStopSignalEndsTheRunWithAClosedLogAndAnInterruptedSummary(sig: Int32) throws {
        let dir = TempDir("reference-signal-\(sig)")
        defer { dir.remove() }
        let source = dir.sub("root/tool-outage")
        // 10 simulated minutes at 60× real time: about 10 s of wall time unless stopped.
        let run = try Daemon(binaryPath("reference-orchestrator"),
                             ["--scenario", "tool-outage", "--out", dir.sub("root"), "--duration", "10m", "--speed", "60",
                              "--summary-json", dir.sub("summary.json")], dir: dir, name: "orchestrator")
        // Stop it mid-run, once the writer has flushed some events (it keeps writing after).
        #expect(Daemon.waitUntil { ((try? readAll(source)) ?? []).count > 0 }, "\(run.stderr)")
        #expect(run.process.isRunning, "the run must still be going when the signal is sent")
        run.signal(sig)
        #expect(Daemon.waitUntil { !run.process.isRunning }, "must stop on signal \(sig)")
        #expect(run.process.terminationReason == .exit && run.process.terminationStatus == 0, "\(run.stderr)")
        #expect(run.stdout.contains("— interrupted"), "\(run.stdout)")

        let summary = try readJSON(dir.sub("summary.json"))
        #expect(summary["interrupted"] as? Bool == true)
        let simulated = try #require(summary["simulated_seconds"] as? Double)
        #expect(simulated > 0 && simulated < 600)
        let events = try #require(summary["events"] as? Int)
        #expect(events > 0)

        let verify = try runTool("orchlog", ["verify", dir.sub("root")])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stderr.contains(" \(events) events: ok"), "\(verify.stderr)")
        var problems: [LogProblem] = []
        let records = try readAll(source, problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        #expect(records.map(\.seq) == Array(1...UInt64(max(1, events))), "every event the summary counts is in the log")
        // Closed: the directory lock is free for the next writer.
        let again = try runTool("reference-orchestrator", ["--scenario", "tool-outage", "--out", dir.sub("root"), "--duration", "1m", "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
    }

    /// The simulation-only scenarios say so under --live (usage, exit 2) instead of running
    /// without their fault.
    @Test func simulationOnlyScenariosRefuseLive() throws {
        for scenario in ["agent-loop", "budget-burn", "limiter-misconfigured", "queue-backlog", "llm-slowdown"] {
            let r = try runTool("reference-orchestrator", ["--scenario", scenario, "--live", "--duration", "1", "--no-log", "--quiet"])
            #expect(r.status == 2 && r.stderr.contains("scenario \(scenario) runs in simulation only"), "\(scenario): \(r.status) \(r.stderr)")
        }
    }
}
