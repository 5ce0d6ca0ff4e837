import Foundation
import OrchLog
import OrchTestSupport
import Testing

/// docs/instrumenting.md cannot rot: its code blocks are the compiled regions of Examples/
/// and, for its worked example, of the live reference orchestrator (Sources/OrchLive), and
/// the example binary built from them writes the events the guide promises.
@Suite struct GuideTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The directories whose Swift files hold the guide's regions: the example orchestrator,
    /// and the live reference orchestrator the guide walks through.
    static let regionDirectories = ["Examples", "Sources/OrchLive"]

    /// `// guide:begin NAME` … `// guide:end NAME` regions of the `regionDirectories`' Swift
    /// files, name → text (without their common indentation).
    static func exampleRegions() throws -> [String: String] {
        var regions: [String: String] = [:]
        for sub in regionDirectories {
            try collectRegions(in: repoRoot + "/" + sub, into: &regions)
        }
        return regions
    }

    private static func collectRegions(in dir: String, into regions: inout [String: String]) throws {
        for file in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            var current: String?
            var lines: [String] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("// guide:begin ") {
                    #expect(current == nil, "\(file): region \(current ?? "") not ended before \(trimmed)")
                    current = String(trimmed.dropFirst("// guide:begin ".count))
                    lines = []
                } else if trimmed.hasPrefix("// guide:end ") {
                    let name = String(trimmed.dropFirst("// guide:end ".count))
                    #expect(name == current, "\(file): guide:end \(name) does not match guide:begin \(current ?? "-")")
                    #expect(regions[name] == nil, "region \(name) defined twice")
                    regions[name] = dedented(lines).joined(separator: "\n")
                    current = nil
                } else if current != nil {
                    lines.append(String(line))
                }
            }
            #expect(current == nil, "\(file): region \(current ?? "") never ended")
        }
    }

    /// `lines` without the indentation they all share (blank lines aside): a region taken from
    /// inside a type reads in the guide as it would at the top level.
    static func dedented(_ lines: [String]) -> [String] {
        let indents = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }
        let common = indents.min() ?? 0
        return lines.map { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "" : String($0.dropFirst(common)) }
    }

    /// The ```swift blocks of a Markdown file, in order.
    static func swiftBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(String(line))
            }
        }
        return blocks
    }

    @Test func everyGuideCodeBlockIsACompiledExampleRegion() throws {
        let guide = try String(contentsOfFile: GuideTests.repoRoot + "/docs/instrumenting.md", encoding: .utf8)
        let blocks = GuideTests.swiftBlocks(guide)
        let regions = try GuideTests.exampleRegions()
        #expect(blocks.count >= 10, "the guide shows code for every part")
        let regionTexts = Set(regions.values)
        for (i, block) in blocks.enumerated() {
            #expect(regionTexts.contains(block), "```swift block \(i + 1) of docs/instrumenting.md is not verbatim a `// guide:begin` region of \(GuideTests.regionDirectories.joined(separator: " or ")):\n\(block.prefix(300))")
        }
        for (name, text) in regions.sorted(by: { $0.key < $1.key }) {
            #expect(blocks.filter { $0 == text }.count == 1, "region \(name) must appear exactly once in the guide")
            #expect(!text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "region \(name) is empty")
        }
        // Every event an orchestrator emits is shown at its place in the guide's code.
        let code = blocks.joined(separator: "\n")
        for type in EventType.allCases where type != .eventsDropped {
            let caseName = String(describing: type)
            #expect(code.contains(".\(caseName)("), "the guide's code never emits \(type.name)")
        }
    }

    @Test func exampleRunsAndWritesTheEventsTheGuideDescribes() throws {
        let dir = TempDir("guide-example")
        defer { dir.remove() }
        let r = try runTool("orchlog-example", [dir.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("example-orchestrator: 9 invocations, 2 rejected"), "\(r.stdout)")
        #expect(r.stdout.contains("test-double: breaker test passed\n"), "\(r.stdout)")
        #expect(r.stdout.contains("reader: tool timeouts [\"crm\": 3]\n"), "three CRM timeouts, read back through the public reader API\n\(r.stdout)")

        let tail = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("example-orchestrator")])
        #expect(tail.status == 0, "\(tail.stderr)")
        let events = tail.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        func of(_ type: String) -> [[String: Any]] { events.filter { $0["type"] as? String == type } }
        #expect(Set(events.compactMap { $0["type"] as? String }) == Set(EventType.allCases.filter { $0 != .eventsDropped }.map(\.name)),
                "every event type but events_dropped, and no drops")
        #expect(events.map { $0["seq"] as? Int ?? 0 } == Array(1...events.count), "nothing dropped or lost")

        // Ten offered to a queue of eight.
        #expect(of("queue_rejection").count == 2)
        #expect(of("queue_rejection").allSatisfy { $0["queue"] as? String == "requests" && $0["reason"] as? String == "queue_full" && $0["retry_after_ns"] as? Int == 2_000_000_000 })
        #expect(of("queue_sample").contains { $0["depth"] as? Int == 8 && $0["capacity"] as? Int == 8 })
        // Started and finished pair up; request 8 timed out.
        let started = of("invocation_started").compactMap { $0["invocation_id"] as? Int }
        let finished = of("invocation_finished")
        #expect(started.sorted() == [1, 2, 3, 4, 5, 6, 7, 8, 11])
        #expect(finished.compactMap { $0["invocation_id"] as? Int }.sorted() == started.sorted())
        #expect(finished.filter { $0["outcome"] as? String == "timeout" }.compactMap { $0["invocation_id"] as? Int } == [8])
        #expect(finished.allSatisfy { $0["queue"] as? String == "requests" })
        // Breaker: three timeouts open it, three calls are short-circuited, a trial closes it.
        let transitions = of("breaker_transition").map { "\($0["from"] as? String ?? "")>\($0["to"] as? String ?? "")" }
        #expect(transitions == ["closed>open", "open>half_open", "half_open>closed"])
        let tools = of("tool_call").map { $0["outcome"] as? String ?? "" }
        #expect(tools == ["success", "success", "timeout", "timeout", "timeout", "short_circuited", "short_circuited", "short_circuited", "success"])
        #expect(of("tool_call").allSatisfy { ($0["fallback"] as? Bool) == ($0["outcome"] as? String != "success") })
        // 429 on key-1 rotates to key-2 once.
        #expect(of("llm_request").first?["outcome"] as? String == "rate_limited")
        #expect(of("llm_request").dropFirst().allSatisfy { $0["outcome"] as? String == "success" && $0["key"] as? String == "key-2" && $0["output_tokens"] as? Int == 120 })
        #expect(of("key_rotation").count == 1 && of("key_rotation").first?["to"] as? String == "key-2")
        // The race on account:0: one conflict, retried as attempt 2 from the new version.
        let writes = of("state_write")
        let conflict = try #require(writes.firstIndex { $0["outcome"] as? String == "conflict" })
        #expect(writes.filter { $0["outcome"] as? String == "conflict" }.count == 1)
        #expect(writes[conflict]["base_version"] as? Int == writes[conflict]["new_version"] as? Int)
        let retry = writes[conflict + 1]
        #expect(retry["outcome"] as? String == "committed" && retry["attempt"] as? Int == 2
                && retry["base_version"] as? Int == (writes[conflict - 1]["new_version"] as? Int))
        #expect(of("memory_flush").first?["pending"] as? Int == 3)
        #expect(of("ratelimiter_sample").allSatisfy { $0["concurrency_limit"] as? Int == 4 && $0["inflight"] as? Int == 0 })
        #expect(of("worker_pool_sample").allSatisfy { $0["size"] as? Int == 4 })
    }

    @Test func overloadDropsAreCountedAndRecordedInTheLog() throws {
        let dir = TempDir("guide-overload")
        defer { dir.remove() }
        let r = try runTool("orchlog-example", [dir.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("overload-demo: ") })
        let reported = try #require(Int(line.split(separator: " ")[5]), "\(line)")
        #expect(reported > 0, "a 16-event buffer cannot hold a 100,000-event burst")

        let tail = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("overload-demo")])
        let events = tail.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let drops = events.filter { $0["type"] as? String == "events_dropped" }
        #expect(!drops.isEmpty && drops.allSatisfy { $0["reason"] as? String == "buffer_full" })
        let recorded = drops.compactMap { $0["count"] as? Int }.reduce(0, +)
        #expect(recorded == reported, "the log records exactly what stats counted")
        let kept = events.filter { $0["type"] as? String == "queue_sample" }.count
        #expect(kept + recorded == 100_000, "every emitted event is either in the log or counted as dropped")
    }
}
