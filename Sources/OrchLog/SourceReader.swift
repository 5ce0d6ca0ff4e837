/// Where a reader stands in a source: the segment, the offset of the next frame, and the
/// last sequence number delivered. Saved in collector checkpoints.
public struct LogPosition: Sendable, Codable, Equatable {
    public var segment: UInt64
    public var offset: Int64
    public var lastSeq: UInt64
    /// The writer id in `segment`'s header, once opened: a segment of that number written by
    /// another writer means the source directory was recreated. Absent in checkpoints written
    /// before it was recorded (those are resumed unchecked).
    public var writerID: UInt64?

    /// - Parameter offset: nil for the first frame of the segment.
    public init(segment: UInt64 = 0, offset: Int64? = nil, lastSeq: UInt64 = 0, writerID: UInt64? = nil) {
        self.segment = segment
        self.offset = offset ?? SegmentReader.firstFrameOffset
        self.lastSeq = lastSeq
        self.writerID = writerID
    }
}

/// Something a reader found wrong on disk. Readers report and carry on.
public struct LogProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A frame failed its checks (CRC, lengths, encoding): skipped, never decoded.
        case corrupt
        /// A partial last frame in a segment the writer has left (crash): skipped.
        case tornTail = "torn_tail"
        /// A file that should be a segment could not be read as one.
        case badSegment = "bad_segment"
        /// Segments were deleted (retention) before they were read: `lostEvents` is the gap.
        case missingData = "missing_data"
        /// The source directory was deleted and written anew (its sequence numbers start over):
        /// the reader starts again at the new log's first segment.
        case restarted
    }
    public let kind: Kind
    public let path: String
    public let offset: Int64
    /// What is wrong, without the location (`description` prefixes it).
    public let reason: String
    /// For `.missingData`: how many sequence numbers were skipped.
    public let lostEvents: UInt64

    public var description: String { "\(path):\(offset): \(reason)" }
}

/// One decoded block as a reader delivers it.
package struct DecodedBlock {
    /// The block's events as columns; label columns index `strings`.
    package let columns: BlockColumns
    /// Events in order, as rows (built from `columns` on each call); label slots index `strings`.
    package var events: [RawEvent] { columns.events() }
    /// The block's strings (made on each call).
    package var strings: [String] { columns.strings }
    /// The block's string table as stored.
    package var stringTable: StringTable { columns.stringTable }
    package let frame: FrameHeader
    package let segment: UInt64
    package let offset: Int64
}

/// Reads one source directory from a position onwards, across segments, reporting problems
/// and carrying on. Call `poll` repeatedly to follow a live writer. Not thread-safe.
public final class SourceReader {
    public let source: SourceDirectory
    /// The position after the last delivered frame.
    @exclusivity(unchecked) public private(set) var position: LogPosition
    /// Called for each problem found (once per problem).
    public var onProblem: (LogProblem) -> Void = { _ in }
    @exclusivity(unchecked) private var reader: SegmentReader?
    /// Where frames are read and decoded (shared with other readers on this thread, or its own).
    let buffers: ReadBuffers

    /// A reader of `source` from `position`. Readers that one thread polls in turn may share
    /// `buffers` (the collector's thousand sources then hold one set); each block is
    /// delivered before the next read.
    public init(source: SourceDirectory, from position: LogPosition = LogPosition(), buffers: ReadBuffers? = nil) {
        self.source = source
        self.position = position
        self.buffers = buffers ?? ReadBuffers()
    }

    /// Delivers every complete event available now, in write order, with its strings and
    /// `source` resolved; call again to follow a live writer (like `orchlog tail -f`).
    /// Problems (corrupt frames, torn tails) go to `onProblem` and reading carries on past
    /// them. Returns the number of events delivered.
    /// - Throws: `OrchLogError` (`.io`) when the directory cannot be read; errors thrown by `body`.
    @discardableResult
    public func poll(records body: (EventRecord) throws -> Void) throws -> Int {
        var delivered = 0
        try pollBlocks { block in
            let table = block.stringTable
            for e in block.events {
                try body(EventRecord(raw: e, table: table, source: source.name))
                delivered += 1
            }
        }
        return delivered
    }

