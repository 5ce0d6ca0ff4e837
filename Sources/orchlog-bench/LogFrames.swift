import OrchLog

/// Every frame of a source directory, read once through the public `SegmentReader` (CRC
/// checked): the compressed payloads and, inflated, the raw blocks the writer compressed.
struct LogFrames {
    struct Frame {
        let payload: [UInt8]
        let rawLength: Int
        let events: Int
    }

    let frames: [Frame]

    var events: Int { frames.reduce(0) { $0 + $1.events } }
    var payloadBytes: Int { frames.reduce(0) { $0 + $1.payload.count } }
    var rawBytes: Int { frames.reduce(0) { $0 + $1.rawLength } }

    /// - Throws: `OrchLogError` from the reader, `BenchError` for a frame that is not complete and valid.
    init(source: String) throws {
        var frames: [Frame] = []
        for path in try OrchLogDirectory.segments(source) {
            let reader = try SegmentReader(path: path)
            var offset = SegmentReader.firstFrameOffset
            scan: while true {
                switch try reader.readFrame(at: offset) {
                case let .frame(h, at):
                    frames.append(Frame(payload: Array(reader.payload), rawLength: Int(h.rawLength), events: Int(h.eventCount)))
                    offset = at + Int64(h.frameLength)
                case .end:
                    break scan
                case let other:
                    throw BenchError("\(path):\(offset): expected a frame, found \(other)")
                }
            }
        }
        self.frames = frames
    }

    /// The raw (uncompressed) blocks, in order.
    func rawBlocks(_ codec: any BlockCodec) throws -> [[UInt8]] {
        try frames.map { f in
            var out: [UInt8] = []
            try f.payload.withUnsafeBytes { try codec.inflate($0, expected: f.rawLength, into: &out) }
            return Array(out.prefix(f.rawLength))
        }
    }
}
