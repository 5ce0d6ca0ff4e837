import OrchLog
@testable import OrchLive
import Testing

@Suite struct CommitSequencerTests {
    static func write(_ base: UInt64) -> Event {
        .stateWrite(shard: Label(id: 0), key: Label(id: 1), baseVersion: base, newVersion: base + 1, outcome: .committed, latencyNs: 0, attempt: 1)
    }

    static func bases(_ log: EventLog) -> [UInt64] {
        log.recordedEvents.compactMap { if case let .stateWrite(_, _, base, _, _, _, _, _) = $0 { return base } else { return nil } }
    }

    /// Replies come back out of the store's order; the log gets them in the store's order.
    @Test func commitsAreLoggedInTheStoresOrderPerKey() {
        let log = EventLog.inMemory()
        let s = CommitSequencer(log: log)
        s.committed("a", sequence: 3, Self.write(2), at: 30)
        s.committed("b", sequence: 1, Self.write(10), at: 5)
        #expect(Self.bases(log) == [10])
        s.committed("a", sequence: 2, Self.write(1), at: 20)
        #expect(Self.bases(log) == [10])
        s.committed("a", sequence: 1, Self.write(0), at: 10)
        #expect(Self.bases(log) == [10, 0, 1, 2])
        #expect(log.recordedRecords.map(\.timestamp) == [5, 10, 20, 30])
        #expect(s.parkedCount == 0)
    }

    /// A lost reply leaves a gap: what follows it is logged, in order, by drain().
    @Test func commitsBehindAGapAreLoggedInOrderAtTheEnd() {
        let log = EventLog.inMemory()
        let s = CommitSequencer(log: log)
        s.committed("a", sequence: 1, Self.write(0), at: 1)
        s.committed("a", sequence: 4, Self.write(3), at: 4)
        s.committed("a", sequence: 3, Self.write(2), at: 3)
        #expect(s.parkedCount == 2)
        #expect(s.drain() == 2)
        #expect(Self.bases(log) == [0, 2, 3])
        #expect(s.parkedCount == 0)
    }
}
