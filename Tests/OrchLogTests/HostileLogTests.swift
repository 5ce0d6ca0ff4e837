import Foundation
import Glibc
@testable import OrchLog
import OrchTestSupport
import Testing

/// Hand-built segments whose frames pass their CRC but lie: a buggy or hostile writer, not a
/// flipped bit. The reader must reject each as corruption, carry on, and never trap.
struct HostileSegment {
    var bytes: [UInt8]
    /// Offsets of the frames appended so far.
    var offsets: [Int64] = []

    init(number: UInt64 = 1, firstSeq: UInt64 = 1) {
        bytes = SegmentHeader(writerID: 7, segmentNumber: number, firstSeq: firstSeq, createdNs: 1_700_000_000_000_000_000).encoded()
    }

    /// A block of `count` queue samples starting at `firstSeq`, built by the real encoder.
    static func block(firstSeq: UInt64, count: Int) -> [UInt8] {
        var encoder = BlockEncoder()
        var raw = ByteBuffer(capacity: 1024)
        defer { encoder.deallocate(); raw.deallocate() }
        let labels = LabelSnapshot(table: [Array("q".utf8)])
        for i in 0..<count {
            let event = Event.queueSample(queue: Label(id: 0), depth: UInt64(i), capacity: 100)
            encoder.append(event.raw(seq: firstSeq &+ UInt64(i), timestamp: 1_700_000_000_000_000_000), labels: labels)
        }
        encoder.assemble(into: &raw)
        return Array(raw.bytes)
    }

    /// zlib-compresses `raw`.
    static func deflate(_ raw: [UInt8]) throws -> [UInt8] {
        let deflater = try Deflater(level: 6)
        var out = ByteBuffer(capacity: 1024)
        defer { out.deallocate() }
        try raw.withUnsafeBytes { try deflater.compress($0, into: &out) }
        return Array(out.bytes)
    }

    /// Appends a frame with a correct CRC around `payload`; the header fields are whatever
    /// the caller claims.
    mutating func appendFrame(payload: [UInt8], rawLength: Int, eventCount: Int, firstSeq: UInt64) {
        offsets.append(Int64(bytes.count))
        var header = [UInt8](repeating: 0, count: LogFormat.frameHeaderSize)
        header.withUnsafeMutableBytes { h in
            payload.withUnsafeBytes { p in
                FrameHeader.write(into: h.baseAddress!, payload: p, rawLength: rawLength, eventCount: eventCount,
                                  firstSeq: firstSeq, firstTs: 0, lastTs: 0)
            }
        }
        bytes += header + payload
    }

    /// Appends an honest frame of `count` events.
    mutating func appendGood(firstSeq: UInt64, count: Int) throws {
        let raw = Self.block(firstSeq: firstSeq, count: count)
        appendFrame(payload: try Self.deflate(raw), rawLength: raw.count, eventCount: count, firstSeq: firstSeq)
    }