    /// Every event of every source under `path` (a source directory, or a root of them), read
    /// once: sources in name order, each in write order. Problems are reported to `onProblem`.
    /// - Throws: `OrchLogError` when a directory cannot be read.
    public static func readAll(_ path: String, onProblem: (LogProblem) -> Void = { _ in }) throws -> [EventRecord] {
        var records: [EventRecord] = []
        var problems: [LogProblem] = []
        for source in try LogDirectory.sources(at: path) {
            let reader = SourceReader(source: source)
            reader.onProblem = { problems.append($0) }
            try reader.poll { records.append($0) }
        }
        problems.forEach(onProblem)
        return records
    }

    /// Delivers every complete frame available now, up to `maxFrames`. Returns the number of
    /// frames delivered. An incomplete last frame of the newest segment is left for later.
    /// - Throws: `.io` when the directory cannot be read; errors thrown by `body`.
    @discardableResult
    package func pollBlocks(maxFrames: Int = .max, _ body: (DecodedBlock) throws -> Void) throws -> Int {
        var delivered = 0
        while delivered < maxFrames {
            if reader == nil {
                guard try openNextSegment() else { return delivered }
            }
            guard let current = reader else { return delivered }
            switch try current.readFrame(at: position.offset) {
            case let .frame(h, offset):
                do {
                    try current.decode(h, offset: offset)
                } catch let error as OrchLogError {
                    problem(.corrupt, current.path, offset, error.reason(at: current.path, offset: offset))
                    position.offset = offset + Int64(h.frameLength)
                    continue
                }
                position.offset = offset + Int64(h.frameLength)
                if h.eventCount > 0 { position.lastSeq = max(position.lastSeq, h.lastSeq) }
                delivered += 1
                try body(DecodedBlock(columns: current.columns, frame: h, segment: position.segment, offset: offset))
            case let .corrupt(offset, reason, resumeAt):
                problem(.corrupt, current.path, offset, reason)
                position.offset = resumeAt
            case let .end(offset), let .incomplete(offset, _):
                // Nothing new in the directory since it was last looked at: no newer segment,
                // no other writer (a live source at the end of its data, polled again and again).
                let dirChange = LogDirectory.changeTimeNs(source.path)
                guard directoryChanged(dirChange) else { return delivered }
                // A segment of this number by another writer: the directory was recreated (the
                // file read so far is deleted; a new log may already be past this number).
                if let now = SegmentReader.currentHeader(at: current.path), now.writerID != current.header.writerID {
                    restart(current.path, "segment \(position.segment) now holds another writer's log")
                    continue
                }
                let segments = try LogDirectory.segments(in: source.path)
                if restartIfOnlyOlderSegments(segments, current.path) { continue }
                // Move on only when the writer has moved on to a newer segment; re-check this
                // one first, since it may have been completed in between.
                guard segments.contains(where: { $0.number > position.segment }) else {
                    checked = dirChange.map { ($0, Sys.nowNs()) }
                    return delivered
                }
                switch try current.readFrame(at: offset) {
                case .frame, .corrupt:
                    continue
                case let .incomplete(_, available):
                    problem(.tornTail, current.path, offset, LogProblem.tornTailReason(available: available, crashed: false))
                case .end:
                    break
                }
                reader = nil
                moveOn = true
                checked = nil  // the next segment's end is checked afresh
            }
        }
        return delivered
    }

    /// The directory's change time when the end of the current segment was last checked (for
    /// a newer segment, another writer) and found neither, and the clock then; nil once the
    /// reader moves to another segment.
    @exclusivity(unchecked) private var checked: (change: UInt64, at: UInt64)?

