import Foundation
import OrchTestSupport
import Testing

/// docs/extending.md is executable: its blocks, put where their headings say in a copy of the
/// package, add an event type and two metrics; the copy builds, and the new type goes through
/// NDJSON ingest, `orchlog tail`, `orchlog schema` and the collector. It also holds the
/// promise that adding a type takes three Swift files.
@Suite struct ExtendingTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// One block of the doc: the file, the anchor line it goes above, its text.
    struct Insertion {
        let file: String
        let anchor: String
        let text: String
    }

    static func insertions() throws -> [Insertion] {
        let doc = try String(contentsOfFile: repoRoot + "/docs/extending.md", encoding: .utf8)
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var found: [Insertion] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if line.hasPrefix("<!-- extending: "), let above = line.range(of: " above \"") {
                let file = String(line[line.index(line.startIndex, offsetBy: 16)..<above.lowerBound])
                let anchor = String(line[above.upperBound...].prefix { $0 != "\"" })
                try #require(i + 1 < lines.count && lines[i + 1] == "```swift", "a swift block follows \(line)")
                var body: [String] = []
                i += 2
                while i < lines.count, lines[i] != "```" {
                    body.append(lines[i])
                    i += 1
                }
                found.append(Insertion(file: file, anchor: anchor, text: body.joined(separator: "\n")))
            }
            i += 1
        }
        return found
    }

    @Test func theWalkThroughAddsATypeInThreeFilesAndItWorksEndToEnd() throws {
        let inserts = try Self.insertions()
        #expect(inserts.count >= 8, "the doc's blocks are found (\(inserts.count))")
        let files = Set(inserts.map(\.file))
        #expect(files == ["Sources/OrchLog/EventType.swift", "Sources/OrchLog/Event.swift", "Sources/OrchCollector/MetricCatalog.swift"],
                "three Swift files: \(files.sorted())")

        let dir = TempDir("extending")
        defer { dir.remove() }
        let copy = dir.sub("orchlog")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        // The package as it stands (its manifest names targets in several folders), without
        // build products or the repository.
        let items = try FileManager.default.contentsOfDirectory(atPath: Self.repoRoot).filter { ![".build", ".git", "data", ".swiftpm"].contains($0) }
        for item in items {
            let cp = try run("/bin/cp", ["-R", Self.repoRoot + "/" + item, copy + "/"])
            try #require(cp.status == 0, "\(cp.stderr)")
        }
        for insert in inserts {
            let path = copy + "/" + insert.file
            var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let at = try #require(lines.firstIndex { $0.contains(insert.anchor) }, "\(insert.file) has the line \(insert.anchor)")
            #expect(lines.filter { $0.contains(insert.anchor) }.count == 1, "the anchor \(insert.anchor) is unique")
            lines.insert(contentsOf: insert.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init), at: at)
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }

        let scratch = dir.sub("scratch")
        for product in ["orchlog", "orchlog-collector"] {
            let build = try run("/usr/bin/env", ["swift", "build", "--package-path", copy, "--scratch-path", scratch, "--product", product])
            try #require(build.status == 0, "the extended copy builds \(product):\n\(build.stdout.suffix(4000))\n\(build.stderr.suffix(4000))")
        }
        let bin = try run("/usr/bin/env", ["swift", "build", "--package-path", copy, "--scratch-path", scratch, "--show-bin-path"])
        let binDir = bin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // NDJSON in (the parser and validator come from the schema alone).
        let root = dir.sub("root")
        let ndjson = """
        {"type":"cache_lookup","ts":"2026-12-03T10:00:00Z","cache":"answers","outcome":"hit","latency_ns":2000000}
        {"type":"cache_lookup","ts":"2026-12-03T10:00:01Z","cache":"answers","outcome":"hit","latency_ns":3000000}
        {"type":"cache_lookup","ts":"2026-12-03T10:00:02Z","cache":"answers","outcome":"miss"}
        {"type":"cache_lookup","ts":"2026-12-03T10:00:03Z","cache":"answers","outcome":"stale"}

        """
        let ingest = try run(binDir + "/orchlog", ["ingest", "--out", root + "/cachesvc"], stdin: ndjson)
        #expect(ingest.status == 1, "a rejected line makes ingest exit 1 (its valid lines are still written): \(ingest.stderr)")
        #expect(ingest.stderr.contains("stale"), "an enumeration value the schema lacks is refused, naming it: \(ingest.stderr)")

        let tail = try run(binDir + "/orchlog", ["tail", root, "-o", "json", "--type", "cache_lookup"])
        #expect(tail.status == 0, "\(tail.stderr)")
        let rows = tail.stdout.split(separator: "\n")
        #expect(rows.count == 3, "three valid lookups read back: \(tail.stdout)")
        #expect(rows.first?.contains("\"outcome\":\"hit\"") == true && rows.first?.contains("\"cache\":\"answers\"") == true, "\(rows.first ?? "")")

        let schema = try run(binDir + "/orchlog", ["schema"])
        #expect(schema.stdout.contains("cache_lookup"), "orchlog schema lists the type")

        let once = try run(binDir + "/orchlog-collector", ["--once", "--log.dir", root])
        #expect(once.status == 0, "\(once.stderr)")
        let text = once.stdout
        #expect(text.contains("orch_cache_lookups_total{source=\"cachesvc\",cache=\"answers\",outcome=\"hit\"} 2"), "\(text.prefix(3000))")
        #expect(text.contains("orch_cache_lookups_total{source=\"cachesvc\",cache=\"answers\",outcome=\"miss\"} 1"))
        #expect(text.contains("orch_cache_lookups_total{source=\"cachesvc\",cache=\"answers\",outcome=\"expired\"} 0"), "every outcome starts at 0")
        #expect(text.contains("orch_cache_lookup_duration_seconds_count{source=\"cachesvc\",cache=\"answers\"} 2"), "the miss is not observed")
        #expect(text.contains("orch_cache_lookup_duration_seconds_sum{source=\"cachesvc\",cache=\"answers\"} 0.005"))
        let reference = try run(binDir + "/orchlog-collector", ["--metrics.reference"])
        #expect(reference.stdout.contains("| `orch_cache_lookups_total` | counter | `source`, `cache`, `outcome` | `cache_lookup`: +1 |"), "the reference has the family and its feed")
    }
}