    func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

@Suite struct HostileLogTests {
    @Test func framesWithValidCRCsButLyingHeadersAreCorruptAndTheReaderCarriesOn() throws {
        let dir = TempDir("hostile")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("src"), withIntermediateDirectories: true)
        var s = HostileSegment()
        try s.appendGood(firstSeq: 1, count: 3)
        let raw = HostileSegment.block(firstSeq: 4, count: 3)
        let payload = try HostileSegment.deflate(raw)
        let hostile: [(String, () -> Void)] = [
            ("header claims more events than the block holds", { s.appendFrame(payload: payload, rawLength: raw.count, eventCount: 1000, firstSeq: 4) }),
            ("header claims 2^32-1 events", { s.appendFrame(payload: payload, rawLength: raw.count, eventCount: Int(UInt32.max), firstSeq: 4) }),
            ("header claims no events", { s.appendFrame(payload: payload, rawLength: raw.count, eventCount: 0, firstSeq: 4) }),
            ("raw length shorter than the stream inflates to", { s.appendFrame(payload: payload, rawLength: raw.count - 1, eventCount: 3, firstSeq: 4) }),
            ("raw length longer than the stream inflates to", { s.appendFrame(payload: payload, rawLength: raw.count + 1, eventCount: 3, firstSeq: 4) }),
            ("raw length zero", { s.appendFrame(payload: payload, rawLength: 0, eventCount: 3, firstSeq: 4) }),
            ("empty payload", { s.appendFrame(payload: [], rawLength: raw.count, eventCount: 3, firstSeq: 4) }),
            ("header sequence ahead of the block's", { s.appendFrame(payload: payload, rawLength: raw.count, eventCount: 3, firstSeq: 2) }),
            ("header sequence behind the block's", { s.appendFrame(payload: payload, rawLength: raw.count, eventCount: 3, firstSeq: 9) }),
            ("payload that is not zlib", { s.appendFrame(payload: raw, rawLength: raw.count, eventCount: 3, firstSeq: 4) }),
        ]
        for (_, append) in hostile { append() }
        try s.appendGood(firstSeq: 4, count: 3)
        try s.write(to: dir.sub("src/0000000000000001.olog"))

        var problems: [LogProblem] = []
        let records = try readAll(dir.sub("src"), problems: &problems)
        #expect(records.map(\.seq) == [1, 2, 3, 4, 5, 6], "only the honest frames are delivered")
        #expect(problems.map(\.offset) == Array(s.offsets[1..<s.offsets.count - 1]))
        for (p, (what, _)) in zip(problems, hostile) {
            #expect(p.kind == .corrupt, "\(what): \(p)")
        }
        let verify = try runTool("orchlog", ["verify", dir.sub("src")])
        #expect(verify.status == 1)
        #expect(verify.stdout.split(separator: "\n").count == hostile.count, "\(verify.stdout)")
    }

    @Test func sequenceNumbersAtTheTopOfTheRangeNeverTrapReadersOrTheWriter() throws {
        let dir = TempDir("seqmax")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("src"), withIntermediateDirectories: true)
        var first = HostileSegment(number: 1, firstSeq: UInt64.max - 1)
        try first.appendGood(firstSeq: UInt64.max - 1, count: 2)  // ends exactly at 2^64-1
        try first.write(to: dir.sub("src/0000000000000001.olog"))

        // A writer cannot carry on past 2^64-1: a clear error, not a trap.
        let writer = try runTool("orchlog", ["generate", "--out", dir.sub("src"), "--events", "10"])
        #expect(writer.status == 1, "\(writer.status) \(writer.stderr)")
        #expect(writer.stderr.contains("sequence numbers"), "\(writer.stderr)")