    /// Whether the end of the current segment needs checking again, the directory's change
    /// time being `change`: it changed since the last check found nothing (a writer starting a
    /// segment, or a recreated directory, changes it), or that check is 5 s old. A change
    /// within the filesystem clock's tick of that check might not show in the change time, so
    /// a directory that changed less than 2 s before the check is checked every time.
    private func directoryChanged(_ change: UInt64?) -> Bool {
        guard let c = checked, let change, c.change == change else { return true }
        return c.at < change &+ 2_000_000_000 || Sys.nowNs() &- c.at >= 5_000_000_000
    }

    /// Set when the current segment is finished and the next one should be opened.
    @exclusivity(unchecked) private var moveOn = false

    private func problem(_ kind: LogProblem.Kind, _ path: String, _ offset: Int64, _ reason: String, lost: UInt64 = 0) {
        onProblem(LogProblem(kind: kind, path: path, offset: offset, reason: reason, lostEvents: lost))
    }

    /// Starts over at the first segment of a source whose log was replaced; `what` says how
    /// that showed.
    private func restart(_ path: String, _ what: String) {
        problem(.restarted, path, 0, "\(what) (the source directory was recreated): reading the new log from its start")
        position = LogPosition()
        reader = nil
        moveOn = false
        checked = nil
    }

    /// A writer never deletes the segment it writes and numbers only grow, so a directory
    /// whose segments are all numbered below the one being read was recreated (by a log not
    /// yet as long as the old one): starts over and returns true.
    private func restartIfOnlyOlderSegments(_ segments: [SegmentFile], _ path: String) -> Bool {
        guard position.segment > 0, let newest = segments.last, newest.number < position.segment else { return false }
        restart(path, "segment \(position.segment) is gone and the directory's segments now end at \(newest.number)")
        return true
    }

    /// Opens the segment to read: the current one (resuming), or the first after it when it
    /// is finished or gone. False when there is nothing to open yet.
    private func openNextSegment() throws -> Bool {
        let segments = try LogDirectory.segments(in: source.path)
        let wanted = moveOn || position.segment == 0
            ? segments.first { $0.number > position.segment }
            : segments.first { $0.number >= position.segment }
        guard let segment = wanted else {
            // Resuming in a segment that is gone, with only lower numbers left: recreated.
            if restartIfOnlyOlderSegments(segments, source.path + "/" + LogFormat.segmentFileName(position.segment)) {
                return try openNextSegment()
            }
            return false
        }
        if segment.number != position.segment {
            position = LogPosition(segment: segment.number, offset: SegmentReader.firstFrameOffset, lastSeq: position.lastSeq)
        }
        moveOn = false
        do {
            let r = try SegmentReader(path: segment.path, buffers: buffers)
            if segment.number == position.segment, let expected = position.writerID, expected != r.header.writerID {
                // Resuming (a checkpoint) in a segment another writer wrote since.
                restart(segment.path, "segment \(segment.number) now holds another writer's log")
                return try openNextSegment()
            }
            position.writerID = r.header.writerID
            if position.lastSeq > 0, position.offset == SegmentReader.firstFrameOffset, r.header.firstSeq > position.lastSeq,
               r.header.firstSeq - position.lastSeq > 1 {
                // Segments (or their ends) were deleted before they were read.
                let lost = r.header.firstSeq - position.lastSeq - 1
                problem(.missingData, segment.path, 0, "\(lost) events were deleted before they were read", lost: lost)
                position.lastSeq = r.header.firstSeq - 1
            }
            reader = r
            return true
        } catch let error as OrchLogError {
            if error.code == .notALog, segment.number == segments.last?.number,
               let attributes = try? LogDirectory.fileSize(segment.path), attributes < Int64(LogFormat.segmentHeaderSize) {
                return false  // the writer has not written the header yet
            }
            problem(.badSegment, segment.path, 0, error.reason(at: segment.path, offset: 0))
            moveOn = true
            return try openNextSegment()
        }
    }
}
