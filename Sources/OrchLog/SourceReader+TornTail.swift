import Glibc

extension SourceReader {
    /// The torn tail a crash left where this reader has stopped, or nil. Call it after `poll`
    /// has delivered everything available (it returned fewer frames than it was allowed).
    ///
    /// `poll` leaves an incomplete last frame of the newest segment for later, since a live
    /// writer may be writing it, and reports `.tornTail` only once a newer segment shows that
    /// the writer has left. This tells the two apart now: when the reader stands at an
    /// incomplete frame (a partial frame, or zero bytes up to the end: see `SegmentReader`) of
    /// the newest segment, or the newest segment is shorter than a header, and no writer holds
    /// the source's lock, that is a torn tail. It reads one frame header and probes the lock
    /// only in that case; it changes neither the reader's position nor what `poll` reports
    /// (a new writer starts a new segment, and `poll` then reports the same tail).
    package func tornTailAtEnd() -> LogProblem? {
        guard let newest = (try? LogDirectory.segments(in: source.path))?.last else { return nil }
        let found: (offset: Int64, reason: String)?
        if newest.number == position.segment {
            guard let segment = try? SegmentReader(path: newest.path, buffers: buffers),
                  case let .incomplete(offset, available)? = try? segment.readFrame(at: position.offset) else { return nil }
            found = (offset, LogProblem.tornTailReason(available: available, crashed: true))
        } else if newest.number > position.segment, let size = try? LogDirectory.fileSize(newest.path),
                  size < Int64(LogFormat.segmentHeaderSize), SegmentReader.currentHeader(at: newest.path) == nil {
            found = (0, "torn header (\(size) bytes) and no writer holds the source: left by a crash; `orchlog verify --repair` removes it")
        } else {
            found = nil
        }
        guard let found, !LogDirectory.writerHoldsLock(source.path) else { return nil }
        return LogProblem(kind: .tornTail, path: newest.path, offset: found.offset,
                          reason: found.reason, lostEvents: 0)
    }
}

extension LogProblem {
    /// How the CLI words a torn tail of `available` bytes: in the newest segment with no
    /// writer holding the source (`crashed`), or in a segment a newer one follows.
    package static func tornTailReason(available: Int, crashed: Bool) -> String {
        "torn tail: incomplete last frame (\(available) bytes) "
            + (crashed ? "and no writer holds the source: left by a crash" : "in a segment the writer has left")
            + "; `orchlog verify --repair` cuts it"
    }
}
