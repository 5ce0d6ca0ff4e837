import COrchZlib
import Glibc
import OrchLog

/// libFuzzer entry point: one input is a segment file. A valid segment header is put in
/// front unless the input starts with the segment magic, and the CRCs of the header and of
/// the chain of frames from offset 56 are fixed up, so the fuzzer reaches the inflater and the
/// block decoder instead of stopping at checksums. Reading must report frames, ends,
/// incomplete tails or corruption, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegmentReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if !bytes.starts(with: LogFormat.segmentMagic) {
        bytes = SegmentHeader(writerID: 1, segmentNumber: 1, firstSeq: 1, createdNs: 0).encoded() + bytes
    } else if bytes.count >= LogFormat.segmentHeaderSize {
        store(crc(bytes, 0, 52), into: &bytes, at: 52)
    }
    var offset = LogFormat.segmentHeaderSize
    while offset + LogFormat.frameHeaderSize <= bytes.count {
        let length = Int(load(bytes, offset + 4))
        guard load(bytes, offset) == LogFormat.frameMagic, length <= bytes.count - offset - LogFormat.frameHeaderSize else { break }
        let header = crc(bytes, offset, 40)
        let payloadStart = offset + LogFormat.frameHeaderSize
        let full = bytes.withUnsafeBytes { p -> UInt32 in
            UInt32(truncatingIfNeeded: crc32_z(UInt(header), p.baseAddress!.assumingMemoryBound(to: Bytef.self) + payloadStart, length))
        }
        store(full, into: &bytes, at: offset + 40)
        offset = payloadStart + length
    }

    let dir = FuzzScratch.directory
    let path = dir + "/0000000000000001.olog"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)

    // Frame by frame, as verify does.
    if let reader = try? SegmentReader(path: path) {
        var at = SegmentReader.firstFrameOffset
        var steps = 0
        loop: while steps < 10_000 {
            steps += 1
            guard let read = try? reader.readFrame(at: at) else { break }
            switch read {
            case let .frame(h, o):
                try? reader.decode(h, offset: o)
                at = o + Int64(h.frameLength)
            case let .corrupt(_, _, resumeAt):
                precondition(resumeAt > at, "resynchronisation must move forward")
                at = resumeAt
            case .end, .incomplete:
                break loop
            }
        }
    }
    // Across the source, as tail and the collector do.
    let source = SourceReader(source: SourceDirectory(name: "fuzz", path: dir))
    _ = try? source.pollBlocks(maxFrames: 10_000) { block in
        for e in block.events { _ = EventRecord(raw: e, table: block.stringTable) }
    }
    return 0
}

/// One scratch directory per fuzzing process.
enum FuzzScratch {
    static let directory: String = {
        var template = Array("/tmp/orchlog-fuzz-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return made.map { String(cString: $0) } ?? "/tmp"
    }()
}

private func crc(_ b: [UInt8], _ start: Int, _ count: Int) -> UInt32 {
    b.withUnsafeBytes { p in UInt32(truncatingIfNeeded: crc32_z(0, p.baseAddress!.assumingMemoryBound(to: Bytef.self) + start, count)) }
}

private func load(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

private func store(_ v: UInt32, into b: inout [UInt8], at: Int) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
}
