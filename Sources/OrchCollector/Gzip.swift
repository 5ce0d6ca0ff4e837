import COrchDeflate
import COrchZlib

/// gzip (RFC 1952) compression of whole byte buffers, for HTTP responses sent with
/// `Content-Encoding: gzip`: libdeflate (the compressor the log uses) in one call over the whole
/// buffer — the same format any gzip reader takes, in about a third of zlib's time at level 1
/// on exposition text (BENCHMARKS.md, issue 20). Decompression (tests, clients) stays zlib.
///
/// Each call owns its compressor (and a `z_stream` in separately allocated storage for
/// decompression: zlib keeps pointers to it), so concurrent calls from different threads are
/// independent.
public enum Gzip {
    /// zlib's `windowBits` for a gzip wrapper around a 32 KB window.
    static let gzipWindowBits: Int32 = 15 + 16

    /// Returns `input` gzip-compressed at `level` (0–9, zlib's range; 6 is zlib's default trade-off).
    /// Throws `.invalidArgument` for a bad level and `.library` if the compressor fails.
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        try input.withUnsafeBytes { try compress(bytes: $0, level: level) }
    }

    /// Returns the bytes in `input` gzip-compressed at `level` (0–9).
    /// Throws `.invalidArgument` for a bad level and `.library` if the compressor fails.
    public static func compress(bytes input: UnsafeRawBufferPointer, level: Int32 = 6) throws -> [UInt8] {
        guard (0...9).contains(level) else {
            throw CollectorError(.invalidArgument, "gzip level \(level) is outside 0...9")
        }
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw CollectorError(.library, "libdeflate could not allocate a level \(level) compressor (out of memory)")
        }
        defer { libdeflate_free_compressor(compressor) }
        let bound = libdeflate_gzip_compress_bound(compressor, input.count)
        var produced = 0
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            produced = libdeflate_gzip_compress(compressor, input.baseAddress, input.count, out.baseAddress, bound)
            count = produced
        }
        // The bound always suffices; 0 would mean libdeflate broke its own contract.
        guard produced > 0 else {
            throw CollectorError(.library, "libdeflate could not gzip \(input.count) bytes into its own bound \(bound)")
        }
        return output
    }

    /// Returns the decompressed contents of a gzip stream, refusing to produce more
    /// than `maxOutput` bytes (a guard against compression bombs).
    /// Throws `.corrupt` for invalid or truncated input and `.invalidArgument` when the
    /// output would exceed `maxOutput`.
    public static func decompress(_ input: [UInt8], maxOutput: Int = 64 << 20) throws -> [UInt8] {
        guard input.count <= Int(UInt32.max) else {
            throw CollectorError(.invalidArgument, "gzip input of \(input.count) bytes is too large")
        }
        let strm = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        strm.initialize(to: z_stream())
        defer {
            strm.deinitialize(count: 1)
            strm.deallocate()
        }
        let rcInit = COrchZlib_inflateInit2(strm, gzipWindowBits)
        guard rcInit == Z_OK else {
            throw CollectorError(.library, "zlib inflateInit2 failed (\(rcInit))")
        }
        defer { inflateEnd(strm) }

        var output = [UInt8](repeating: 0, count: Swift.min(Swift.max(input.count * 4, 4096), maxOutput + 1))
        var produced = 0
        return try input.withUnsafeBytes { inBuf in
            strm.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress?.assumingMemoryBound(to: Bytef.self))
            strm.pointee.avail_in = uInt(inBuf.count)
            while true {
                if produced == output.count {
                    guard output.count <= maxOutput else {
                        throw CollectorError(.invalidArgument, "gzip data inflates past \(maxOutput) bytes")
                    }
                    output.append(contentsOf: repeatElement(0, count: Swift.min(output.count, maxOutput + 1 - output.count)))
                }
                let space = output.count - produced
                let rc: Int32 = output.withUnsafeMutableBytes { out in
                    strm.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                    strm.pointee.avail_out = uInt(space)
                    return inflate(strm, Z_NO_FLUSH)
                }
                produced += space - Int(strm.pointee.avail_out)
                strm.pointee.next_out = nil
                switch rc {
                case Z_STREAM_END:
                    guard produced <= maxOutput else {
                        throw CollectorError(.invalidArgument, "gzip data inflates past \(maxOutput) bytes")
                    }
                    output.removeSubrange(produced...)
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR where strm.pointee.avail_out == 0:
                    continue
                case Z_BUF_ERROR:
                    throw CollectorError(.corrupt, "gzip data is truncated")
                default:
                    throw CollectorError(.corrupt, "gzip data is invalid (zlib \(rc))")
                }
            }
        }
    }
}
