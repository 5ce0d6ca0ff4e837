import OrchLog

/// Where a source's frames start and how many events each holds, read from the frame headers
/// (each frame's CRC checked, nothing inflated): lets `tail -n N` start reading near the end
/// of a long log instead of decoding all of it.
struct FrameIndex {
    struct Entry {
        /// Where the frame starts.
        let position: LogPosition
        let events: Int
        /// Where the frame ends: the position a reader has after it.
        let next: LogPosition
    }

    /// Complete frames in log order. A corrupt frame is skipped as readers skip it (from the
    /// next valid frame on); an incomplete one, or a read error, ends the segment's index (the
    /// readers report those when they get there).
    private(set) var entries: [Entry] = []

    init(source: SourceDirectory) throws {
        for segment in try LogDirectory.segments(in: source.path) {
            guard let reader = try? SegmentReader(path: segment.path) else { continue }
            let writer = reader.header.writerID
            var offset = SegmentReader.firstFrameOffset
            scan: while true {
                switch try? reader.readFrame(at: offset) {
                case let .frame(frame, _)?:
                    let end = offset + Int64(frame.frameLength)
                    entries.append(Entry(position: LogPosition(segment: segment.number, offset: offset, lastSeq: frame.firstSeq &- 1, writerID: writer),
                                         events: Int(frame.eventCount),
                                         next: LogPosition(segment: segment.number, offset: end, lastSeq: frame.lastSeq, writerID: writer)))
                    offset = end
                case let .corrupt(_, _, resumeAt)?:
                    offset = resumeAt
                default:
                    break scan
                }
            }
        }
    }

    /// Index of the latest frame from which at least `events` events follow (0 when the
    /// whole log holds fewer).
    func start(covering events: Int) -> Int {
        var total = 0
        var i = entries.count
        while i > 0 && total < events {
            i -= 1
            total += entries[i].events
        }
        return i
    }
}
