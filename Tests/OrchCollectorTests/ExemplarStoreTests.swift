import Foundation
import OrchLog
import OrchMetrics
import OrchTestSupport
import Testing
@testable import OrchCollector

/// Exemplars of the three latency histograms: the latest observation per bucket that named
/// its invocation, with the invocation's trace id while the collector tracks it, the event's
/// time to the millisecond; in OpenMetrics only.
@Suite struct ExemplarStoreTests {
    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let second: UInt64 = 1_000_000_000, ms: UInt64 = 1_000_000
    /// Event k's time: 1764000000 s + k × 1.001 s.
    static func at(_ k: UInt64) -> UInt64 { 1_764_000_000 * second + k * 1_001 * ms }

    static func aggregator() throws -> Aggregator {
        let registry = MetricRegistry(clock: { 1_764_000_000 })
        return Aggregator(registry: registry, catalog: try MetricCatalog(registry: registry), trackedKeys: 100)
    }

    /// Writes `emit`'s events as one log, ingests it into `a` (source `src`) and returns the
    /// OpenMetrics exposition's lines that carry an exemplar.
    @discardableResult
    static func ingest(_ a: Aggregator, _ emit: (EventLog) -> Void) throws -> [String] {
        let dir = TempDir("exemplars")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        emit(log)
        log.close()
        let source = try a.source("src")
        try SourceReader(source: try #require(try LogDirectory.sources(at: dir.path).first)).pollBlocks { try a.ingest($0, into: source) }
        return exemplarLines(a.registry)
    }

    static func exemplarLines(_ registry: MetricRegistry) -> [String] {
        var out: [UInt8] = []
        registry.render(format: .openMetrics, into: &out)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.contains(" # {") }
    }

    static func tool(_ log: EventLog, _ latency: UInt64, _ id: UInt64) -> Event {
        .toolCall(tool: log.label("crm"), outcome: .success, latencyNs: latency, fallbackUsed: false, invocationID: id, agent: log.label("triage"))
    }

    static func seconds(_ ns: UInt64) -> String { "\(Double(ns) * 1e-9)" }

