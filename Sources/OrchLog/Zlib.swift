import COrchZlib

/// CRC-32 (the zlib/IEEE polynomial) of `bytes`, continuing from `crc`.
@inline(__always)
func crc32Update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return UInt32(truncatingIfNeeded: crc32_z(UInt(crc), base.assumingMemoryBound(to: Bytef.self), bytes.count))
}

/// A reusable zlib deflate stream. The `z_stream` lives in separately allocated storage,
/// because zlib keeps its address. Not thread-safe.
final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    let level: Int32

    /// - Throws: `OrchLogError(.invalidArgument)` for a level outside 0...9.
    init(level: Int32) throws {
        guard (0...9).contains(level) else {
            throw OrchLogError(.invalidArgument, "compression level \(level) is outside 0...9")
        }
        self.level = level
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = COrchZlib_deflateInit2(stream, level, 15)
        guard rc == Z_OK else {
            stream.deallocate()
            throw OrchLogError(.io, "deflateInit2 failed with zlib code \(rc)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input` as one complete zlib stream, appending to `output`.
    func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        let rc0 = deflateReset(stream)
        guard rc0 == Z_OK else { throw OrchLogError(.io, "deflateReset failed with zlib code \(rc0)") }
        let bound = Int(deflateBound(stream, UInt(input.count)))
        output.reserve(bound)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.base + output.count
        stream.pointee.avail_out = UInt32(bound)
        let rc = deflate(stream, Z_FINISH)
        guard rc == Z_STREAM_END else { throw OrchLogError(.io, "deflate failed with zlib code \(rc)") }
        output.count += bound - Int(stream.pointee.avail_out)
    }
}

/// A reusable zlib inflate stream with a hard output limit (zlib bombs are corruption).
/// Not thread-safe.
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = COrchZlib_inflateInit2(stream, 15)
        guard rc == Z_OK else {
            stream.deallocate()
            throw OrchLogError(.io, "inflateInit2 failed with zlib code \(rc)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates exactly `expected` bytes from `input` into `output` (replacing its contents).
    /// - Throws: `.corrupt` when the stream is invalid, ends early, or would exceed `expected`.
    func inflate(_ input: UnsafeRawBufferPointer, expected: Int, into output: inout ByteBuffer, context: String) throws {
        let rc0 = inflateReset(stream)
        guard rc0 == Z_OK else { throw OrchLogError(.io, "inflateReset failed with zlib code \(rc0)") }
        output.count = 0
        output.reserve(expected + 1)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.base
        // One spare byte: a stream that still has output after `expected` bytes is a bomb.
        stream.pointee.avail_out = UInt32(expected + 1)
        let rc = COrchZlib.inflate(stream, Z_FINISH)
        let produced = expected + 1 - Int(stream.pointee.avail_out)
        guard rc == Z_STREAM_END else {
            if produced > expected || (rc == Z_BUF_ERROR && stream.pointee.avail_out == 0) {
                throw OrchLogError(.corrupt, "\(context): block inflates past its declared \(expected) bytes")
            }
            throw OrchLogError(.corrupt, "\(context): invalid zlib stream (code \(rc))")
        }
        guard produced == expected else {
            throw OrchLogError(.corrupt, "\(context): block inflated to \(produced) bytes, header says \(expected)")
        }
        output.count = produced
    }
}
