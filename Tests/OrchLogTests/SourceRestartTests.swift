import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// A source directory deleted and written anew (a pod restarted on a fresh emptyDir, a wiped
/// log volume) starts its sequence numbers and segment numbers over. A reader following it, or
/// resuming from a saved position, must read the new log from its start — every event once —
/// and say so, not keep waiting on the deleted file or report the new events as deleted.
@Suite struct SourceRestartTests {
    /// Writes `count` worker-pool samples whose `busy` runs from `first`, in one writer session.
    func write(_ path: String, from first: UInt64, count: Int) throws {
        let log = try EventLog(directory: path)
        let pool = log.label("workers")
        for i in 0..<count { log.emit(.workerPoolSample(pool: pool, busy: first + UInt64(i), size: 100)) }
        log.close()
    }

    func follow(_ reader: SourceReader, into seen: inout [UInt64]) throws {
        try reader.pollBlocks { block in seen += block.events.map(\.n0) }
    }

    /// (writer sessions before, after): the new log shorter than, as long as, or longer than
    /// the old one in segments.
    @Test(arguments: [(1, 1), (1, 2), (2, 1), (3, 1)])
    func aFollowerReadsARecreatedSourceFromItsStart(oldSessions: Int, newSessions: Int) throws {
        let dir = TempDir("restart-follow")
        defer { dir.remove() }
        let path = dir.sub("src")
        var old: [UInt64] = []
        for s in 0..<oldSessions {
            try write(path, from: UInt64(10 * s), count: 5)
            old += (0..<5).map { UInt64(10 * s + $0) }
        }
        let reader = SourceReader(source: SourceDirectory(name: "src", path: path))
        var problems: [LogProblem] = []
        reader.onProblem = { problems.append($0) }
        var seen: [UInt64] = []
        try follow(reader, into: &seen)
        #expect(seen == old)

        // Deleted and recreated: segment numbers start over at 1.
        try FileManager.default.removeItem(atPath: path)
        var expected: [UInt64] = []
        for s in 0..<newSessions {
            try write(path, from: UInt64(100 * (s + 1)), count: 3)
            expected += (0..<3).map { UInt64(100 * (s + 1) + $0) }
        }
        try follow(reader, into: &seen)
        #expect(seen == old + expected)
        #expect(problems.map(\.kind) == [.restarted], "\(problems)")
        #expect(reader.position.lastSeq == UInt64(3 * newSessions))
        // Nothing more, and no further problems, on the next polls.
        try follow(reader, into: &seen)
        #expect(seen.count == old.count + expected.count)
        #expect(problems.count == 1)
    }

    /// A saved position (what a collector checkpoint holds) in a segment that another writer
    /// has since written: the reader starts over instead of reading at the old offset.
    @Test func aSavedPositionInARecreatedSourceStartsOver() throws {
        let dir = TempDir("restart-resume")
        defer { dir.remove() }
        let path = dir.sub("src")
        try write(path, from: 0, count: 40)
        let first = SourceReader(source: SourceDirectory(name: "src", path: path))
        var seen: [UInt64] = []
        try follow(first, into: &seen)
        let saved = first.position
        #expect(saved.writerID != nil)
        // The position survives a checkpoint round trip.
        let decoded = try JSONDecoder().decode(LogPosition.self, from: JSONEncoder().encode(saved))
        #expect(decoded == saved)

        try FileManager.default.removeItem(atPath: path)
        try write(path, from: 500, count: 60)  // a larger first segment: the old offset is inside it
        let resumed = SourceReader(source: SourceDirectory(name: "src", path: path), from: decoded)
        var problems: [LogProblem] = []
        resumed.onProblem = { problems.append($0) }
        var after: [UInt64] = []
        try follow(resumed, into: &after)
        #expect(after == (500..<560).map { UInt64($0) })
        #expect(problems.map(\.kind) == [.restarted], "\(problems)")

        // An ordinary restart of the writer (same directory, a new segment) is not a restart
        // of the source: the reader carries on without a problem.
        let carryOn = SourceReader(source: SourceDirectory(name: "src", path: path), from: resumed.position)
        var more: [UInt64] = []
        var quiet: [LogProblem] = []
        carryOn.onProblem = { quiet.append($0) }
        try write(path, from: 900, count: 2)
        try follow(carryOn, into: &more)
        #expect(more == [900, 901])
        #expect(quiet.isEmpty, "\(quiet)")
    }

    /// Checkpoints written before positions carried a writer id still load (and resume
    /// without the check).
    @Test func positionsWithoutAWriterIDStillDecode() throws {
        let json = #"{"segment":3,"offset":1234,"lastSeq":99}"#
        let p = try JSONDecoder().decode(LogPosition.self, from: Data(json.utf8))
        #expect(p == LogPosition(segment: 3, offset: 1234, lastSeq: 99))
        #expect(p.writerID == nil)
    }
}
