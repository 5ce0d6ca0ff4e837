import Foundation
import OrchTestSupport
import Testing

/// The live mode watched as production watches it: `reference-orchestrator --live` on real
/// Redis and real HTTP backends, its log followed by the built collector, scraped every
/// second by a real Prometheus evaluating the shipped rules (`for:` shortened and the budget
/// scaled, `AlertedRun.shortenedRules`; nothing else changed). The failure modes the live
/// runs really produce fire their alerts; the live pilot fires none.
@Suite struct LiveAlertTests {
    /// Scenario → alerts that must fire (nil: none of the failure-mode alerts may fire).
    ///
    /// Live `production-naive` loses updates on the real store (blind writes, stale local
    /// reads) and gets 429s from reference-backends' per-key limits. It does not collapse the
    /// memory layer: a real Redis takes pilot-sized traffic without write timeouts (the
    /// simulated backing store's capacity is what times out there); live `memory-slowdown`
    /// is the run that slows the real store.
    static let expectations: [(String, Set<String>?)] = [
        ("pilot", nil),
        ("production-naive", ["OrchStateLostUpdates", "OrchLLMRateLimitSaturation"]),
        ("tool-outage", ["OrchToolCircuitOpen"]),
    ]

    @Test func liveFaultsFireTheirFailureModesAlertsAndLivePilotFiresNone() throws {
        var runs: [AlertedRun] = []
        defer { for r in runs { r.stop() } }
        for (scenario, _) in Self.expectations {
            runs.append(try AlertedRun(scenario, prefix: "live-alert", simulatedSeconds: 30 * 100))
        }
        // Together, 30 s of wall-clock time each at 100× (the tool outage is the middle third).
        for run in runs {
            run.orchestrator = try Daemon(binaryPath("reference-orchestrator"),
                                          ["--scenario", run.scenario, "--live", "--speed", "100", "--duration", "30", "--out", run.logRoot,
                                           "--quiet", "--summary-json", run.dir.sub("summary.json")], dir: run.dir, name: "orchestrator")
        }
        for run in runs {
            #expect(run.waitForOrchestrator() == 0, "\(run.scenario): \(run.orchestrator?.stderr ?? "")")
        }
        sleep(6)  // final scrapes and rule evaluations
        for (scenario, expected) in Self.expectations {
            let run = try #require(runs.first { $0.scenario == scenario })
            let summary = try readJSON(run.dir.sub("summary.json"))
            #expect(summary["mode"] as? String == "live")
            let problem = try run.checkFired(expected)
            #expect(problem == nil, "\(problem ?? "")")
            // What fired is what the store and the backends did: the naive run's lost updates
            // are the store's own count, and the alerting Prometheus saw the same number.
            if scenario == "production-naive" {
                let state = try #require(summary["state"] as? [String: Any])
                let lost = try #require(state["lost_updates"] as? Int)
                let seen = try #require(run.prometheus).query("sum(orch_state_lost_updates_total)").first?.1
                #expect(lost > 0 && seen == Double(lost), "store counted \(lost), Prometheus scraped \(seen ?? -1)")
            }
        }
    }
}
