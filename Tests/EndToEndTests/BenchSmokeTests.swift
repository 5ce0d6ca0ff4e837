import Foundation
import OrchTestSupport
import Testing

/// Keeps `orchlog-bench` building and running: a `--quick` smoke run must report every
/// benchmark with sane figures. No timing is asserted (timing belongs in BENCHMARKS.md).
@Suite struct BenchSmokeTests {
    static let benchmarks: Set<String> = ["emit", "write", "ingest", "fleet", "fleet-live", "relay", "render", "invocation-memory", "tail-latency", "overhead", "live-overhead"]

    @Test func quickRunReportsEveryBenchmarkWithPositiveFigures() throws {
        let dir = TempDir("bench")
        defer { dir.remove() }
        let run = try runTool("orchlog-bench", ["--quick", "--json", "--dir", dir.path])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["quick"] as? Bool == true)
        let results = try #require(report["benchmarks"] as? [[String: Any]])
        #expect(Set(results.compactMap { $0["name"] as? String }) == Self.benchmarks)
        var targets = 0
        var goals: [String] = []
        for result in results {
            let name = result["name"] as? String ?? "?"
            let figures = result["figures"] as? [[String: Any]] ?? []
            #expect(!figures.isEmpty, "\(name) reported no figures: \(result["notes"] ?? "")")
            for figure in figures {
                let label = "\(name).\(figure["name"] as? String ?? "?")"
                let stats = figure["stats"] as? [String: Any] ?? [:]
                let median = (stats["median"] as? NSNumber)?.doubleValue ?? .nan
                let runs = (stats["runs"] as? NSNumber)?.intValue ?? 0
                #expect(runs >= 1, "\(label) has no runs")
                if figure["zeroAllowed"] as? Bool == true {
                    #expect(median.isFinite, "\(label) = \(median)")
                } else {
                    #expect(median.isFinite && median > 0, "\(label) = \(median)")
                }
                if figure["target"] != nil {
                    targets += 1
                    #expect(figure["met"] is Bool, "\(label) has a target but no verdict")
                }
                if figure["goal"] != nil {
                    goals.append(label)
                    #expect(figure["goalMet"] is Bool, "\(label) has a goal but no verdict")
                }
            }
        }
        #expect(targets >= 10, "only \(targets) figures carry a target")
        // The ratios against libdeflate, the codec the log uses, are reported as stricter goals.
        #expect(goals.sorted() == ["ingest.ratio_to_read_inflate", "write.ratio_to_compressor_alone_fsync_interval",
                                   "write.ratio_to_compressor_alone_fsync_never"])
    }

    /// The bench pre-generates the `generate` mix into a corpus and replays it into a fresh log
    /// (label ids must line up): the replay must be the same events `orchlog generate` writes.
    @Test func benchCorpusIsTheGenerateMix() throws {
        let dir = TempDir("bench-corpus")
        defer { dir.remove() }
        let events = 3000
        let bench = try runTool("orchlog-bench", ["--internal-write-corpus", dir.sub("root/bench"), String(events)])
        #expect(bench.status == 0, "\(bench.stderr)")
        let generate = try runTool("orchlog", ["generate", "--out", dir.sub("root/generate"), "--events", String(events), "--seed", "1"])
        #expect(generate.status == 0, "\(generate.stderr)")

        func fields(_ source: String) throws -> [String] {
            let tail = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("root/\(source)")])
            #expect(tail.status == 0, "\(tail.stderr)")
            return try tail.stdout.split(separator: "\n").prefix(events).map { line in
                var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                object["ts"] = nil
                object["source"] = nil
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                return String(decoding: data, as: UTF8.self)
            }
        }
        let ours = try fields("bench")
        let theirs = try fields("generate")
        #expect(ours.count == events)
        #expect(theirs.count == events)
        let first = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(first == nil, "event \((first?.offset ?? 0) + 1) differs: orchlog-bench \(first?.element.0 ?? "") vs orchlog generate \(first?.element.1 ?? "")")
    }
}
