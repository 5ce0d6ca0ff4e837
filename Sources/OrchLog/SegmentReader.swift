import Glibc

/// What reading at an offset of a segment found.
package enum FrameRead: Sendable, Equatable {
    /// A complete frame whose CRC checks; its payload is in `SegmentReader.payload`.
    case frame(FrameHeader, offset: Int64)
    /// Clean end of the segment at this offset.
    case end(offset: Int64)
    /// A partial frame at the end of the file, or only zero bytes from here to the end (space
    /// a crash left allocated but unwritten): not yet written (live) or torn (crash).
    case incomplete(offset: Int64, available: Int)
    /// A bad frame; reading can carry on at `resumeAt` (the next frame magic, or the end).
    case corrupt(offset: Int64, reason: String, resumeAt: Int64)
}

/// Reads one segment file frame by frame. Every length is checked against `LogFormat`
/// limits before anything is allocated. Not thread-safe. Its frame, payload and decoded
/// block live in its `ReadBuffers`, which readers on one thread may share: then they are
/// those of the last frame any of them read.
package final class SegmentReader {
    package let path: String
    package let header: SegmentHeader
    private let fd: Int32
    private let buffers: ReadBuffers

    /// Opens a segment and checks its header; frames are read into `buffers` (its own when nil).
    /// - Throws: `.io` when it cannot be opened, `.notALog`/`.corrupt` for a bad header.
    package init(path: String, buffers: ReadBuffers? = nil) throws {
        self.path = path
        self.buffers = buffers ?? ReadBuffers()
        let fd = try Sys.call("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        do {
            var bytes = [UInt8](repeating: 0, count: LogFormat.segmentHeaderSize)
            let n = try bytes.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, $0.count, 0, path: path) }
            header = try bytes.withUnsafeBytes { try SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: path) }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// The header of the segment file at `path` now (nil when it is gone or unreadable): the
    /// file an open reader holds may have been deleted and another written under its name.
    package static func currentHeader(at path: String) -> SegmentHeader? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: LogFormat.segmentHeaderSize)
        guard let n = try? bytes.withUnsafeMutableBytes({ try Sys.pread(fd, $0.baseAddress!, $0.count, 0, path: path) }) else { return nil }
        return try? bytes.withUnsafeBytes { try SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: path) }
    }

    /// The file's current size in bytes.
    package func size() throws -> Int64 {
        var st = stat()
        try Sys.call("stat \(path)") { fstat(fd, &st) }
        return Int64(st.st_size)
    }

    /// The payload of the last frame returned by `readFrame`.
    package var payload: UnsafeRawBufferPointer { buffers.payloadBuffer.bytes }

    /// Offset of the first frame.
    package static let firstFrameOffset = Int64(LogFormat.segmentHeaderSize)

    /// Reads the frame at `offset`.
    package func readFrame(at offset: Int64) throws -> FrameRead {
        let fileSize = try size()
        if offset >= fileSize { return .end(offset: offset) }
        let available = Int(fileSize - offset)
        if available < LogFormat.frameHeaderSize {
            return try incompleteOrCorrupt(offset, available: available, fileSize: fileSize, reason: "truncated frame header")
        }
        let got = try buffers.headerBytes.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, $0.count, offset, path: path) }
        if got < LogFormat.frameHeaderSize {
            return .incomplete(offset: offset, available: got)
        }
        guard let h = buffers.headerBytes.withUnsafeBytes({ FrameHeader.parse($0.baseAddress!) }) else {
            // Zero bytes from a frame boundary to the end: space the filesystem allocated but a
            // crash left unwritten (a torn tail, like a partial frame), not corruption.
            if try onlyZeroBytes(from: offset, to: fileSize) { return .incomplete(offset: offset, available: available) }
            return .corrupt(offset: offset, reason: "bad frame magic", resumeAt: try resync(after: offset, fileSize: fileSize))
        }
        guard Int(h.payloadLength) <= LogFormat.maxFramePayload else {
            return .corrupt(offset: offset, reason: "frame length \(h.payloadLength) exceeds limit \(LogFormat.maxFramePayload)",
                            resumeAt: try resync(after: offset, fileSize: fileSize))
        }
        guard Int(h.rawLength) <= LogFormat.maxRawBlock else {
            return .corrupt(offset: offset, reason: "block length \(h.rawLength) exceeds limit \(LogFormat.maxRawBlock)",
                            resumeAt: try resync(after: offset, fileSize: fileSize))
        }
        if Int64(h.frameLength) > Int64(available) {
            return try incompleteOrCorrupt(offset, available: available, fileSize: fileSize, reason: "frame length \(h.payloadLength) runs past end of segment")
        }
        buffers.payloadBuffer.count = 0
        buffers.payloadBuffer.reserve(Int(h.payloadLength))
        let n = try Sys.pread(fd, buffers.payloadBuffer.base, Int(h.payloadLength), offset + Int64(LogFormat.frameHeaderSize), path: path)
        buffers.payloadBuffer.count = n
        if n < Int(h.payloadLength) { return .incomplete(offset: offset, available: LogFormat.frameHeaderSize + n) }
        let ok = buffers.headerBytes.withUnsafeBytes { FrameHeader.crcMatches(header: $0.baseAddress!, payload: buffers.payloadBuffer.bytes) }
        guard ok else {
            return .corrupt(offset: offset, reason: "CRC mismatch", resumeAt: try resync(after: offset, fileSize: fileSize))
        }
        return .frame(h, offset: offset)
    }

    /// A short tail is "incomplete" unless a valid frame follows it, which makes it corruption.
    private func incompleteOrCorrupt(_ offset: Int64, available: Int, fileSize: Int64, reason: String) throws -> FrameRead {
        let next = try resync(after: offset, fileSize: fileSize)
        if next < fileSize { return .corrupt(offset: offset, reason: reason, resumeAt: next) }
        return .incomplete(offset: offset, available: available)
    }

    /// Whether every byte from `offset` to `end` is zero.
    private func onlyZeroBytes(from offset: Int64, to end: Int64) throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var position = offset
        while position < end {
            let n = try buffer.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, min($0.count, Int(end - position)), position, path: path) }
            if n == 0 { break }
            if buffer[0..<n].contains(where: { $0 != 0 }) { return false }
            position += Int64(n)
        }
        return true
    }

    /// The offset of the next frame after `offset` whose magic and CRC check, or `fileSize`.
    package func resync(after offset: Int64, fileSize: Int64) throws -> Int64 {
        let chunk = 64 << 10
        var buffer = [UInt8](repeating: 0, count: chunk + 3)
        var position = offset + 1
        let magic: [UInt8] = [0x4F, 0x4C, 0x46, 0x52]
        while position < fileSize {
            let n = try buffer.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, $0.count, position, path: path) }
            if n < 4 { break }
            var i = 0
            while i + 4 <= n {
                if buffer[i] == magic[0] && buffer[i + 1] == magic[1] && buffer[i + 2] == magic[2] && buffer[i + 3] == magic[3] {
                    let candidate = position + Int64(i)
                    if try frameChecks(at: candidate, fileSize: fileSize) { return candidate }
                }
                i += 1
            }
            position += Int64(n - 3)
        }
        return fileSize
    }

    /// Whether a complete, CRC-valid frame starts at `offset` (used by resynchronisation).
    private func frameChecks(at offset: Int64, fileSize: Int64) throws -> Bool {
        guard fileSize - offset >= Int64(LogFormat.frameHeaderSize) else { return false }
        var hb = [UInt8](repeating: 0, count: LogFormat.frameHeaderSize)
        _ = try hb.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, $0.count, offset, path: path) }
        guard let h = hb.withUnsafeBytes({ FrameHeader.parse($0.baseAddress!) }),
              Int(h.payloadLength) <= LogFormat.maxFramePayload,
              offset + Int64(h.frameLength) <= fileSize else { return false }
        var payload = [UInt8](repeating: 0, count: Int(h.payloadLength))
        _ = try payload.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, $0.count, offset + Int64(LogFormat.frameHeaderSize), path: path) }
        return hb.withUnsafeBytes { hp in payload.withUnsafeBytes { FrameHeader.crcMatches(header: hp.baseAddress!, payload: $0) } }
    }

    /// The string table of the last decoded block.
    package var strings: [String] { buffers.decoder.strings }

    /// The last decoded block, as columns (empty after a block that failed to decode).
    package var columns: BlockColumns { buffers.decoder.columns }

    /// Events of the last decoded block, as rows (built from `columns` on each call).
    package var events: [RawEvent] { buffers.decoder.columns.events() }

    /// Inflates and decodes the last frame read into `columns`. Label slots index `strings`.
    /// - Throws: `.corrupt` naming this segment and the frame offset; `columns` is then empty.
    package func decode(_ frame: FrameHeader, offset: Int64) throws {
        let context = "\(path):\(offset)"
        do {
            if buffers.inflater == nil { buffers.inflater = try Inflater() }
            try buffers.inflater!.inflate(buffers.payloadBuffer.bytes, expected: Int(frame.rawLength), into: &buffers.rawBuffer, context: context)
            try buffers.decoder.decode(buffers.rawBuffer.bytes, context: context)
            let total = buffers.decoder.columns.rowCount
            guard total == Int(frame.eventCount) else {
                throw OrchLogError(.corrupt, "\(context): block holds \(total) events, frame header says \(frame.eventCount)")
            }
            guard buffers.decoder.firstSeq == frame.firstSeq else {
                throw OrchLogError(.corrupt, "\(context): block starts at sequence \(buffers.decoder.firstSeq), frame header says \(frame.firstSeq)")
            }
        } catch {
            buffers.decoder.clear()
            throw error
        }
    }
}
