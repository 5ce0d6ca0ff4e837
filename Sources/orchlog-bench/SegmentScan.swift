import Glibc

/// The ingest limit: read every segment file of a source and inflate every frame's payload,
/// nothing else (no CRC, no decoding). Frame layout per docs/log-format.md: a 56-byte segment
/// header, then frames of a 44-byte header (payload length at +4, raw length at +8, event
/// count at +12, little-endian) and the payload.
struct SegmentScan {
    private var file: [UInt8] = []
    private var raw: [UInt8] = []
    private let codec: any BlockCodec

    init(codec: any BlockCodec) { self.codec = codec }

    /// Reads and inflates `paths`, which must hold `expected` events; returns events/s.
    mutating func eventsPerSecond(_ paths: [String], expecting expected: Int) throws -> Double {
        let start = Clock.nowNs()
        let events = try readAndInflate(paths)
        let rate = Double(events) / Clock.seconds(since: start)
        guard events == expected else { throw BenchError("\(paths.first ?? "?"): \(events) events in the frames, expected \(expected)") }
        return rate
    }

    /// Reads and inflates `paths`; returns the number of events in the frames.
    private mutating func readAndInflate(_ paths: [String]) throws -> Int {
        var events = 0
        for path in paths {
            let n = try read(path)
            var offset = 56
            while offset + 44 <= n {
                let (payloadLength, rawLength, count) = file.withUnsafeBytes { b -> (Int, Int, Int) in
                    (Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))),
                     Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))),
                     Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))))
                }
                let start = offset + 44
                guard start + payloadLength <= n else { throw BenchError("\(path):\(offset): frame runs past end of file") }
                try file.withUnsafeBytes { b in
                    try codec.inflate(UnsafeRawBufferPointer(rebasing: b[start..<start + payloadLength]), expected: rawLength, into: &raw)
                }
                events += count
                offset = start + payloadLength
            }
        }
        return events
    }

    /// Reads a whole file into `file`; returns its length.
    private mutating func read(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchError("open \(path): errno \(errno)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BenchError("stat \(path): errno \(errno)") }
        let size = Int(st.st_size)
        if file.count < size { file = [UInt8](repeating: 0, count: size) }
        var done = 0
        while done < size {
            let got = file.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw BenchError("read \(path): errno \(errno)") }
            done += got
        }
        return size
    }
}
