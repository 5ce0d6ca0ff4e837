/// The fixed header at the start of every segment file (56 bytes, little-endian):
/// magic[8], version u16, header size u16, flags u32, writer id u64, segment number u64,
/// first sequence number u64, creation time ns u64, reserved u32, CRC-32 of bytes 0..<52 u32.
package struct SegmentHeader: Sendable, Equatable {
    package var version: UInt16 = LogFormat.version
    package var writerID: UInt64
    package var segmentNumber: UInt64
    package var firstSeq: UInt64
    package var createdNs: UInt64

    package init(writerID: UInt64, segmentNumber: UInt64, firstSeq: UInt64, createdNs: UInt64) {
        self.writerID = writerID
        self.segmentNumber = segmentNumber
        self.firstSeq = firstSeq
        self.createdNs = createdNs
    }

    /// The 56 header bytes.
    package func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: LogFormat.segmentHeaderSize)
        bytes.withUnsafeMutableBytes { p in
            for (i, b) in LogFormat.segmentMagic.enumerated() { p[i] = b }
            storeLE(p.baseAddress!, 8, version)
            storeLE(p.baseAddress!, 10, UInt16(LogFormat.segmentHeaderSize))
            storeLE(p.baseAddress!, 12, UInt32(0))
            storeLE(p.baseAddress!, 16, writerID)
            storeLE(p.baseAddress!, 24, segmentNumber)
            storeLE(p.baseAddress!, 32, firstSeq)
            storeLE(p.baseAddress!, 40, createdNs)
            storeLE(p.baseAddress!, 48, UInt32(0))
            let crc = crc32Update(0, UnsafeRawBufferPointer(rebasing: p[0..<52]))
            storeLE(p.baseAddress!, 52, crc)
        }
        return bytes
    }

    /// Parses and checks a header. `path` names the file in errors.
    /// - Throws: `.notALog` when the magic is wrong or the file is too short,
    ///   `.corrupt` on a CRC mismatch or an unsupported (future) version.
    package static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SegmentHeader {
        guard bytes.count >= LogFormat.segmentHeaderSize else {
            throw OrchLogError(.notALog, "\(path): too short for a segment header (\(bytes.count) bytes)")
        }
        guard Array(bytes[0..<8]) == LogFormat.segmentMagic else {
            throw OrchLogError(.notALog, "\(path): not an orchlog segment (bad magic)")
        }
        let p = bytes.baseAddress!
        let crc = loadLE(p, 52, as: UInt32.self)
        guard crc == crc32Update(0, UnsafeRawBufferPointer(rebasing: bytes[0..<52])) else {
            throw OrchLogError(.corrupt, "\(path):0: segment header CRC mismatch")
        }
        let version = loadLE(p, 8, as: UInt16.self)
        guard version <= LogFormat.version else {
            throw OrchLogError(.corrupt, "\(path):0: segment format version \(version) is newer than this reader (\(LogFormat.version))")
        }
        let size = loadLE(p, 10, as: UInt16.self)
        guard Int(size) == LogFormat.segmentHeaderSize else {
            throw OrchLogError(.corrupt, "\(path):0: segment header size \(size) is not \(LogFormat.segmentHeaderSize)")
        }
        var h = SegmentHeader(writerID: loadLE(p, 16, as: UInt64.self), segmentNumber: loadLE(p, 24, as: UInt64.self),
                              firstSeq: loadLE(p, 32, as: UInt64.self), createdNs: loadLE(p, 40, as: UInt64.self))
        h.version = version
        return h
    }
}

/// The header of one frame (44 bytes, little-endian): magic u32, payload length u32, raw
/// (inflated) length u32, event count u32, first seq u64, first timestamp u64, last timestamp
/// u64, CRC-32 over bytes 0..<40 and the payload u32.
package struct FrameHeader: Sendable, Equatable {
    package var payloadLength: UInt32
    package var rawLength: UInt32
    package var eventCount: UInt32
    package var firstSeq: UInt64
    package var firstTs: UInt64
    package var lastTs: UInt64
    package var crc: UInt32

    /// Total bytes of the frame on disk.
    package var frameLength: Int { LogFormat.frameHeaderSize + Int(payloadLength) }
    /// Sequence number of the frame's last event.
    package var lastSeq: UInt64 { firstSeq &+ UInt64(eventCount) &- 1 }

    /// Writes the header (with CRC over it and `payload`) into `p`.
    static func write(into p: UnsafeMutableRawPointer, payload: UnsafeRawBufferPointer, rawLength: Int,
                      eventCount: Int, firstSeq: UInt64, firstTs: UInt64, lastTs: UInt64) {
        storeLE(p, 0, LogFormat.frameMagic)
        storeLE(p, 4, UInt32(payload.count))
        storeLE(p, 8, UInt32(rawLength))
        storeLE(p, 12, UInt32(eventCount))
        storeLE(p, 16, firstSeq)
        storeLE(p, 24, firstTs)
        storeLE(p, 32, lastTs)
        var crc = crc32Update(0, UnsafeRawBufferPointer(start: p, count: 40))
        crc = crc32Update(crc, payload)
        storeLE(p, 40, crc)
    }

    /// Parses the 44 header bytes (no CRC check: that needs the payload). Nil on bad magic.
    static func parse(_ p: UnsafeRawPointer) -> FrameHeader? {
        guard loadLE(p, 0, as: UInt32.self) == LogFormat.frameMagic else { return nil }
        return FrameHeader(payloadLength: loadLE(p, 4, as: UInt32.self), rawLength: loadLE(p, 8, as: UInt32.self),
                           eventCount: loadLE(p, 12, as: UInt32.self), firstSeq: loadLE(p, 16, as: UInt64.self),
                           firstTs: loadLE(p, 24, as: UInt64.self), lastTs: loadLE(p, 32, as: UInt64.self),
                           crc: loadLE(p, 40, as: UInt32.self))
    }

    /// Whether the stored CRC matches the header bytes `p` and `payload`.
    static func crcMatches(header p: UnsafeRawPointer, payload: UnsafeRawBufferPointer) -> Bool {
        var crc = crc32Update(0, UnsafeRawBufferPointer(start: p, count: 40))
        crc = crc32Update(crc, payload)
        return crc == loadLE(p, 40, as: UInt32.self)
    }
}
