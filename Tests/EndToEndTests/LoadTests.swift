import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// HTTP under load (`make test-load`, which sets ORCHLOG_LOAD=1, points ORCHLOG_BIN_DIR at the
/// release build and installs wrk): 50 concurrent clients scrape /metrics continuously while
/// the collector ingests a large log at full speed. The test asserts no errors and no non-200
/// answers; the latency figures it prints go to RELIABILITY.md, not into assertions.
@Suite struct LoadTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["ORCHLOG_LOAD"] != nil, "set ORCHLOG_LOAD=1 (make test-load)"))
    func fiftyClientsScrapeContinuouslyWhileTheCollectorIngestsAtFullSpeed() throws {
        let events = Self.environment["ORCHLOG_LOAD_EVENTS"].flatMap(Int.init) ?? 20_000_000
        let seconds = Self.environment["ORCHLOG_LOAD_SECONDS"].flatMap(Int.init) ?? 30
        let dir = TempDir("load")
        defer { dir.remove() }
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("root/big"), "--events", "\(events)", "--summary-json", dir.sub("big.json")])
        #expect(gen.status == 0, "\(gen.stderr)")
        let total = Double(try readJSON(dir.sub("big.json"))["events"] as! Int)

        let (collector, port) = try startCollector(["--log.dir", dir.sub("root"), "--checkpoint.file", dir.sub("collector.checkpoint")], dir: dir)
        defer { collector.stop() }
        let url = "http://127.0.0.1:\(port)/metrics"
        func ingested(_ source: String? = nil) -> Double {
            let m = parseExposition((try? curl([url]))?.stdout ?? "")
            return [source].compactMap { $0 }.ifEmpty(["big", "live"])
                .reduce(0) { $0 + (m["orchlog_collector_events_ingested_total{source=\"\($1)\"}"] ?? 0) }
        }
        // A live writer at full speed as well, so the collector is still ingesting when the
        // clients stop, however fast it works through the backlog.
        let live = try Daemon(binaryPath("orchlog"), ["generate", "--out", dir.sub("root/live"), "--events", "1000000000", "--seed", "9",
                                                      "--summary-json", dir.sub("live.json")], dir: dir, name: "live")
        let started = Date()
        // Two runs: the headers Prometheus sends (OpenMetrics preferred, gzip), then plain text
        // without compression (gzip dominates the cost of a scrape).
        let headerSets: [(String, [String])] = [
            ("prometheus-headers", ["-H", "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                                    "-H", "Accept-Encoding: gzip"]),
            ("uncompressed-text", ["-H", "Accept: text/plain;version=0.0.4", "-H", "Accept-Encoding: identity"]),
        ]
        for (name, headers) in headerSets {
            let before = ingested()
            let runStarted = Date()
            let arguments = ["-t", "2", "-c", "50", "-d", "\(seconds)s", "--timeout", "10s", "--latency"] + headers + [url]
            let wrk = try run("/usr/bin/wrk", arguments)
            let after = ingested()
            let elapsed = Date().timeIntervalSince(runStarted)
            #expect(wrk.status == 0, "\(name): \(wrk.stderr)")
            print("load[\(name)]: wrk \(arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))\n\(wrk.stdout)")
            #expect(!wrk.stdout.contains("Non-2xx or 3xx responses"), "\(name): every scrape got 200")
            #expect(!wrk.stdout.contains("Socket errors"), "\(name): no connection errors or timeouts")
            let requests = wrk.stdout.split(separator: "\n").first { $0.contains("requests in") }
                .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) } ?? 0
            #expect(requests > 50, "\(name): the clients really scraped: \(requests) requests")
            #expect(after > before, "\(name): the collector ingested during the load")
            print("load[\(name)]: ingested \(Int(after - before)) events during the run (\(Int((after - before) / elapsed)) events/s under load; backlog \(Int(ingested("big"))) of \(Int(total)))")
        }
        let liveStopped = Date()
        #expect(live.stop() == 0, "\(live.stderr)")
        let liveTotal = Double(try readJSON(dir.sub("live.json"))["events"] as! Int)
        print("load: the live writer wrote \(Int(liveTotal)) events in \(Int(liveStopped.timeIntervalSince(started))) s")
        #expect(Daemon.waitUntil(timeout: 600) { ingested("big") == total }, "the collector catches up exactly")
        #expect(Daemon.waitUntil(timeout: 600) { ingested("live") == liveTotal }, "and exactly on the live source")
        #expect(collector.stop() == 0)
    }
}

extension Array {
    fileprivate func ifEmpty(_ replacement: [Element]) -> [Element] { isEmpty ? replacement : self }
}
