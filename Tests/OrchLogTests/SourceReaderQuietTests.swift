import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// A reader at the end of its source checks the directory for a newer segment only when the
/// directory changed: a live source polled again and again costs a `stat`, not a listing. A new
/// segment (a writer restarting, a rotation) or a recreated directory changes the directory,
/// so nothing written is missed, however long the directory was quiet before.
@Suite struct SourceReaderQuietTests {
    /// One writer session of worker-pool samples (`SourceRestartTests`' helper).
    func write(_ path: String, from first: UInt64, count: Int) throws {
        try SourceRestartTests().write(path, from: first, count: count)
    }

    func poll(_ reader: SourceReader) throws -> [UInt64] {
        var seen: [UInt64] = []
        try reader.pollBlocks { block in seen += block.events.map(\.n0) }
        return seen
    }

    @Test func aNewSegmentAfterAQuietDirectoryIsReadAtOnce() throws {
        let dir = TempDir("quiet-reader")
        defer { dir.remove() }
        let path = dir.sub("src")
        try write(path, from: 0, count: 5)
        let reader = SourceReader(source: SourceDirectory(name: "src", path: path))
        #expect(try poll(reader) == [0, 1, 2, 3, 4])
        // Quiet for longer than the filesystem clock's margin: the end is now taken on trust…
        usleep(2_200_000)
        #expect(try poll(reader).isEmpty)
        #expect(try poll(reader).isEmpty)
        // …until the directory changes: a second writer session starts a new segment.
        try write(path, from: 100, count: 3)
        #expect(try poll(reader) == [100, 101, 102], "the new segment is read on the first poll after it appeared")
        // And a directory recreated after a quiet spell is read from its start.
        usleep(2_200_000)
        #expect(try poll(reader).isEmpty)
        try FileManager.default.removeItem(atPath: path)
        try write(path, from: 500, count: 2)
        #expect(try poll(reader) == [500, 501], "the recreated log, from its start")
    }
}
