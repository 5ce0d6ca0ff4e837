import Foundation
import OrchTestSupport
import Testing

/// Past one machine (issue 22, part 10), with the shipped setup of docs/deploying.md: two
/// collectors ("hosts") on two ports, a Prometheus in agent mode scraping both
/// (deploy/prometheus/agent.yml with the flags of agent.default) and remote-writing into a
/// second Prometheus (receiver.yml, receiver.default) that evaluates alerts/ — the shipped
/// rules as they are; only the receiver's global evaluation interval is shortened.
///
/// Each host serves a log of service `checkout` and one of `search` (two processes of each
/// service, one per host). All four are `reference-orchestrator --scenario production-naive`
/// runs, so both services have the same shard, tool, agent and limiter names. The
/// receiver's failure-mode alerts must be per source: both services, as separate alerts,
/// each with its `source` label and no `instance` label (a service's two hosts add up to
/// one alert), and none without a source.
@Suite struct FleetAlertTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// production-naive's failure-mode alerts (ScenarioAlertTests). OrchStateLostUpdates has
    /// `for: 0m` and fires within seconds; the others hold for minutes in the shipped rules,
    /// so within this test they are pending, with the labels they will fire with.
    static let expected = ["OrchStateLostUpdates", "OrchMemoryWriteTimeouts", "OrchLLMRateLimitSaturation", "OrchLLMConcurrencyOverLimit"]
    static let services = ["checkout", "search"]

    /// A deploy/prometheus file with each (shipped text, test value) replaced; every shipped
    /// text must be there, so the test cannot drift from the file.
    static func deployFile(_ name: String, _ replacements: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: root + "/deploy/prometheus/" + name, encoding: .utf8)
        for (shipped, value) in replacements {
            guard text.contains(shipped) else { throw TestFailure("deploy/prometheus/\(name) no longer contains \(shipped)") }
            text = text.replacingOccurrences(of: shipped, with: value)
        }
        return text
    }

    /// The flags of a deploy/prometheus/*.default file: its `ARGS="…"` line, split on spaces.
    static func args(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: root + "/deploy/prometheus/" + name, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ARGS=\"") && $0.hasSuffix("\"") }) else {
            throw TestFailure("deploy/prometheus/\(name) has no ARGS=\"…\" line")
        }
        return line.dropFirst(6).dropLast().split(separator: " ").map(String.init)
    }

    /// Starts `/usr/bin/prometheus` with the shipped flags of `defaults`, `config` and the test's
    /// own paths and port; returns once it is ready.
    static func prometheus(_ name: String, defaults: String, config: String, storage: [String], dir: TempDir) throws -> (Daemon, Int) {
        let port = freePort()
        try config.write(toFile: dir.sub(name + ".yml"), atomically: true, encoding: .utf8)
        let daemon = try Daemon("/usr/bin/prometheus", try args(defaults) + storage
                                + ["--config.file", dir.sub(name + ".yml"), "--web.listen-address", "127.0.0.1:\(port)"], dir: dir, name: name)
        guard Daemon.waitUntil(timeout: 30, { (try? curl(["-f", "http://127.0.0.1:\(port)/-/ready"]))?.status == 0 }) else {
            throw TestFailure("\(name) did not become ready: \(daemon.stderr.suffix(2000))")
        }
        return (daemon, port)
    }

    /// The receiver's alerts (firing and pending): their labels and state.
    static func alerts(_ port: Int) throws -> [(labels: [String: String], state: String)] {
        let r = try curl(["-sf", "http://127.0.0.1:\(port)/api/v1/alerts"])
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let list = (obj?["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        return list.map { ($0["labels"] as? [String: String] ?? [:], $0["state"] as? String ?? "") }
    }

    @Test func anAgentRemoteWritingTwoHostsFiresTheShippedAlertsPerSource() throws {
        let dir = TempDir("fleet")
        var daemons: [Daemon] = []
        defer {
            for d in daemons.reversed() { _ = d.stop() }
            dir.remove()
        }

        // The receiver: the shipped rules (alerts/*.rules.yml, unmodified), evaluated every second.
        let receiverConfig = try Self.deployFile("receiver.yml", [
            ("evaluation_interval: 15s", "evaluation_interval: 1s"),
            ("/usr/local/share/orchlog/rules/*.rules.yml", Self.root + "/alerts/*.rules.yml"),
            ("localhost:9093", "127.0.0.1:\(freePort())"),  // no Alertmanager: nothing listens there
        ])
        let (receiver, receiverPort) = try Self.prometheus("receiver", defaults: "receiver.default", config: receiverConfig,
                                                           storage: ["--storage.tsdb.path", dir.sub("receiver-tsdb")], dir: dir)
        daemons.append(receiver)
        let rules = try curl(["-sf", "http://127.0.0.1:\(receiverPort)/api/v1/rules"])
        #expect(rules.stdout.contains("\"name\":\"orchlog.state\"") && rules.stdout.contains("OrchStateLostUpdates"), "the receiver loaded alerts/: \(rules.stdout.prefix(300))")

        // Two hosts, a collector each.
        var targets: [String] = []
        for host in ["host-a", "host-b"] {
            let (collector, port) = try startCollector(["--log.dir", dir.sub(host)], dir: dir, name: "collector-\(host)")
            daemons.append(collector)
            targets.append("127.0.0.1:\(port)")
        }

        // The agent scrapes both (file_sd, as shipped) and remote-writes to the receiver.
        try FileManager.default.createDirectory(atPath: dir.sub("targets"), withIntermediateDirectories: true)
        try "- targets: [\(targets.map { "\"\($0)\"" }.joined(separator: ", "))]\n".write(toFile: dir.sub("targets/collectors.yml"), atomically: true, encoding: .utf8)
        let agentConfig = try Self.deployFile("agent.yml", [
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("/etc/prometheus/orchlog/*.yml", dir.sub("targets") + "/*.yml"),
            ("http://prometheus-central:9090/api/v1/write", "http://127.0.0.1:\(receiverPort)/api/v1/write"),
        ])
        let (agent, agentPort) = try Self.prometheus("agent", defaults: "agent.default", config: agentConfig,
                                                     storage: ["--storage.agent.path", dir.sub("agent-wal")], dir: dir)
        daemons.append(agent)
        // An agent stores nothing it could query: it only forwards.
        let agentQuery = try curl(["-sG", "http://127.0.0.1:\(agentPort)/api/v1/query", "--data-urlencode", "query=up"])
        #expect(agentQuery.stdout.contains("unavailable with Prometheus Agent"), "the agent runs in agent mode: \(agentQuery.stdout)")

        // The services: each on both hosts (two processes of it); each run paced over ~20 s.
        let probe = try runTool("reference-orchestrator", ["--scenario", "production-naive", "--out", dir.sub("probe"), "--quiet", "--no-log",
                                                           "--summary-json", dir.sub("probe.json")])
        #expect(probe.status == 0, "\(probe.stderr)")
        let simulated = (try readJSON(dir.sub("probe.json"))["simulated_seconds"] as? Double) ?? 86_400
        let speed = String(format: "%.0f", max(1, simulated / 20))
        var orchestrators: [Daemon] = []
        for (i, (host, source)) in [("host-a", "checkout"), ("host-b", "checkout"), ("host-a", "search"), ("host-b", "search")].enumerated() {
            let o = try Daemon(binaryPath("reference-orchestrator"),
                               ["--scenario", "production-naive", "--out", dir.sub(host), "--source", source, "--seed", "\(i + 1)",
                                "--speed", speed, "--quiet"], dir: dir, name: "orchestrator-\(host)-\(source)")
            orchestrators.append(o)
            daemons.append(o)
        }

        // Wait (at most 60 s) until every expected alert has been active for both services.
        // The alerts seen at any poll are kept (by label set): an alert whose expression holds
        // at some evaluations only (in-flight LLM requests move around the limit) counts.
        func key(_ labels: [String: String]) -> String {
            labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        var seen: [String: (labels: [String: String], state: String)] = [:]
        var duplicated: Set<String> = []
        let done = Daemon.waitUntil(timeout: 60) {
            let now = ((try? Self.alerts(receiverPort)) ?? []).filter { AlertedRun.failureModeAlerts.contains($0.labels["alertname"] ?? "") }
            let keys = now.map { key($0.labels) }
            duplicated.formUnion(keys.filter { k in keys.filter { $0 == k }.count > 1 })
            for a in now where seen[key(a.labels)]?.state != "firing" { seen[key(a.labels)] = a }
            return Self.expected.allSatisfy { name in
                Self.services.allSatisfy { s in seen.values.contains { $0.labels["alertname"] == name && $0.labels["source"] == s } }
            }
        }
        for o in orchestrators {
            o.process.waitUntilExit()
            #expect(o.process.terminationStatus == 0, "\(o.stderr.suffix(1000))")
        }
        let summary = seen.values.map { "\($0.labels["alertname"] ?? "?") \($0.labels["source"] ?? "<no source>") \($0.state)" }.sorted()
        #expect(done, "not every expected alert became active for both sources; seen:\n\(summary.joined(separator: "\n"))\nagent: \(agent.stderr.suffix(1500))")

        // Both hosts reached the receiver, told apart by `instance`.
        let instances = try curl(["-sfG", "http://127.0.0.1:\(receiverPort)/api/v1/query", "--data-urlencode",
                                  "query=count by (instance) (orchlog_collector_events_ingested_total)"])
        for t in targets { #expect(instances.stdout.contains("\"instance\":\"\(t)\""), "\(t) in \(instances.stdout)") }
        // The exemplars came along (exemplar storage on the agent and the receiver, send_exemplars): each
        // names an invocation. Their times are the events' (simulated time, ahead of the clock at --speed).
        let now = Date().timeIntervalSince1970
        let exemplars = try curl(["-sfG", "http://127.0.0.1:\(receiverPort)/api/v1/query_exemplars", "--data-urlencode",
                                  "query=orch_invocation_duration_seconds_bucket", "--data-urlencode", "start=\(now - 86_400)",
                                  "--data-urlencode", "end=\(now + 30 * 86_400)"])
        #expect(exemplars.stdout.contains("\"invocation_id\":\""), "the receiver holds exemplars: \(exemplars.stdout.prefix(500))")

        for name in Self.expected {
            for s in Self.services {
                #expect(seen.values.contains { $0.labels["alertname"] == name && $0.labels["source"] == s }, "\(name) for source \(s)")
            }
        }
        let lost = seen.values.filter { $0.labels["alertname"] == "OrchStateLostUpdates" }
        #expect(!lost.isEmpty && lost.allSatisfy { $0.state == "firing" }, "OrchStateLostUpdates (for: 0m) fires: \(summary)")
        // Where: every failure-mode alert has its source and no host; a service's two hosts are
        // one alert (an alert per host would be two with the same labels once `instance` is gone).
        for a in seen.values {
            #expect(a.labels["source"].map(Self.services.contains) == true, "an alert without a known source: \(a.labels)")
            #expect(a.labels["instance"] == nil, "an alert with a host: \(a.labels)")
        }
        #expect(duplicated.isEmpty, "one alert per label set: \(duplicated.sorted())")
    }
}
