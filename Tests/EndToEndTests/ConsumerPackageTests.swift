import Foundation
import OrchTestSupport
import Testing

/// A Swift package depends on orchlog the ordinary way — by version, through a URL — builds the
/// README's instrumenting snippet and writes events that `orchlog tail` reads back. SwiftPM
/// refuses a dependency pinned by version whose library targets carry unsafe build flags, so
/// this is the test that OrchLog can be adopted at all.
@Suite struct ConsumerPackageTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A README ```swift block that starts with `line`.
    static func readmeBlock(startingWith line: String) throws -> String {
        let readme = try String(contentsOfFile: repoRoot + "/README.md", encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for l in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, l == "```swift" { current = [] } else if current != nil, l == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else { current?.append(String(l)) }
        }
        return try #require(blocks.first { $0.hasPrefix(line) }, "README has a swift block starting with \(line)")
    }

    @Test func aPackageDependingOnATaggedVersionBuildsTheReadmeSnippet() throws {
        let dir = TempDir("consumer")
        defer { dir.remove() }
        // The repository as a user gets it: a clone, tagged with a release version.
        let clone = dir.sub("orchlog")
        let git = try run("/usr/bin/git", ["clone", "--quiet", "--no-hardlinks", ConsumerPackageTests.repoRoot, clone])
        try #require(git.status == 0, "\(git.stderr)")
        let tag = try run("/usr/bin/git", ["-C", clone, "-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", "0.1.0", "-m", "0.1.0"])
        try #require(tag.status == 0, "\(tag.stderr)")

        // The consumer: its manifest is the README's dependency snippet with the URL filled in.
        let consumer = dir.sub("consumer")
        try FileManager.default.createDirectory(atPath: consumer + "/Sources/consumer", withIntermediateDirectories: true)
        let dependency = try ConsumerPackageTests.readmeBlock(startingWith: "// swift-tools-version:6.0\n// Package.swift of your orchestrator")
        #expect(dependency.contains("from: \"0.1.0\"") && dependency.contains(".product(name: \"OrchLog\", package: \"orchlog\")"))
        let manifest = dependency.replacingOccurrences(of: "https://github.com/your-org/orchlog.git", with: "file://\(clone)")
        #expect(manifest != dependency, "the README names the URL to replace")
        try manifest.write(toFile: consumer + "/Package.swift", atomically: true, encoding: .utf8)

        let logDir = dir.sub("logs/checkout-api")
        let snippet = try ConsumerPackageTests.readmeBlock(startingWith: "import OrchLog")
        let program = snippet.replacingOccurrences(of: "/var/lib/orchlog/checkout-api", with: logDir)
        #expect(program != snippet, "the snippet writes to /var/lib/orchlog/checkout-api")
        try program.write(toFile: consumer + "/Sources/consumer/main.swift", atomically: true, encoding: .utf8)

        let build = try run("/usr/bin/env", ["swift", "build", "--package-path", consumer, "--scratch-path", dir.sub("scratch")])
        try #require(build.status == 0, "the consumer must resolve orchlog by version and build:\n\(build.stdout)\n\(build.stderr)")
        #expect(!build.stderr.contains("unsafe build flags"))
        let resolved = try String(contentsOfFile: consumer + "/Package.resolved", encoding: .utf8)
        #expect(resolved.contains("\"version\" : \"0.1.0\""), "pinned by version: \(resolved)")

        let binary = try run("/usr/bin/env", ["swift", "build", "--package-path", consumer, "--scratch-path", dir.sub("scratch"), "--show-bin-path"])
        let exe = binary.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/consumer"
        let runIt = try run(exe, [])
        #expect(runIt.status == 0, "\(runIt.stderr)")

        let tail = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("logs")])
        #expect(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(tail.stdout)")
        #expect(lines[0].contains("\"source\":\"checkout-api\",\"type\":\"tool_call\",\"tool\":\"crm\",\"outcome\":\"timeout\",\"latency_ns\":30000000000,\"fallback\":true"))
        #expect(lines[1].contains("\"type\":\"invocation_finished\",\"agent\":\"support\",\"outcome\":\"success\",\"duration_ns\":8000000000,\"queue_wait_ns\":40000000,\"invocation_id\":7"))
    }

    @Test func noTargetOfALibraryProductUsesUnsafeFlags() throws {
        let manifest = try String(contentsOfFile: ConsumerPackageTests.repoRoot + "/Package.swift", encoding: .utf8)
        #expect(!manifest.contains(".unsafeFlags("), "SwiftPM refuses unsafe flags in a dependency pinned by version")
    }
}