        // Readers go on to a later segment (children: a trap shows as a signal, not a dead test runner).
        var second = HostileSegment(number: 2, firstSeq: 5)
        try second.appendGood(firstSeq: 5, count: 2)
        try second.write(to: dir.sub("src/0000000000000002.olog"))
        let tail = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("src")])
        #expect(tail.status == 0, "tail: \(tail.status) \(tail.stderr)")
        #expect(tail.stdout.contains("\"seq\":18446744073709551615"))
        #expect(tail.stdout.contains("\"seq\":6"))
        let once = try runTool("orchlog-collector", ["--once", "--log.dir", dir.sub("src")])
        #expect(once.status == 0, "collector: \(once.status) \(once.stderr)")
        #expect(parseExposition(once.stdout)["orchlog_collector_events_ingested_total{source=\"src\"}"] == 4)
        let verify = try runTool("orchlog", ["verify", dir.sub("src")])
        #expect(verify.status == 0, "verify: \(verify.status) \(verify.stdout)")
    }

    @Test func segmentWhoseHeaderNumberDisagreesWithItsFileNameIsReported() throws {
        let dir = TempDir("renamed")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("src"), withIntermediateDirectories: true)
        var s = HostileSegment(number: 7)
        try s.appendGood(firstSeq: 1, count: 3)
        try s.write(to: dir.sub("src/0000000000000002.olog"))
        let verify = try runTool("orchlog", ["verify", dir.sub("src")])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("0000000000000002.olog:0: header says segment 7, file name says 2"), "\(verify.stdout)")
        #expect(try readAll(dir.sub("src")).count == 3, "its frames are still readable")
    }

    /// Frames that claim the 16 MiB maxima: zlib bombs that would inflate to 256 MiB, 16 MiB
    /// payloads of garbage, and a 16 MiB frame cut short. Readers must hold at most about one
    /// payload and one raw block in memory, whatever the frames claim.
    @Test func sixteenMiBClaimingFramesCostBoundedMemory() throws {
        let dir = TempDir("bomb16")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.sub("clean/src"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.sub("hostile/src"), withIntermediateDirectories: true)
        var clean = HostileSegment()
        try clean.appendGood(firstSeq: 1, count: 3)
        try clean.write(to: dir.sub("clean/src/0000000000000001.olog"))

        var s = HostileSegment()
        try s.appendGood(firstSeq: 1, count: 3)
        let bomb = try HostileSegment.deflate([UInt8](repeating: 0, count: 256 << 20))
        #expect(bomb.count < 512 << 10)
        for _ in 0..<12 {
            s.appendFrame(payload: bomb, rawLength: LogFormat.maxRawBlock, eventCount: 3, firstSeq: 4)
        }
        var garbage = [UInt8](repeating: 0, count: LogFormat.maxFramePayload)
        var rng = SystemRandomNumberGenerator()
        garbage.withUnsafeMutableBytes { p in
            for i in stride(from: 0, to: p.count, by: 8) { p.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self) }
        }
        for _ in 0..<3 {
            s.appendFrame(payload: garbage, rawLength: LogFormat.maxRawBlock, eventCount: 3, firstSeq: 4)
        }
        try s.appendGood(firstSeq: 4, count: 3)
        // Last: a header claiming a 16 MiB payload with only a few bytes behind it.
        let cut = try HostileSegment.deflate(HostileSegment.block(firstSeq: 7, count: 3))
        s.appendFrame(payload: cut + [UInt8](repeating: 1, count: LogFormat.maxFramePayload - cut.count), rawLength: LogFormat.maxRawBlock,
                      eventCount: 3, firstSeq: 7)
        s.bytes.removeLast(LogFormat.maxFramePayload - 100)
        try s.write(to: dir.sub("hostile/src/0000000000000001.olog"))

        var problems: [LogProblem] = []
        #expect(try readAll(dir.sub("hostile/src"), problems: &problems).map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(problems.count == 15, "\(problems)")

        for (tool, args) in [("orchlog", ["verify"]), ("orchlog", ["tail", "--from-start", "-o", "json"]), ("orchlog-collector", ["--once", "--log.dir"])] {
            let baseline = try runMeasuringPeakRSS(binaryPath(tool), args + [dir.sub("clean/src")], in: dir)
            let hostile = try runMeasuringPeakRSS(binaryPath(tool), args + [dir.sub("hostile/src")], in: dir)
            #expect(baseline.status >= 0 && hostile.status >= 0, "\(tool) exits normally: \(baseline.status), \(hostile.status)")
            let growthMiB = (hostile.maxRSSKiB - baseline.maxRSSKiB) / 1024
            // One 16 MiB payload + one 16 MiB raw block (+ allocator slack); an unbounded
            // inflater would need 256 MiB per bomb.
            #expect(growthMiB < 96, "\(tool): peak RSS grew by \(growthMiB) MiB on the hostile log")
            print("hostile[\(tool) \(args[0])]: peak RSS \(baseline.maxRSSKiB / 1024) MiB clean, \(hostile.maxRSSKiB / 1024) MiB on 12 bombs + 3 garbage 16 MiB frames + a cut 16 MiB frame")
        }
    }
}
