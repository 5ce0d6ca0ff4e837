import Foundation
import COrchZlib
import Glibc
@testable import OrchLog
import OrchTestSupport
import Testing

/// Writes a small log of several frames and returns the segment path and events per frame.
func writeFrames(_ dir: TempDir, frames: Int, perFrame: Int) throws -> (path: String, frameOffsets: [Int64]) {
    var options = EventLogOptions()
    options.flushAgeNs = 10_000_000_000
    let log = try EventLog(directory: dir.sub("src"), options: options)
    let q = log.label("q")
    for f in 0..<frames {
        for i in 0..<perFrame { log.emit(.queueSample(queue: q, depth: UInt64(f * perFrame + i), capacity: 99)) }
        log.flush()
    }
    log.close()
    let path = try LogDirectory.segments(in: dir.sub("src"))[0].path
    let reader = try SegmentReader(path: path)
    var offsets: [Int64] = []
    var offset = SegmentReader.firstFrameOffset
    while case let .frame(h, at) = try reader.readFrame(at: offset) {
        offsets.append(at)
        offset = at + Int64(h.frameLength)
    }
    return (path, offsets)
}

@Suite struct CorruptionTests {
    @Test func truncationAtEveryByteOfTheLastFrameYieldsExactlyTheCompleteFrames() throws {
        let dir = TempDir("trunc")
        defer { dir.remove() }
        let (path, offsets) = try writeFrames(dir, frames: 3, perFrame: 50)
        #expect(offsets.count == 3)
        let full = try LogDirectory.fileSize(path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in offsets[2]..<full {
            try original.prefix(Int(cut)).write(to: URL(fileURLWithPath: path))
            var problems: [LogProblem] = []
            let records = try readAll(dir.sub("src"), problems: &problems)
            #expect(records.count == 100, "cut at \(cut)")
            #expect(records.last?.seq == 100)
            #expect(problems.isEmpty, "a live tail is not a problem for a reader")
        }
    }

    @Test func flippedByteInAMiddleFrameIsSkippedAndReportedWithOffset() throws {
        let dir = TempDir("flip")
        defer { dir.remove() }
        let (path, offsets) = try writeFrames(dir, frames: 3, perFrame: 40)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let target = Int(offsets[1]) + LogFormat.frameHeaderSize + 5
        bytes[target] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        var problems: [LogProblem] = []
        let records = try readAll(dir.sub("src"), problems: &problems)
        #expect(records.map(\.seq) == Array(1...40) + Array(81...120))
        #expect(problems.count == 1)
        #expect(problems.first?.kind == .corrupt)
        #expect(problems.first?.offset == offsets[1])
        #expect(problems.first?.reason.contains("CRC") == true)
    }

    @Test func corruptLengthFieldResynchronisesAtTheNextFrame() throws {
        let dir = TempDir("len")
        defer { dir.remove() }
        let (path, offsets) = try writeFrames(dir, frames: 3, perFrame: 30)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // Claim a huge payload length in the middle frame.
        bytes.replaceSubrange(Int(offsets[1]) + 4..<Int(offsets[1]) + 8, with: [0xFF, 0xFF, 0xFF, 0x7F])
        try bytes.write(to: URL(fileURLWithPath: path))
        var problems: [LogProblem] = []
        let records = try readAll(dir.sub("src"), problems: &problems)
        #expect(records.map(\.seq) == Array(1...30) + Array(61...90))
        #expect(problems.map(\.offset) == [offsets[1]])
    }

    @Test func roundTripOfRandomEventsOfEveryTypeIsExact() throws {
        let dir = TempDir("prop")
        defer { dir.remove() }
        var rng = SystemRandomNumberGenerator()
        let samples = ["", "a", "ünïcødé ✓ 日本語", "emoji 🧪🔥", String(repeating: "x", count: 70_000), "quote\"back\\slash\nnewline", "\u{0}nul"]
        func randomString() -> String {
            if Bool.random(using: &rng) { return samples.randomElement(using: &rng)! }
            let n = Int.random(in: 0..<40, using: &rng)
            return String((0..<n).map { _ in Character(Unicode.Scalar(UInt32.random(in: 0x20...0x7E, using: &rng))!) })
        }
        func randomNumber() -> UInt64 {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return 0
            case 1: return UInt64.max
            case 2: return UInt64.random(in: 0...127, using: &rng)
            default: return UInt64.random(in: 0...UInt64.max, using: &rng)
            }
        }
        var expected: [EventRecord] = []
        let log = try EventLog(directory: dir.sub("src"))
        for i in 0..<5_000 {
            let type = EventType.allCases[i % EventType.allCases.count]
            let schema = EventSchema.of(type)
            var numbers = (0..<schema.numberCount).map { _ in randomNumber() }
            for f in schema.fields {
                switch f.kind {
                case .enumeration(let names): numbers[f.slot] = UInt64.random(in: 0..<UInt64(names.count), using: &rng)
                case .flag: numbers[f.slot] = UInt64.random(in: 0...1, using: &rng)
                default: break
                }
            }
            let ts = i % 3 == 0 ? UInt64.random(in: 0...UInt64.max, using: &rng) : UInt64(1_700_000_000_000_000_000 + i)
            let record = EventRecord(type: type, seq: UInt64(i + 1), timestamp: ts,
                                     labels: (0..<schema.labelCount).map { _ in randomString() }, numbers: numbers, source: "src")
            expected.append(record)
            log.emit(record: record)
        }
        log.close()
        #expect(log.stats.dropped == 0)
        let records = try readAll(dir.sub("src"))
        #expect(records.count == expected.count)
        for (a, b) in zip(records, expected) where a != b {
            Issue.record("mismatch at seq \(b.seq): \(a) != \(b)")
            break
        }
    }

