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
