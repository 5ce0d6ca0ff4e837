import COrchZlib
import Foundation
import OrchLog

/// One event of a hand-built block: its type code (any, known to this reader or not), its
/// timestamp and its field values in stream order (labels as string-table indices).
public struct HandBuiltRow: Sendable {
    public var type: Int
    public var timestamp: UInt64
    /// Field `i` is written to the type's field stream `i`; `extra` adds streams beyond them.
    public var fields: [UInt64]
    /// Fields at other stream positions (field index → value): what a newer schema appended.
    public var extra: [Int: UInt64]

    public init(type: Int, timestamp: UInt64, fields: [UInt64], extra: [Int: UInt64] = [:]) {
        self.type = type
        self.timestamp = timestamp
        self.fields = fields
        self.extra = extra
    }
}

/// Blocks and segments written straight from docs/log-format.md, independently of the
/// library's writer: what a writer with a newer schema (types and fields this build does not
/// know), or of an older format version, puts on disk. Tests read them with the library's
/// readers and the built tools.
public enum HandBuiltSegment {
    /// The inflated bytes of a block of `version` (1 varints, 2 byte planes with keys
    /// 16 × type + field, 3 byte planes with keys 64 × type + field, each stored as the
    /// difference from the previous stream's key) holding `rows`, in order.
    /// Every type's rows get the same streams: one per field index any of them has.
    public static func block(version: UInt8 = 3, firstSeq: UInt64, strings: [String], rows: [HandBuiltRow]) -> [UInt8] {
        var out: [UInt8] = [version]
        varint(UInt64(rows.count), &out)
        varint(firstSeq, &out)
        let baseTs = rows.first?.timestamp ?? 0
        varint(baseTs, &out)
        varint(UInt64(strings.count), &out)
        for s in strings {
            varint(UInt64(s.utf8.count), &out)
            out += Array(s.utf8)
        }
        var streams: [(key: Int, values: [UInt64])] = []
        if !rows.isEmpty {
            streams.append((0, rows.map { UInt64($0.type) }))
            var previous = baseTs
            streams.append((1, rows.map { row in
                let delta = Int64(bitPattern: row.timestamp &- previous)
                previous = row.timestamp
                return UInt64(bitPattern: (delta << 1) ^ (delta >> 63))
            }))
        }
        let stride = version == 3 ? 64 : 16
        for type in Set(rows.map(\.type)).sorted() {
            let ofType = rows.filter { $0.type == type }
            let fieldIndices = Set(ofType.flatMap { Array($0.fields.indices) + Array($0.extra.keys) }).sorted()
            for f in fieldIndices {
                streams.append((type * stride + f, ofType.map { f < $0.fields.count ? $0.fields[f] : $0.extra[f] ?? 0 }))
            }
        }
        varint(UInt64(streams.count), &out)
        var previous = 0
        for (key, values) in streams {
            let body = version == 1 ? values.reduce(into: []) { varint($1, &$0) } : planes(values)
            // Version 3: the key's difference from the previous stream's.
            varint(UInt64(version == 3 ? key - previous : key), &out)
            previous = key
            varint(UInt64(body.count), &out)
            out += body
        }
        return out
    }

    /// A segment file of format `version` holding `blocks` (each with its first sequence
    /// number, event count and first/last timestamps for the frame header), zlib-compressed.
    public static func segment(version: UInt16 = 3, number: UInt64 = 1, firstSeq: UInt64 = 1,
                               blocks: [(raw: [UInt8], firstSeq: UInt64, count: Int, firstTs: UInt64, lastTs: UInt64)]) -> [UInt8] {
        var out = LogFormat.segmentMagic
        le(version, &out)
        le(UInt16(56), &out)
        le(UInt32(0), &out)
        le(UInt64(0x5EED), &out)
        le(number, &out)
        le(firstSeq, &out)
        le(UInt64(1_700_000_000_000_000_000), &out)
        le(UInt32(0), &out)
        le(crc(out[...]), &out)
        for block in blocks {
            let payload = deflate(block.raw)
            var header: [UInt8] = []
            le(LogFormat.frameMagic, &header)
            le(UInt32(payload.count), &header)
            le(UInt32(block.raw.count), &header)
            le(UInt32(block.count), &header)
            le(block.firstSeq, &header)
            le(block.firstTs, &header)
            le(block.lastTs, &header)
            le(crc((header + payload)[...]), &header)
            out += header + payload
        }
        return out
    }

    /// Writes one segment of `version` holding one block per element of `blocks` (rows and
    /// strings), sequence numbers consecutive from 1, into `dir/0000000000000001.olog`.
    public static func write(to dir: String, version: UInt16 = 3, blockVersion: UInt8 = 3,
                             blocks: [(strings: [String], rows: [HandBuiltRow])]) throws {
        var seq: UInt64 = 1
        var framed: [(raw: [UInt8], firstSeq: UInt64, count: Int, firstTs: UInt64, lastTs: UInt64)] = []
        for b in blocks {
            let raw = block(version: blockVersion, firstSeq: seq, strings: b.strings, rows: b.rows)
            framed.append((raw, seq, b.rows.count, b.rows.first?.timestamp ?? 0, b.rows.last?.timestamp ?? 0))
            seq += UInt64(b.rows.count)
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(segment(version: version, blocks: framed)).write(to: URL(fileURLWithPath: dir + "/0000000000000001.olog"))
    }

    /// Width byte (the fewest bytes that hold the largest value), then the byte planes.
    static func planes(_ values: [UInt64]) -> [UInt8] {
        let all = values.reduce(0, |)
        let width = max(1, (64 - all.leadingZeroBitCount + 7) / 8)
        var out: [UInt8] = [UInt8(width)]
        for plane in 0..<width {
            for v in values { out.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * plane))) }
        }
        return out
    }

    static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func le<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
    }

    /// One zlib stream (Debian's zlib, level 6).
    static func deflate(_ raw: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let rc = compress2(&out, &length, raw, uLong(raw.count), 6)
        precondition(rc == Z_OK, "compress2 failed: \(rc)")
        return Array(out.prefix(Int(length)))
    }
}
