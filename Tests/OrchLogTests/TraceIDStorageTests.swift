import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// `invocation_started`'s `trace_id` is a value (`TraceID`, two number streams), never an
/// interned label: a trace id per invocation grows no writer-wide table, and it reads back as
/// the 32 hex digits it was.
@Suite struct TraceIDStorageTests {
    static func id(_ i: UInt64) -> TraceID { TraceID(hi: 0x4bf9_2f35_77b3_4da6 ^ i &* 0x9E37_79B9_7F4A_7C15, lo: i | 1 << 63) }

    @Test func distinctTraceIDsLeaveTheLabelTableAsItWas() throws {
        let dir = TempDir("trace-labels")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        let agent = log.label("triage")
        let before = log.labelTableCount
        #expect(before == 1)
        let n: UInt64 = 100_000
        for i in 1...n {
            log.emit(.invocationStarted(agent: agent, invocationID: i, traceID: Self.id(i)), at: 1_764_000_000_000_000_000 + i)
            if i % 2_000 == 0 { log.flush() }  // never a full buffer: every event is kept
        }
        log.close()
        #expect(log.stats.dropped == 0)
        #expect(log.labelTableCount == before, "the writer's label table grew by \(log.labelTableCount - before)")
        let records = try SourceReader.readAll(dir.sub("src"))
        #expect(records.count == Int(n))
        var wrong = 0
        for (k, r) in records.enumerated() where r.text(of: "trace_id") != Self.id(UInt64(k + 1)).hex || r.traceID(of: "trace_id") != Self.id(UInt64(k + 1)) {
            wrong += 1
        }
        #expect(wrong == 0)
        // Each block's string table holds the agent and "" (the label form, unwritten): no trace id.
        #expect(records.allSatisfy { $0.labels == ["triage", ""] })
    }

    @Test func theTypedEventComesBackWithItsTraceID() {
        let log = EventLog.inMemory()
        let agent = log.label("a")
        log.emit(.invocationStarted(agent: agent, invocationID: 1, traceID: Self.id(5)), at: 10)
        log.emit(.invocationStarted(agent: agent, invocationID: 2), at: 11)
        let records = log.recordedRecords
        #expect(records.map { $0.text(of: "trace_id") } == [Self.id(5).hex, ""])
        #expect(records.map { $0.event(intern: log.label) } == [.invocationStarted(agent: agent, invocationID: 1, traceID: Self.id(5)),
                                                                 .invocationStarted(agent: agent, invocationID: 2)])
    }

    @Test func parsingNamesTheValueAndWhatIsWrong() throws {
        #expect(try TraceID(parsing: "") == .none)
        #expect(try TraceID(parsing: "4bf92f3577b34da6a3ce929d0e0e4736") == TraceID(hi: 0x4bf9_2f35_77b3_4da6, lo: 0xa3ce_929d_0e0e_4736))
        #expect(TraceID(hi: 0x4bf9_2f35_77b3_4da6, lo: 0xa3ce_929d_0e0e_4736).hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceID(hi: 0, lo: 1).hex == "00000000000000000000000000000001")
        #expect(TraceID.none.hex == "")
        let cases: [(String, String)] = [
            ("4BF92F3577B34DA6A3CE929D0E0E4736", "uppercase hex digit at offset 1"),
            ("4bf92f3577b34da6a3ce929d0e0e473", "is 31 bytes long"),
            ("4bf92f3577b34da6a3ce929d0e0e4736 ", "is 33 bytes long"),
            ("4bf92f3577b34da6a3ce929d0e0e473g", "not a hex digit at offset 31"),
            ("00000000000000000000000000000000", "all zeros"),
        ]
        for (text, why) in cases {
            #expect(throws: TraceIDError.self) { try TraceID(parsing: text) }
            do {
                _ = try TraceID(parsing: text)
            } catch {
                #expect(error.message.contains("\"\(text)\"") && error.message.contains(why), "\(error.message)")
            }
        }
    }

    @Test func aRecordInTheLabelFormIsWrittenInTheBinaryForm() throws {
        // What a reader of a block from before the binary form makes: the label form's string.
        func old(_ trace: String) -> EventRecord {
            EventRecord(type: .invocationStarted, seq: 1, timestamp: 5, labels: ["a", trace], numbers: [9])
        }
        let log = EventLog.inMemory()
        let valid = "4bf92f3577b34da6a3ce929d0e0e4736"
        log.emit(record: old(valid))
        log.emit(record: old(""))
        let labels = log.labelTableCount
        #expect(labels == 2, "a and \"\"; not the trace id")
        log.emit(record: old("NOT-A-TRACE"))  // the label form took any string: kept as it was
        #expect(log.labelTableCount == labels + 1)
        let records = log.recordedRecords
        #expect(records.map { $0.text(of: "trace_id") } == [valid, "", "NOT-A-TRACE"])
        #expect(records.map { $0.traceID(of: "trace_id") } == [TraceID(valid), TraceID.none, TraceID.none])
        #expect(records[0].labels == ["a", ""] && records[0].numbers == [9, 0x4bf9_2f35_77b3_4da6, 0xa3ce_929d_0e0e_4736])
    }
}
