import Foundation
import OrchTestSupport
import Testing

/// The reference orchestrator gives every invocation a W3C trace id on `invocation_started`
/// (32 lowercase hex digits, not all zeros), in simulation and live, and it reaches the log
/// as `orchlog tail -o json` prints it. In simulation the ids follow from the seed.
@Suite struct TraceIDTests {
    /// (invocation_id, trace_id) of every `invocation_started` under `root`.
    static func traceIDs(_ root: String) throws -> [(UInt64, String)] {
        let r = try runTool("orchlog", ["tail", "--from-start", "--type", "invocation_started", "-o", "json", root])
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdout.split(separator: "\n").map { line in
            let e = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (try #require((e["invocation_id"] as? NSNumber)?.uint64Value), e["trace_id"] as? String ?? "")
        }
    }

    static func checkWellFormed(_ ids: [(UInt64, String)], _ what: String) {
        #expect(!ids.isEmpty, "\(what): no invocation started")
        for (id, trace) in ids {
            #expect(trace.count == 32 && trace.allSatisfy { "0123456789abcdef".contains($0) } && trace != String(repeating: "0", count: 32),
                    "\(what): invocation \(id) has trace_id \"\(trace)\"")
        }
        #expect(Set(ids.map(\.1)).count == ids.count, "\(what): every invocation has its own trace id")
    }

    @Test func simulatedInvocationsCarryTraceIDsThatFollowFromTheSeed() throws {
        let dir = TempDir("trace-sim")
        defer { dir.remove() }
        func run(_ name: String, seed: Int) throws -> [(UInt64, String)] {
            let r = try runTool("reference-orchestrator", ["--scenario", "pilot", "--duration", "7200", "--seed", "\(seed)", "--quiet",
                                                           "--out", dir.sub(name)])
            #expect(r.status == 0, "\(r.stderr)")
            return try Self.traceIDs(dir.sub(name))
        }
        let first = try run("a", seed: 11), again = try run("b", seed: 11), other = try run("c", seed: 12)
        Self.checkWellFormed(first, "seed 11")
        #expect(first.map(\.0) == again.map(\.0) && first.map(\.1) == again.map(\.1), "the same seed gives the same trace ids")
        Self.checkWellFormed(other, "seed 12")
        #expect(Set(first.map(\.1)).isDisjoint(with: other.map(\.1)), "another seed gives other trace ids")
    }

    @Test func liveInvocationsCarryTraceIDs() throws {
        let dir = TempDir("trace-live")
        defer { dir.remove() }
        let r = try runTool("reference-orchestrator", ["--scenario", "production-hardened", "--live", "--state-store", "redis", "--speed", "100", "--duration", "5",
                                                       "--out", dir.sub("root"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        Self.checkWellFormed(try Self.traceIDs(dir.sub("root")), "live")
    }
}
