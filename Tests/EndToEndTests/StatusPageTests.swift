import Foundation
import OrchTestSupport
import Testing

/// The collector's status page (`/`) as a person sees it: the built collector follows a paced
/// reference-orchestrator run, headless Chromium (Debian's `chromium`) loads the page, and
/// the test reads the rendered DOM — which source rows there are, which failure modes are
/// flagged and in what words, and whether the sparklines have points.
@Suite struct StatusPageTests {
    /// One indicator cell as rendered.
    struct Cell {
        var key: String
        var severity: String
        var value: Double?
        /// The cell's text without tags, as read on screen.
        var text: String
        /// Points of the cell's sparkline polylines.
        var points: Int
    }

    /// Loads `url` in headless Chromium and returns the DOM after rendering.
    static func renderedDOM(_ url: String, dir: TempDir) throws -> String {
        // Root needs --no-sandbox; a profile directory per test lets two run at once.
        let r = try run("/usr/bin/timeout", ["90", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                             "--user-data-dir=\(dir.sub("chromium"))", "--dump-dom", url])
        guard r.status == 0, r.stdout.contains("</html>") else { throw TestFailure("chromium failed (\(r.status)): \(r.stderr)") }
        return r.stdout
    }

    static func matches(_ pattern: String, in text: String) -> [[String]] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
            (0..<m.numberOfRanges).map { i in Range(m.range(at: i), in: text).map { String(text[$0]) } ?? "" }
        }
    }

    /// The row of `source` (its severity and cells), or nil when the page has none.
    static func row(_ source: String, in dom: String) -> (severity: String, header: String, cells: [String: Cell])? {
        guard let row = matches(#"<tr class="source[^"]*" data-source="\#(source)" data-severity="(\w+)">(.*?)</tr>"#, in: dom).first else { return nil }
        let header = matches(#"<th scope="row">(.*?)</th>"#, in: row[2]).first?[1] ?? ""
        var cells: [String: Cell] = [:]
        for c in matches(#"<td class="indicator[^"]*" data-indicator="(\w+)" data-severity="(\w+)" data-value="([^"]*)">(.*?)</td>"#, in: row[2]) {
            let points = matches(#"<polyline points="([^"]*)""#, in: c[4]).reduce(0) { $0 + $1[1].split(separator: " ").count }
            let text = c[4].replacingOccurrences(of: #"<title>.*?</title>"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
            cells[c[1]] = Cell(key: c[1], severity: c[2], value: Double(c[3]), text: text, points: points)
        }
        return (row[1], header, cells)
    }

    static let indicators = ["success_rate", "queue", "lost_updates", "write_timeouts", "open_breakers", "rate_limited"]

    /// Starts the collector (sampling every 0.5 s) and `scenario` paced so that its simulated
    /// day spans about `wallSeconds`.
    static func start(_ scenario: String, dir: TempDir, wallSeconds: Double = 20) throws -> (collector: Daemon, port: Int, orchestrator: Daemon) {
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root"), "--status.sample-interval", "0.5"], dir: dir)
        let orchestrator = try Daemon(binaryPath("reference-orchestrator"),
                                      ["--scenario", scenario, "--out", dir.sub("root"), "--duration", "1d",
                                       "--speed", String(format: "%.0f", 86_400 / wallSeconds), "--quiet"],
                                      dir: dir, name: "orchestrator")
        return (collector, port, orchestrator)
    }

    @Test func productionNaiveShowsLostUpdatesFlaggedAndHealthyModesNot() throws {
        let dir = TempDir("status-naive"); defer { dir.remove() }
        let (collector, port, orchestrator) = try Self.start("production-naive", dir: dir)
        defer {
            orchestrator.stop()
            collector.stop()
        }
        // Mid-run: the page is what an operator opens while the incident is happening.
        let url = "http://127.0.0.1:\(port)/"
        var dom = ""
        let seen = try Daemon.waitUntil(timeout: 40) {
            dom = try Self.renderedDOM(url, dir: dir)
            guard let row = Self.row("production-naive", in: dom), let lost = row.cells["lost_updates"] else { return false }
            return lost.severity == "critical" && lost.points >= 10
        }
        #expect(orchestrator.process.isRunning, "the run should still be going when the page is read")
        #expect(seen, "no flagged lost-updates cell with a sparkline on the page: \(dom.prefix(4000))")
        guard let row = Self.row("production-naive", in: dom) else {
            Issue.record("no row for production-naive: \(dom.prefix(4000))")
            return
        }
        #expect(Set(row.cells.keys) == Set(Self.indicators))
        #expect(row.severity == "critical")
        #expect(row.header.contains("production-naive") && row.header.contains("CRITICAL"))

        let lost = try #require(row.cells["lost_updates"])
        #expect((lost.value ?? 0) > 0, "lost updates: \(lost.text)")
        #expect(lost.text.contains("CRITICAL"))
        #expect(lost.text.contains("silently overwritten"))
        // The sparkline has a point per history interval, and shows the losses above its floor.
        #expect(lost.points >= 10)
        let spark = Self.matches(#"data-indicator="lost_updates".*?<polyline points="([^"]*)""#, in: dom).first?[1] ?? ""
        let ys = spark.split(separator: " ").compactMap { Double($0.split(separator: ",").last ?? "") }
        #expect(ys.contains { $0 < 27 }, "the lost-updates sparkline never leaves 0: \(spark)")

        // The other failure modes of the naive orchestrator are flagged too, each in words.
        let timeouts = try #require(row.cells["write_timeouts"])
        #expect(timeouts.severity == "critical" && timeouts.text.contains("CRITICAL"), "\(timeouts.text)")
        let llm = try #require(row.cells["rate_limited"])
        #expect(llm.severity != "ok", "\(llm.text)")
        // No breakers in the naive orchestrator: that indicator is healthy and says so.
        let breakers = try #require(row.cells["open_breakers"])
        #expect(breakers.severity == "ok" && breakers.value == 0)
        #expect(breakers.text.contains("ok") && !breakers.text.contains("CRITICAL") && !breakers.text.contains("WARNING"))
        // The page's headline names the source and the failing mode.
        let summary = Self.matches(#"<p class="summary[^"]*" id="summary">(.*?)</p>"#, in: dom).first?[1] ?? ""
        #expect(summary.contains("production-naive") && summary.contains("lost updates"), "\(summary)")
        // The links to the metrics stay.
        #expect(dom.contains("href=\"/metrics\""))
        // Nothing but its own inline style may run or load.
        let head = try curl(["-sI", url])
        #expect(head.stdout.contains("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'"), "\(head.stdout)")

        // The JSON variant says the same.
        let json = try curl(["http://127.0.0.1:\(port)/status.json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let sources = report?["sources"] as? [[String: Any]] ?? []
        let naive = sources.first { $0["name"] as? String == "production-naive" }
        let jsonLost = (naive?["indicators"] as? [[String: Any]])?.first { $0["key"] as? String == "lost_updates" }
        #expect(jsonLost?["severity"] as? String == "critical")
        #expect(report?["capacity"] as? Int == 90)
    }

    @Test func pilotRunShowsNoFlaggedIndicator() throws {
        let dir = TempDir("status-pilot"); defer { dir.remove() }
        let (collector, port, orchestrator) = try Self.start("pilot", dir: dir)
        defer { collector.stop() }
        orchestrator.process.waitUntilExit()
        #expect(orchestrator.process.terminationStatus == 0, "\(orchestrator.stderr)")
        // Every event ingested (the count stands still), then a few more samples.
        func ingested() -> Double {
            parseExposition((try? curl(["http://127.0.0.1:\(port)/metrics"]))?.stdout ?? "")["orchlog_collector_events_ingested_total{source=\"pilot\"}"] ?? 0
        }
        var last = -1.0
        #expect(Daemon.waitUntil(timeout: 30) {
            let now = ingested()
            defer { last = now }
            usleep(500_000)
            return now > 0 && now == last
        })
        usleep(1_500_000)
        let dom = try Self.renderedDOM("http://127.0.0.1:\(port)/", dir: dir)
        guard let row = Self.row("pilot", in: dom) else {
            Issue.record("no row for pilot: \(dom.prefix(4000))")
            return
        }
        #expect(Set(row.cells.keys) == Set(Self.indicators))
        for (key, cell) in row.cells {
            #expect(cell.severity == "ok", "\(key) flagged on a healthy run: \(cell.text)")
            #expect(!cell.text.contains("CRITICAL") && !cell.text.contains("WARNING"), "\(key): \(cell.text)")
        }
        #expect(row.severity == "ok")
        #expect((row.cells["success_rate"]?.value ?? 0) > 0.9)
        #expect((row.cells["write_timeouts"]?.value).map { $0 < 0.05 } ?? false, "write timeouts measured on the pilot")
        #expect((row.cells["success_rate"]?.points ?? 0) > 0, "the success-rate sparkline has points")
        #expect(Self.matches(#"class="[^"]*sev-(warning|critical)"#, in: dom).isEmpty, "a flagged element on the page")
        #expect(dom.contains("healthy"))
    }

    /// The page and its JSON are behind the same basic auth as /metrics.
    @Test func statusPageIsBehindTheWebConfigsBasicAuth() throws {
        let dir = TempDir("status-auth"); defer { dir.remove() }
        // A published bcrypt vector (Openwall crypt_blowfish): password "U*U", cost 5.
        try "basic_auth_users:\n  alice: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'\n"
            .write(toFile: dir.sub("web.yml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.sub("root"), withIntermediateDirectories: true)
        let (collector, port) = try startCollector(["--log.dir", dir.sub("root"), "--web.config.file", dir.sub("web.yml")], dir: dir)
        defer { collector.stop() }
        for path in ["/", "/status.json", "/metrics"] {
            let anonymous = try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)\(path)"])
            #expect(anonymous.stdout == "401", "\(path) without credentials")
            let wrong = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:nope", "http://127.0.0.1:\(port)\(path)"])
            #expect(wrong.stdout == "401", "\(path) with a wrong password")
            let ok = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:U*U", "http://127.0.0.1:\(port)\(path)"])
            #expect(ok.stdout == "200", "\(path) with credentials")
        }
    }
}