    @Test func unknownEventTypesAndTrailingFieldsFromANewerWriterAreSkipped() throws {
        // Hand-built columnar block: queue_sample with two extra trailing fields (streams
        // 53 and 54, fields 5 and 6, unknown to this reader), an event of unknown type 99
        // (with a field stream 1584), then another queue_sample.
        var block: [UInt8] = [LogFormat.blockVersionVarints]
        func varint(_ v: UInt64, _ out: inout [UInt8]) { var v = v; while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }; out.append(UInt8(v)) }
        varint(3, &block); varint(10, &block); varint(1_000, &block)   // count, first seq, base ts
        varint(1, &block); varint(1, &block); block.append(UInt8(ascii: "q"))  // one string
        var streams: [(UInt64, [UInt64])] = [
            (0, [3, 99, 3]),          // types
            (1, [0, 2, 2]),           // ts deltas (zigzag): +0, +1, +1
            (48, [0, 0]), (49, [7, 8]), (50, [9, 9]),
            (53, [300, 5]), (54, [1, 1]),
            (1584, [42]),
        ]
        varint(UInt64(streams.count), &block)
        for i in streams.indices {
            var bytes: [UInt8] = []
            for v in streams[i].1 { varint(v, &bytes) }
            varint(streams[i].0, &block); varint(UInt64(bytes.count), &block); block += bytes
        }
        streams.removeAll()
        var decoder = BlockDecoder()
        var events: [RawEvent] = []
        try block.withUnsafeBytes { try decoder.decode($0, context: "test", into: &events) }
        #expect(events.count == 2)
        #expect(events.map(\.seq) == [10, 12])
        #expect(events.map(\.n0) == [7, 8])
        #expect(events.map(\.n1) == [9, 9])
        #expect(events.map(\.timestamp) == [1_000, 1_002])
        #expect(decoder.skippedUnknown == 1)
    }

    @Test(arguments: [
        ("string index out of range", [UInt8]([1, 1, 1, 0, 0, 3, 0, 1, 3, 1, 1, 0, 48, 1, 5])),
        // One byte per value but a continuation byte among them (the one-byte fast path must
        // hand it to the checked decoder): stream 49 holds one varint where two are due.
        ("multi-byte varint in a one-byte-per-value stream",
         [UInt8]([1, 2, 1, 0, 1, 1, 0x71, 5, 0, 2, 3, 3, 1, 2, 0, 0, 48, 2, 0, 0, 49, 2, 0x80, 0x01, 50, 2, 1, 1])),
        ("label out of range in a one-byte-per-value stream",
         [UInt8]([1, 2, 1, 0, 1, 1, 0x71, 5, 0, 2, 3, 3, 1, 2, 0, 0, 48, 2, 0, 1, 49, 2, 4, 4, 50, 2, 1, 1])),
        ("varint never ends", [UInt8]([1] + [UInt8](repeating: 0xFF, count: 20))),
        ("absurd event count", [UInt8]([1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 1, 0])),
        ("absurd string count", [UInt8]([1, 1, 1, 1, 0xFF, 0xFF, 0xFF, 0x7F])),
        ("string past end", [UInt8]([1, 1, 1, 1, 1, 0x7F, 65])),
        ("stream past end", [UInt8]([1, 1, 1, 0, 0, 1, 0, 100, 3])),
        ("trailing bytes", [UInt8]([1, 0, 1, 1, 0, 0, 9, 9])),
        ("missing type stream", [UInt8]([1, 1, 1, 0, 0, 0])),
        ("stream ends early", [UInt8]([1, 2, 1, 0, 0, 2, 0, 1, 3, 1, 2, 0, 0])),
        ("bytes left over in a stream", [UInt8]([1, 1, 1, 0, 0, 2, 0, 2, 3, 3, 1, 1, 0])),
        ("stream keys out of order", [UInt8]([1, 1, 1, 0, 0, 2, 1, 1, 0, 0, 1, 3])),
    ])
    func hostileBlocksAreRejectedAsCorruption(_ name: String, _ block: [UInt8]) throws {
        var decoder = BlockDecoder()
        var events: [RawEvent] = []
        #expect(throws: OrchLogError.self, "\(name)") {
            try block.withUnsafeBytes { try decoder.decode($0, context: "test", into: &events) }
        }
    }

    @Test func zlibBombInflatingPastItsDeclaredLengthIsCorruption() throws {
        let deflater = try Deflater(level: 9)
        let big = [UInt8](repeating: 0, count: 8 << 20)
        var compressed = ByteBuffer(capacity: 1024)
        defer { compressed.deallocate() }
        try big.withUnsafeBytes { try deflater.compress($0, into: &compressed) }
        #expect(compressed.count < 20_000)
        let inflater = try Inflater()
        var out = ByteBuffer(capacity: 1024)
        defer { out.deallocate() }
        #expect(throws: OrchLogError.self) {
            try inflater.inflate(compressed.bytes, expected: 4096, into: &out, context: "bomb")
        }
        #expect(out.capacity < 1 << 20, "inflation is bounded by the declared length")
    }

    /// The format promises one RFC 1950 stream per payload: Debian's zlib, not only the
    /// libdeflate the writer and readers use, inflates every frame the writer wrote to exactly
    /// the raw length its header states, and CRC-32 agrees with zlib's.
    @Test func payloadsAreStreamsDebianZlibInflates() throws {
        let dir = try TempDir("zlib-compat")
        defer { dir.remove() }
        let (path, offsets) = try writeFrames(dir, frames: 3, perFrame: 500)
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(offsets.count == 3)
        let inflater = try Inflater()
        var inflated = 0
        for offset in offsets.map(Int.init) {
            let header = file.withUnsafeBytes { FrameHeader.parse($0.baseAddress! + offset)! }
            let payload = Array(file[offset + LogFormat.frameHeaderSize ..< offset + LogFormat.frameHeaderSize + Int(header.payloadLength)])
            var out = [UInt8](repeating: 0, count: Int(header.rawLength) + 16)
            var outLength = UInt(out.count)
            let rc = uncompress(&out, &outLength, payload, UInt(payload.count))
            #expect(rc == Z_OK)
            #expect(Int(outLength) == Int(header.rawLength))
            // The same bytes the readers' own inflater gets.
            var ours = ByteBuffer(capacity: 64)
            defer { ours.deallocate() }
            try payload.withUnsafeBytes { try inflater.inflate($0, expected: Int(header.rawLength), into: &ours, context: "compat") }
            #expect(Array(ours.bytes) == Array(out[0..<Int(outLength)]))
            inflated += Int(outLength)
            let ourCRC = payload.withUnsafeBytes { crc32Update(0, $0) }
            let zlibCRC = payload.withUnsafeBufferPointer { UInt32(crc32_z(0, $0.baseAddress, $0.count)) }
            #expect(ourCRC == zlibCRC)
        }
        #expect(inflated > 3 * 500)
    }

    @Test func bytesAfterTheZlibStreamAreCorruption() throws {
        let deflater = try Deflater(level: 1)
        let raw = [UInt8](repeating: 7, count: 1000)
        var compressed = ByteBuffer(capacity: 64)
        defer { compressed.deallocate() }
        try raw.withUnsafeBytes { try deflater.compress($0, into: &compressed) }
        let inflater = try Inflater()
        var out = ByteBuffer(capacity: 64)
        defer { out.deallocate() }
        try inflater.inflate(compressed.bytes, expected: 1000, into: &out, context: "clean")
        #expect(Array(out.bytes) == raw)
        compressed.append(0)
        #expect(throws: OrchLogError.self) {
            try inflater.inflate(compressed.bytes, expected: 1000, into: &out, context: "trailing")
        }
        compressed.count -= 2
        #expect(throws: OrchLogError.self) {
            try inflater.inflate(compressed.bytes, expected: 1000, into: &out, context: "cut short")
        }
    }

    @Test func segmentHeaderFromTheFutureIsRejected() throws {
        var header = SegmentHeader(writerID: 1, segmentNumber: 1, firstSeq: 1, createdNs: 0)
        header.version = 99
        let bytes = header.encoded()
        #expect {
            try bytes.withUnsafeBytes { _ = try SegmentHeader.decode($0, path: "future.olog") }
        } throws: { error in
            (error as? OrchLogError)?.message.contains("newer") == true
        }
    }

    /// Varints at every length boundary (1 to 10 bytes) read back as written, with the
    /// encoder's one- and two-byte fast paths and the general loop.
    @Test func varintsAtEveryLengthBoundaryRoundTrip() throws {
        var values: [UInt64] = [0, UInt64.max]
        for bits in stride(from: 7, through: 63, by: 7) {
            let edge = UInt64(1) << UInt64(bits)
            values += [edge - 1, edge, edge + 1]
        }
        var buffer = ByteBuffer(capacity: 16)
        defer { buffer.deallocate() }
        for v in values { buffer.appendVarint(v) }
        var reader = ByteReader(buffer.bytes, context: "test")
        for v in values { #expect(try reader.varint() == v) }
        #expect(reader.remaining == 0)
        // Lengths: 1 byte below 2^7, 2 below 2^14, …
        var one = ByteBuffer(capacity: 16)
        defer { one.deallocate() }
        for (i, v) in [UInt64(127), 128, 16_383, 16_384, UInt64.max].enumerated() {
            one.count = 0
            one.appendVarint(v)
            #expect(one.count == [1, 2, 2, 3, 10][i])
        }
    }

    /// A crash on a filesystem that had allocated space the writer never filled leaves the
    /// segment ending in zero bytes after the last complete frame. That is a torn tail (an
    /// incomplete frame, cut by `verify --repair`), not corruption; zeros followed by a valid
    /// frame still are corruption.
    @Test func zeroBytesUpToTheEndAfterAFrameAreATornTailNotCorruption() throws {
        let dir = TempDir("zerotail")
        defer { dir.remove() }
        let (path, offsets) = try writeFrames(dir, frames: 3, perFrame: 20)
        let end = try LogDirectory.fileSize(path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        for zeros in [LogFormat.frameHeaderSize + 1, 4096, 200_000] {
            try (original + Data(count: zeros)).write(to: URL(fileURLWithPath: path))
            let reader = try SegmentReader(path: path)
            #expect(try reader.readFrame(at: end) == .incomplete(offset: end, available: zeros), "\(zeros) zero bytes")
            var problems: [LogProblem] = []
            #expect(try readAll(dir.sub("src"), problems: &problems).map(\.seq) == Array(1...60))
            #expect(problems.isEmpty, "the newest segment's tail waits for its writer: \(problems)")
            // The writer has closed (no lock held): the reader standing there names the torn tail.
            let source = try #require(try LogDirectory.sources(at: dir.sub("src")).first)
            let follower = SourceReader(source: source)
            try follower.pollBlocks { _ in }
            let torn = try #require(follower.tornTailAtEnd())
            #expect(torn.kind == .tornTail && torn.path == path && torn.offset == end)
            #expect(torn.reason.contains("\(zeros) bytes"), "\(torn.reason)")
        }
        // Zeros that a valid frame follows are not a tail: corruption, and the reader resyncs.
        var middle = original.prefix(Int(offsets[1]))
        middle += Data(count: 4096)
        middle += original[Int(offsets[1])...]
        try middle.write(to: URL(fileURLWithPath: path))
        let reader = try SegmentReader(path: path)
        guard case let .corrupt(at, reason, resumeAt) = try reader.readFrame(at: offsets[1]) else {
            Issue.record("zeros before a valid frame must be corruption")
            return
        }
        #expect(at == offsets[1] && reason == "bad frame magic" && resumeAt == offsets[1] + 4096)
        // One nonzero byte among the zeros at the end: corruption too.
        var dirty = original + Data(count: 4096)
        dirty[dirty.count - 7] = 1
        try dirty.write(to: URL(fileURLWithPath: path))
        guard case .corrupt = try SegmentReader(path: path).readFrame(at: end) else {
            Issue.record("a tail that is not all zeros must stay corruption")
            return
        }
    }

    /// A writer holding the lock may be writing the frame a reader finds incomplete: not a
    /// torn tail while it does, one once it is gone.
    @Test func anIncompleteTailIsTornOnlyWhenNoWriterHoldsTheLock() throws {
        let dir = TempDir("tornlock")
        defer { dir.remove() }
        let (path, offsets) = try writeFrames(dir, frames: 2, perFrame: 20)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        try original.prefix(Int(offsets[1]) + 10).write(to: URL(fileURLWithPath: path))
        let source = try #require(try LogDirectory.sources(at: dir.sub("src")).first)
        let reader = SourceReader(source: source)
        #expect(try reader.pollBlocks { _ in } == 1)
        let fd = open(dir.sub("src/.lock"), O_RDWR | O_CLOEXEC)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_EX) == 0)
        #expect(LogDirectory.writerHoldsLock(dir.sub("src")))
        #expect(reader.tornTailAtEnd() == nil, "a live writer's frame in progress")
        close(fd)
        #expect(!LogDirectory.writerHoldsLock(dir.sub("src")))
        let torn = try #require(reader.tornTailAtEnd())
        #expect(torn.offset == offsets[1] && torn.reason.hasPrefix("torn tail: incomplete last frame (10 bytes)"))
        #expect(reader.position.offset == offsets[1], "asking does not move the reader")
    }
}
