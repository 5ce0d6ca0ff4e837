import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// One rule for an enumeration code this build does not know (a newer writer's value): every
/// reader shows it as `unknown`, nothing folds it into a known value, and a record carrying it
/// is written back as it is.
@Suite struct UnknownValueTests {
    /// A tool call whose outcome is code 9 (ToolOutcome has 0…3).
    static func toolCall(outcome: UInt64) -> EventRecord {
        EventRecord(type: .toolCall, seq: 1, timestamp: 5, labels: ["crm"], numbers: [outcome, 1_500, 0])
    }

    @Test func anUnknownCodeReadsAsUnknownAndHasNoTypedEvent() {
        let record = Self.toolCall(outcome: 9)
        #expect(record.text(of: "outcome") == "unknown")
        #expect(record.number(of: "outcome") == 9, "the stored code stays readable")
        #expect(record.hasUnknownValue(record.schema.field(named: "outcome")!))
        #expect(record.event { _ in Label(id: 0) } == nil, "no ToolOutcome case stands for code 9")
        let known = Self.toolCall(outcome: 3)
        #expect(known.text(of: "outcome") == "short_circuited")
        #expect(!known.hasUnknownValue(known.schema.field(named: "outcome")!))
        #expect(known.event { _ in Label(id: 0) } == .toolCall(tool: Label(id: 0), outcome: .shortCircuited, latencyNs: 1_500, fallbackUsed: false))

        // Every enumeration field of every type: the first code past its names is unknown.
        for type in EventType.allCases {
            let schema = EventSchema.of(type)
            for field in schema.fields {
                guard case .enumeration(let names) = field.kind else { continue }
                var raw = RawEvent(type: type)
                raw.setNumber(field.slot, UInt64(names.count))
                #expect(Event(raw: raw) == nil, "\(schema.name).\(field.name)")
                raw.setNumber(field.slot, UInt64(names.count - 1))
                #expect(Event(raw: raw) != nil, "\(schema.name).\(field.name)")
                raw.setNumber(field.slot, 300)
                let record = EventRecord(raw: raw, strings: [])
                #expect(record.text(of: field) == "unknown", "\(schema.name).\(field.name)")
            }
        }
    }

    /// `emit(record:)` keeps the code (ingest copying a log, a relay): the log holds 9, and a
    /// reader shows `unknown`, not `success`.
    @Test func aRecordWithAnUnknownCodeIsWrittenAsItIs() throws {
        let dir = TempDir("unknown-code")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        log.emit(record: Self.toolCall(outcome: 9))
        log.emit(record: Self.toolCall(outcome: 1))
        log.close()
        let records = try readAll(dir.sub("src"))
        #expect(records.map { $0.number(of: "outcome") } == [9, 1])
        #expect(records.map { $0.text(of: "outcome") } == ["unknown", "error"])
        #expect(records.map(\.labels) == [["crm", ""], ["crm", ""]], "the labels the record lacked are \"\"")

        let memory = EventLog.inMemory()
        memory.emit(record: Self.toolCall(outcome: 9))
        memory.emit(.toolCall(tool: memory.label("crm"), outcome: .error, latencyNs: 1_500, fallbackUsed: false))
        #expect(memory.recordedRecords.map { $0.text(of: "outcome") } == ["unknown", "error"])
        #expect(memory.recordedEvents == [.toolCall(tool: memory.label("crm"), outcome: .error, latencyNs: 1_500, fallbackUsed: false)],
                "only the event with a known outcome has a typed form")
    }
}
