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

    /// Complete frames in log order. Reading stops at a segment's first frame that is not
    /// complete and valid, or cannot be read (the readers report those when they get there).
    private(set) var entries: [Entry] = []

    init(source: SourceDirectory) throws {
        for segment in try LogDirectory.segments(in: source.path) {
            guard let reader = try? SegmentReader(path: segment.path) else { continue }
            var offset = SegmentReader.firstFrameOffset
            // A read error ends the segment's index, like any frame that is not valid.
            while case .frame(let frame, _)? = try? reader.readFrame(at: offset) {
                let position = LogPosition(segment: segment.number, offset: offset, lastSeq: frame.firstSeq &- 1,
                                           writerID: reader.header.writerID)
                offset += Int64(frame.frameLength)
                let next = LogPosition(segment: segment.number, offset: offset, lastSeq: frame.lastSeq, writerID: reader.header.writerID)
                entries.append(Entry(position: position, events: Int(frame.eventCount), next: next))
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