    @Test func bucketsNameTheLatestInvocationWithItsTraceID() throws {
        let a = try Self.aggregator()
        let lines = try Self.ingest(a) { log in
            let triage = log.label("triage")
            log.emit(.invocationStarted(agent: triage, invocationID: 7, traceID: TraceID(Self.trace)!), at: Self.at(1))
            log.emit(Self.tool(log, 300 * Self.ms, 7), at: Self.at(2))
            log.emit(.llmRequest(provider: log.label("openai"), model: log.label("gpt-4o"), key: log.label("k1"), outcome: .success, inputTokens: 10,
                                 outputTokens: 5, latencyNs: 250 * Self.ms, rateLimitWaitNs: 0, invocationID: 7, agent: triage), at: Self.at(3))
            log.emit(Self.tool(log, 400 * Self.ms, 0), at: Self.at(4))  // no invocation: the bucket keeps 7's exemplar…
            log.emit(Self.tool(log, 450 * Self.ms, 8), at: Self.at(5))  // …until 8 (never started: no trace id)
            log.emit(Self.tool(log, 20 * Self.ms, 7), at: Self.at(6))
            log.emit(.invocationFinished(agent: triage, outcome: .success, durationNs: 1_500 * Self.ms, queueWaitNs: 0, invocationID: 7), at: Self.at(7))
            // Rejected invocations are not observed, so make no exemplar.
            log.emit(.invocationStarted(agent: triage, invocationID: 9), at: Self.at(8))
            log.emit(.invocationFinished(agent: triage, outcome: .rejected, durationNs: 3 * Self.second, queueWaitNs: 0, invocationID: 9), at: Self.at(9))
        }
        func s(_ ns: UInt64) -> String { Self.seconds(ns) }
        #expect(lines == [
            #"orch_invocation_duration_seconds_bucket{source="src",agent="triage",le="2.5"} 1 # {invocation_id="7",trace_id="\#(Self.trace)"} 1.5 1764000007.007"#,
            #"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="0.025"} 1 # {invocation_id="7",trace_id="\#(Self.trace)"} \#(s(20 * Self.ms)) 1764000006.006"#,
            #"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="0.5"} 4 # {invocation_id="8"} \#(s(450 * Self.ms)) 1764000005.005"#,
            #"gen_ai_client_operation_duration_seconds_bucket{source="src",gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="",le="0.32"} 1 # {invocation_id="7",trace_id="\#(Self.trace)"} \#(s(250 * Self.ms)) 1764000003.003"#,
        ])
        var text: [UInt8] = []
        a.registry.render(format: .prometheusText, into: &text)
        #expect(!String(decoding: text, as: UTF8.self).contains("#  {") && !String(decoding: text, as: UTF8.self).contains(" # {"), "no exemplars in text 0.0.4")
    }

    /// Writes `emit`'s events as one log per call and ingests them into `a` in that order, all
    /// into source `src` (as a source group's instances are read one after the other).
    static func ingestLogs(_ a: Aggregator, _ logs: [(EventLog) -> Void]) throws {
        let dir = TempDir("exemplar-logs")
        defer { dir.remove() }
        let source = try a.source("src")
        for (i, emit) in logs.enumerated() {
            let log = try EventLog(directory: dir.sub("l\(i)/src"))
            emit(log)
            log.close()
            try SourceReader(source: try #require(try LogDirectory.sources(at: dir.sub("l\(i)")).first)).pollBlocks { try a.ingest($0, into: source) }
        }
    }

    @Test func anOlderInstanceDoesNotReplaceANewerExemplar() throws {
        // Two directories of one service, read one after the other: the second's events are
        // older. Prometheus refuses an exemplar older than the one it has, so the newer stays —
        // whether both are noted before one scrape, or a scrape comes between them.
        let newer: (EventLog) -> Void = { log in log.emit(Self.tool(log, 300 * Self.ms, 21), at: Self.at(10)) }
        let older: (EventLog) -> Void = { log in log.emit(Self.tool(log, 310 * Self.ms, 12), at: Self.at(3)) }
        let want = #"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="0.5"} 2 # {invocation_id="21"} \#(Self.seconds(300 * Self.ms)) 1764000010.01"#
        let a = try Self.aggregator()
        try Self.ingestLogs(a, [newer, older])
        #expect(Self.exemplarLines(a.registry) == [want])
        let b = try Self.aggregator()
        try Self.ingestLogs(b, [newer])
        _ = Self.exemplarLines(b.registry)  // a scrape between the two
        try Self.ingestLogs(b, [older])
        #expect(Self.exemplarLines(b.registry) == [want])
        // A later event of the older instance does replace it.
        try Self.ingestLogs(b, [{ log in log.emit(Self.tool(log, 320 * Self.ms, 13), at: Self.at(11)) }])
        #expect(Self.exemplarLines(b.registry).first?.contains(#"{invocation_id="13"}"#) == true)
    }

    /// A log written before the binary form (the golden v3 segment: trace ids as labels)
    /// still gives exemplars their trace ids; its uppercase, malformed and all-zero strings
    /// are not W3C trace ids and give none.
    @Test func theLabelFormOfAnOlderWriterStillGivesTraceIDs() throws {
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden/v3").path
        let a = try Self.aggregator()
        let source = try a.source("golden")
        try SourceReader(source: try #require(try LogDirectory.sources(at: golden).first)).pollBlocks { try a.ingest($0, into: source) }
        let lines = Self.exemplarLines(a.registry)
        let traces = Set(lines.compactMap { $0.firstMatch(of: /trace_id="([^"]*)"/).map { String($0.1) } })
        #expect(!traces.isEmpty, "\(lines)")
        #expect(traces.isSubset(of: ["00f067aa0ba902b700f067aa0ba902b7", "ffffffffffffffffffffffffffffffff", "00000000000000000000000000000001"]), "\(traces)")
    }

    @Test func theTraceIDComesFromAnEarlierBlockAndSurvivesACheckpoint() throws {
        let a = try Self.aggregator()
        try Self.ingest(a) { log in
            log.emit(.invocationStarted(agent: log.label("triage"), invocationID: 7, traceID: TraceID(Self.trace)!), at: Self.at(1))
        }
        // A later log (another block): the tracker knows invocation 7's trace id.
        #expect(try Self.ingest(a) { log in log.emit(Self.tool(log, 300 * Self.ms, 7), at: Self.at(2)) }
            == [#"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="0.5"} 1 # {invocation_id="7",trace_id="\#(Self.trace)"} \#(Self.seconds(300 * Self.ms)) 1764000002.002"#])
        // A restarted collector: the open invocation and its trace id come back from the checkpoint;
        // the exemplars themselves do not (none until the next observation).
        let b = try Self.aggregator()
        b.invocations.restore(a.invocations.packed())
        #expect(b.invocations.openEntries == a.invocations.openEntries)
        #expect(b.invocations.trace(try b.source("src").salt, 7).hex == Self.trace)
        #expect(Self.exemplarLines(b.registry).isEmpty)
        #expect(try Self.ingest(b) { log in log.emit(Self.tool(log, 2 * Self.second, 7), at: Self.at(3)) }
            == [#"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="2.5"} 1 # {invocation_id="7",trace_id="\#(Self.trace)"} 2 1764000003.003"#])
        // Finished: no longer tracked, so events of the id in later blocks carry no trace id.
        try Self.ingest(b) { log in
            log.emit(.invocationFinished(agent: log.label("triage"), outcome: .success, durationNs: 4 * Self.second, queueWaitNs: 0, invocationID: 7), at: Self.at(4))
        }
        #expect(try Self.ingest(b) { log in log.emit(Self.tool(log, 3 * Self.second, 7), at: Self.at(5)) }.filter { $0.hasPrefix("orch_tool_call") }
            == [#"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="2.5"} 1 # {invocation_id="7",trace_id="\#(Self.trace)"} 2 1764000003.003"#,
                #"orch_tool_call_duration_seconds_bucket{source="src",tool="crm",le="5.0"} 2 # {invocation_id="7"} 3 1764000005.005"#])
    }

    @Test func aSeriesRemovedBeforeTheScrapeLeavesNoExemplarToItsSlotsNextSeries() throws {
        let a = try Self.aggregator()
        let dir = TempDir("exemplars-removed")
        defer { dir.remove() }
        // Source old's call is noted, not yet made an exemplar (no OpenMetrics rendering yet)…
        for (name, id, latency) in [("old", UInt64(1), 2 * Self.second), ("new", UInt64(2), 300 * Self.ms)] {
            let log = try EventLog(directory: dir.sub(name))
            log.emit(Self.tool(log, latency, id), at: Self.at(id))
            log.close()
            let source = try #require(try LogDirectory.sources(at: dir.path).first { $0.name == name })
            let s = try a.source(name)
            try SourceReader(source: source).pollBlocks { try a.ingest($0, into: s) }
            // …and its series go (TTL expiry) before the next source's are made in the freed slots.
            if name == "old" { a.remove(source: "old") }
        }
        let tool = Self.exemplarLines(a.registry).filter { $0.hasPrefix("orch_tool_call") }
        #expect(tool == [#"orch_tool_call_duration_seconds_bucket{source="new",tool="crm",le="0.5"} 1 # {invocation_id="2"} \#(Self.seconds(300 * Self.ms)) 1764000002.002"#])
    }

    @Test func aCheckpointWrittenBeforeTraceIDsStillRestores() throws {
        // The earlier packing: a count, then 10 words per open invocation; no trace ids.
        let words: [UInt64] = [1, 0xABCD, 7, 2 << 32 | 1, 100, 10, 0, 0, 0, 0.5.bitPattern, 0, 0]
        let a = try Self.aggregator()
        a.invocations.restore(words.withUnsafeBytes { Data($0) })
        let open = a.invocations.openEntries
        #expect(open.count == 1)
        let t = try #require(open[InvocationTracker.Key(source: 0xABCD, id: 7)])
        #expect(t.llmCalls == 2 && t.toolCalls == 1 && t.tokens.0 == 100 && t.usd == 0.5 && !t.trace.isSome)
    }

    @Test func onlyW3CTraceIDsAreKept() {
        func parse(_ s: String) -> TraceID { Array(s.utf8).withUnsafeBufferPointer { TraceID($0) } }
        #expect(parse(Self.trace).hex == Self.trace)
        #expect(parse("0123456789abcdef0123456789abcdef").hex == "0123456789abcdef0123456789abcdef")
        for bad in ["", Self.trace.uppercased(), String(Self.trace.dropLast()), Self.trace + "0", String(repeating: "0", count: 32),
                    "4bf92f3577b34da6a3ce929d0e0e473g"] {
            #expect(!parse(bad).isSome, "\(bad)")
        }
    }

    @Test func traceIDsRoundTripAndAnyBadDigitIsRefused() {
        func parse(_ s: String) -> TraceID { Array(s.utf8).withUnsafeBufferPointer { TraceID($0) } }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let id = TraceID(hi: rng.next(), lo: rng.next() | 1)
            #expect(parse(id.hex) == id)
            #expect(id.hex == String(id.hi, radix: 16).leftPadded(16) + String(id.lo, radix: 16).leftPadded(16))
            // One byte anywhere that is not a lowercase hex digit: no trace id.
            var bytes = Array(id.hex.utf8)
            bytes[Int.random(in: 0..<32)] = [0x2F, 0x3A, 0x40, 0x47, 0x60, 0x67, 0xC3, 0x00, 0x41].randomElement()!
            #expect(!bytes.withUnsafeBufferPointer { TraceID($0) }.isSome, "\(bytes)")
        }
    }

    @Test func droppedFamiliesMakeNoExemplars() throws {
        let registry = MetricRegistry(clock: { 1_764_000_000 })
        let catalog = try MetricCatalog(registry: registry, filter: try FamilyFilter(keep: [], drop: ["orch_tool_call_duration_seconds"]))
        let a = Aggregator(registry: registry, catalog: catalog, trackedKeys: 100)
        let lines = try Self.ingest(a) { log in
            log.emit(Self.tool(log, 300 * Self.ms, 7), at: Self.at(1))
            log.emit(.invocationFinished(agent: log.label("triage"), outcome: .success, durationNs: 1_500 * Self.ms, queueWaitNs: 0, invocationID: 7), at: Self.at(2))
        }
        #expect(lines == [#"orch_invocation_duration_seconds_bucket{source="src",agent="triage",le="2.5"} 1 # {invocation_id="7"} 1.5 1764000002.002"#])
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
