/// Constants of the on-disk format (see docs/log-format.md). Every limit a reader enforces
/// against hostile input is here.
package enum LogFormat {
    /// Segment file magic: "\u{89}OLOG\r\n\u{1A}" (8 bytes, PNG-style: catches text-mode mangling).
    package static let segmentMagic: [UInt8] = [0x89, 0x4F, 0x4C, 0x4F, 0x47, 0x0D, 0x0A, 0x1A]
    /// Format version written in segment headers. A reader rejects a higher version. Version 3
    /// segments hold version 3 blocks (byte planes, 64 field keys per type); a reader of
    /// version 3 reads version 1 and 2 segments and blocks too.
    package static let version: UInt16 = 3
    /// Segment header size in bytes.
    package static let segmentHeaderSize = 56
    /// Frame magic "OLFR" little-endian: lets a reader resynchronise after corruption.
    package static let frameMagic: UInt32 = 0x5246_4C4F
    /// Frame header size in bytes.
    package static let frameHeaderSize = 44
    /// File name suffix of segments.
    package static let segmentSuffix = ".olog"
    /// Digits in a segment file name (zero-padded segment number).
    package static let segmentDigits = 16
    /// Name of the lock file in a source directory.
    package static let lockFileName = ".lock"

    /// Largest compressed frame payload a reader accepts (bytes).
    package static let maxFramePayload = 16 << 20
    /// Largest inflated block a reader accepts (bytes): protects against zlib bombs.
    package static let maxRawBlock = 16 << 20
    /// Most strings in one block's string table.
    package static let maxStrings = 1 << 20
    /// Most events in one block.
    package static let maxEventsPerBlock = 1 << 22
    /// Longest single string (bytes).
    package static let maxStringLength = 1 << 20
    /// Block encoding version the writer uses (first byte of every inflated block): streams of
    /// fixed-width values stored as byte planes, field stream keys `fieldStreamKey`.
    package static let blockVersion: UInt8 = 3
    /// Byte planes with field stream keys 16 × type + field (types ≤ 15, fields ≤ 15), written
    /// from 2026-11-26 until version 3; still read.
    package static let blockVersionNarrowKeys: UInt8 = 2
    /// The first block encoding (streams of LEB128 varints, keys as in version 2), still read.
    package static let blockVersionVarints: UInt8 = 1

    /// Stream key of the event-type column (every block version).
    package static let typeStreamKey = 0
    /// Stream key of the timestamp-delta column (every block version).
    package static let timestampStreamKey = 1
    /// Stream keys a version 3 block reserves for columns of every event (a later version may
    /// define them); a version 3 reader skips them unread.
    package static let reservedStreamKeys = 2..<fieldsPerType
    /// Highest event type code a version 3 block can hold (codes are 1…65535; 0 is no type).
    package static let maxTypeCode = 65_535
    /// Field streams per event type in a version 3 block: field i (0…63) of type t is stream
    /// `fieldStreamKey(type: t, field: i)`.
    package static let fieldsPerType = 64
    /// Highest stream key of a version 3 block (the last field of type `maxTypeCode`).
    package static let maxStreamKey = fieldStreamKey(type: maxTypeCode, field: fieldsPerType - 1)
    /// Field streams per type, and the highest type code, of version 1 and 2 blocks.
    package static let narrowFieldsPerType = 16
    package static let narrowMaxTypeCode = 15

    /// Stream key of field `field` (0…63) of type `type` in a version 3 block: 64 × type + field.
    @inline(__always)
    package static func fieldStreamKey(type: Int, field: Int) -> Int { type &* fieldsPerType &+ field }

    /// The file name of segment `number`.
    package static func segmentFileName(_ number: UInt64) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, segmentDigits - digits.count)) + digits + segmentSuffix
    }

    /// The segment number of a file name, or nil when it is not a segment name.
    package static func segmentNumber(fileName: String) -> UInt64? {
        guard fileName.hasSuffix(segmentSuffix) else { return nil }
        let stem = fileName.dropLast(segmentSuffix.count)
        guard stem.count == segmentDigits, stem.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return UInt64(stem)
    }
}
