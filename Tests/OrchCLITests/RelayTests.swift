import Foundation
import OrchLog
import Testing
@testable import OrchCLI

/// The relay's core in process: lines in, one log per source out, rejections counted.
@Suite struct RelayCoreTests {
    static func root(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.path + "/orchlog-relaycore-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.removeItem(atPath: path)
        return path
    }

    static func take(_ relay: Relay, _ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { relay.take(datagram: $0, from: "test") }
    }

    static func drops(_ path: String) throws -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for r in try SourceReader.readAll(path) where r.type == .eventsDropped {
            out[DropReason.names[Int(r.numbers[1])], default: 0] += r.numbers[0]
        }
        return out
    }

    /// Every invocation's own trace id, through the fast path and the full parser (a line
    /// with an escape), reaches the log as given and grows no label table of the writer's;
    /// a bad trace id is an invalid event, counted.
    @Test func traceIDsGrowNoLabelTableAndBadOnesAreInvalid() throws {
        let root = Self.root("traces")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let relay = try Relay(Relay.Config(root: root, defaultSource: "svc"))
        func trace(_ i: Int) -> String { TraceID(hi: 0x00f0_67aa_0ba9_02b7, lo: UInt64(i)).hex }
        let n = 20_000
        var labels: Int?
        for i in 1...n {
            // Every other line has an escape (\u0061 is "a"): the full parser's path.
            let agent = i % 2 == 0 ? "a" : "\\u0061"
            Self.take(relay, "{\"type\":\"invocation_started\",\"agent\":\"\(agent)\",\"invocation_id\":\(i),\"trace_id\":\"\(trace(i))\"}\n")
            if i == 2 { labels = relay.labelTableCount(source: "svc") }
        }
        Self.take(relay, "{\"type\":\"invocation_started\",\"agent\":\"a\",\"invocation_id\":1,\"trace_id\":\"4BF92F3577B34DA6A3CE929D0E0E4736\"}\n")
        #expect(labels != nil && relay.labelTableCount(source: "svc") == labels, "\(String(describing: labels)) → \(String(describing: relay.labelTableCount(source: "svc")))")
        #expect(relay.close() == 0)
        #expect(relay.counts == Relay.Counts(accepted: n, invalid: 1))
        let records = try SourceReader.readAll(root + "/svc")
        #expect(records.count == n)
        #expect(records.enumerated().allSatisfy { k, r in r.text(of: "trace_id") == trace(k + 1) && r.text(of: "agent") == "a" })
    }

    @Test func eachSourceGetsItsOwnLogAndLabelsAreItsOwn() throws {
        let root = Self.root("sources")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let relay = try Relay(Relay.Config(root: root, defaultSource: "fallback"))
        Self.take(relay, """
        {"type":"tool_call","source":"a","tool":"crm","outcome":"timeout","latency_ns":5}
        {"type":"tool_call","source":"b","tool":"search","outcome":"success","latency_ns":6}
        {"type":"tool_call","tool":"kb","outcome":"success","latency_ns":7}
        {"source":"a","type":"key_rotation","provider":"openai","from":"k1","to":"k2"}

        """)
        #expect(relay.close() == 0)
        #expect(relay.counts == Relay.Counts(accepted: 4))
        #expect(relay.sourceNames == ["a", "b", "fallback"])
        let a = try SourceReader.readAll(root + "/a")
        #expect(a.map(\.type) == [.toolCall, .keyRotation])
        #expect(a[0].labels == ["crm", ""] && a[1].labels == ["openai", "k1", "k2", ""])
        #expect(try SourceReader.readAll(root + "/b").map(\.labels) == [["search", ""]])
        #expect(try SourceReader.readAll(root + "/fallback").map(\.labels) == [["kb", ""]])
        #expect(try Self.drops(root + "/orchlog-relay").isEmpty)
    }

    @Test func rejectionsAreCountedIntoTheRelaysOwnSourceOncePerTick() throws {
        let root = Self.root("counts")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var config = Relay.Config(root: root)
        config.maxSources = 1
        config.relaySource = "relay-self"
        let relay = try Relay(config)
        Self.take(relay, #"{"type":"tool_call","source":"a","tool":"crm","outcome":"success","latency_ns":1}"# + "\n" +
                         #"{"type":"tool_call","source":"b","tool":"crm","outcome":"success","latency_ns":1}"# + "\n" +
                         #"{"type":"tool_call","tool":"crm","outcome":"success","latency_ns":1}"# + "\n" +
                         #"{"type":"tool_call","source":"relay-self","tool":"crm","outcome":"success","latency_ns":1}"# + "\n" +
                         #"{"type":"tool_call","source":"a","tool":"crm","outcome":"succes","latency_ns":1}"#)
        relay.unreadable("a datagram too long")
        #expect(relay.counts == Relay.Counts(accepted: 1, invalid: 3, overLimit: 1, unreadable: 1))
        relay.tick()
        relay.tick()  // nothing new: nothing more written
        Self.take(relay, "{}")
        #expect(relay.close() == 0)
        #expect(try Self.drops(root + "/relay-self") == ["invalid_event": 4, "source_limit": 1, "unreadable_datagram": 1])
        #expect(try SourceReader.readAll(root + "/relay-self").count == 4, "3 reasons at the first tick, 1 at close")
    }

    @Test func badSourceNamesInTheConfigAreUsageErrors() {
        #expect(throws: CLIError.self) { try Relay(Relay.Config(root: Self.root("x"), defaultSource: "a/b")) }
        var c = Relay.Config(root: Self.root("y"))
        c.relaySource = ".hidden"
        #expect(throws: CLIError.self) { try Relay(c) }
    }
}
