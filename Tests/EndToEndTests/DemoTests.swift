import Foundation
import OrchTestSupport
import Testing

/// `make demo`'s script, both modes, run as `make demo` runs it (on the built binaries, on
/// free ports): it prints where to look, the collector it started serves the incident's lost
/// updates, and a stop (SIGTERM, as Ctrl-C's trap does) ends the orchestrator cleanly — its
/// summary written — and everything else.
@Suite struct DemoTests {
    static let script = AlertedRun.root + "/scripts/demo.sh"

    /// (ORCHLOG_DEMO_MODE, extra environment, the pace line the banner must show).
    static let modes: [(String, [String: String], String)] = [
        ("simulated", [:], "(simulated time ×600)"),
        ("live", ["ORCHLOG_DEMO_DURATION": "15"], "(live: redis, HTTP backends, wall-clock ×100 for 15 s)"),
    ]

    @Test(arguments: [0, 1])
    func demoServesTheIncidentsLostUpdatesAndStopsCleanly(mode index: Int) throws {
        let (mode, extra, pace) = Self.modes[index]
        let dir = TempDir("demo-\(mode)")
        defer { dir.remove() }
        let bin = URL(fileURLWithPath: binaryPath("orchlog")).deletingLastPathComponent().path
        let port = freePort(), promPort = freePort()
        var env = ["ORCHLOG_DEMO_MODE": mode, "ORCHLOG_DEMO_PORT": String(port), "ORCHLOG_DEMO_PROMETHEUS_PORT": String(promPort)]
        env.merge(extra) { $1 }
        // Through perl to clear the signal mask the test runner's threads hand down (bash
        // cannot unblock a signal itself, and a blocked SIGTERM never reaches its trap).
        let demo = try Daemon("/usr/bin/perl", ["-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV or die",
                                                "/bin/bash", Self.script, bin, dir.sub("demo")], dir: dir, name: "demo", environment: env)
        defer { demo.stop() }
        #expect(Daemon.waitUntil(timeout: 60) { demo.stdout.contains("Press Ctrl-C to stop.") }, "\(demo.stdout)\(demo.stderr)")
        #expect(demo.stdout.contains("orchlog demo: reference orchestrator, scenario production-naive \(pace)."), "\(demo.stdout)")
        #expect(demo.stdout.contains("metrics:        http://localhost:\(port)/metrics"))
        #expect(demo.stdout.contains("prometheus:     http://localhost:\(promPort)/alerts"))

        // The incident's silent failure, served by the demo's collector.
        var lost = 0.0
        let found = Daemon.waitUntil(timeout: 90) {
            let metrics = parseExposition((try? curl(["http://127.0.0.1:\(port)/metrics"]))?.stdout ?? "")
            lost = metrics.filter { $0.key.hasPrefix("orch_state_lost_updates_total{") }.values.reduce(0, +)
            return lost > 0
        }
        #expect(found, "no lost updates served: \(demo.stdout)\n\((try? String(contentsOfFile: dir.sub("demo/orchestrator.out"), encoding: .utf8)) ?? "")")

        let summaryPath = dir.sub("demo/production-naive.summary.json")
        if mode == "live" {
            // The live run ends by itself after its duration; the store counted the lost updates.
            #expect(Daemon.waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: summaryPath) })
        }
        #expect(demo.stop() == 0, "a stop is the demo's normal end: \(demo.stderr)")
        #expect(demo.stdout.contains("stopped. The logs stay in"), "\(demo.stdout)")
        let summary = try readJSON(summaryPath)
        #expect(summary["mode"] as? String == mode)
        if mode == "live" {
            let state = try #require(summary["state"] as? [String: Any])
            #expect(state["store"] as? String == "redis")
            #expect((state["lost_updates"] as? Int ?? 0) > 0)
        } else {
            #expect(summary["interrupted"] as? Bool == true, "the stop reached the simulated run")
        }
        // Nothing the demo started is left serving.
        #expect((try curl(["-f", "http://127.0.0.1:\(port)/-/healthy"])).status != 0, "the collector still answers")
        #expect((try curl(["-f", "http://127.0.0.1:\(promPort)/-/healthy"])).status != 0, "prometheus still answers")
    }
}
