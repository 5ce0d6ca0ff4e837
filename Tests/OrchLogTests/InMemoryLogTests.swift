import OrchLog
import OrchTestSupport
import Testing

/// The test double users get for their own components' unit tests: `EventLog.inMemory()`.
/// Imports `OrchLog` as a user does (no `@testable`), so only the public API is used.
@Suite struct InMemoryLogTests {
    /// A component as a user would write one: it takes an `EventLog` and emits into it.
    final class Breaker: Sendable {
        let log: EventLog
        let tool: Label
        init(log: EventLog) {
            self.log = log
            tool = log.label("crm")
        }
        func trip() {
            log.emit(.toolCall(tool: tool, outcome: .timeout, latencyNs: 30_000_000_000, fallbackUsed: true))
            log.emit(.breakerTransition(tool: tool, from: .closed, to: .open))
        }
    }

    @Test func recordsExactlyTheEventsEmittedInOrder() {
        let log = EventLog.inMemory()
        #expect(log.isInMemory && log.recordedEvents.isEmpty)
        Breaker(log: log).trip()
        #expect(log.recordedEvents == [
            .toolCall(tool: log.label("crm"), outcome: .timeout, latencyNs: 30_000_000_000, fallbackUsed: true),
            .breakerTransition(tool: log.label("crm"), from: .closed, to: .open),
        ])
        let records = log.recordedRecords
        #expect(records.map(\.seq) == [1, 2])
        #expect(records.map(\.type) == [.toolCall, .breakerTransition])
        #expect(records[0].text(of: "tool") == "crm" && records[0].text(of: "outcome") == "timeout")
        #expect(records[0].number(of: "latency_ns") == 30_000_000_000 && records[0].text(of: "fallback") == "true")
        #expect(records[1].text(of: "to") == "open")
        #expect(records[0].timestamp > 1_700_000_000_000_000_000, "stamped with the wall clock")
    }

    @Test func keepsEveryEventPastTheBufferAndFromManyThreads() async {
        let log = EventLog.inMemory()
        let agent = log.label("planner")
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<5_000 {
                        log.emit(.invocationStarted(agent: agent, invocationID: UInt64(t * 1_000_000 + i)))
                    }
                }
            }
        }
        let records = log.recordedRecords
        #expect(records.count == 20_000, "nothing dropped though the buffer holds 1,024")
        #expect(records.map(\.seq) == Array(1...20_000), "sequence numbers strictly increasing")
        #expect(Set(records.compactMap { $0.number(of: "invocation_id") }).count == 20_000)
        #expect(log.stats.dropped == 0)
    }

    @Test func removeForgetsAndCloseDropsAndCountsLaterEvents() {
        let log = EventLog.inMemory()
        let q = log.label("requests")
        log.emit(.queueSample(queue: q, depth: 1, capacity: 10))
        log.removeRecordedEvents()
        log.emit(.queueSample(queue: q, depth: 2, capacity: 10))
        #expect(log.recordedRecords.map(\.seq) == [2])
        log.close()
        log.emit(.queueSample(queue: q, depth: 3, capacity: 10))
        #expect(log.recordedRecords.compactMap { $0.number(of: "depth") } == [2])
        #expect(log.stats.droppedBufferFull == 1, "an event after close is dropped and counted, as on disk")
        log.flush()  // no flusher: returns at once
    }

    @Test func aFileBackedLogRecordsNothingInMemory() throws {
        let dir = TempDir("inmemory-file")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        log.emit(.queueSample(queue: log.label("q"), depth: 1, capacity: 2))
        #expect(!log.isInMemory && log.recordedEvents.isEmpty)
        log.close()
        // The public reader API reads it back.
        let records = try SourceReader.readAll(dir.path)
        #expect(records.count == 1 && records[0].source == "src" && records[0].number(of: "depth") == 1)
    }

    @Test func theReaderFollowsALiveWriterRecordByRecord() throws {
        let dir = TempDir("reader-follow")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("svc"))
        let reader = SourceReader(source: SourceDirectory(name: "svc", path: dir.sub("svc")))
        var seen: [UInt64] = []
        log.emit(.workerPoolSample(pool: log.label("p"), busy: 1, size: 4))
        log.flush()
        #expect(try reader.poll { seen.append($0.number(of: "busy") ?? 99) } == 1)
        log.emit(.workerPoolSample(pool: log.label("p"), busy: 2, size: 4))
        log.emit(.workerPoolSample(pool: log.label("p"), busy: 3, size: 4))
        log.flush()
        #expect(try reader.poll { seen.append($0.number(of: "busy") ?? 99) } == 2)
        #expect(try reader.poll { _ in } == 0, "nothing new")
        #expect(seen == [1, 2, 3])
        log.close()
    }
}
