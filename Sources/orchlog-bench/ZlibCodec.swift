import COrchZlib

/// Debian's zlib alone (zlib wrapper, 32 KiB window, memLevel 8, default strategy), with
/// reusable streams: the original limit, reported beside libdeflate's for context.
/// Not thread-safe.
final class ZlibCodec: BlockCodec {
    let name = "zlib"
    private let deflateStream: UnsafeMutablePointer<z_stream>
    private let inflateStream: UnsafeMutablePointer<z_stream>

    /// - Throws: `BenchError` when zlib cannot be initialised.
    init(level: Int32) throws {
        deflateStream = .allocate(capacity: 1)
        deflateStream.initialize(to: z_stream())
        inflateStream = .allocate(capacity: 1)
        inflateStream.initialize(to: z_stream())
        let rc1 = COrchZlib_deflateInit2(deflateStream, level, 15)
        let rc2 = COrchZlib_inflateInit2(inflateStream, 15)
        guard rc1 == Z_OK, rc2 == Z_OK else {
            throw BenchError("zlib init failed (deflate \(rc1), inflate \(rc2))")
        }
    }

    deinit {
        deflateEnd(deflateStream)
        inflateEnd(inflateStream)
        deflateStream.deallocate()
        inflateStream.deallocate()
    }

    /// Compresses `input` as one complete zlib stream into `output` (resized as needed);
    /// returns the compressed length.
    func deflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws -> Int {
        _ = deflateReset(deflateStream)
        let bound = Int(deflateBound(deflateStream, UInt(input.count)))
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let rc: Int32 = output.withUnsafeMutableBytes { out in
            deflateStream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            deflateStream.pointee.avail_in = UInt32(input.count)
            deflateStream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            deflateStream.pointee.avail_out = UInt32(bound)
            return COrchZlib.deflate(deflateStream, Z_FINISH)
        }
        guard rc == Z_STREAM_END else { throw BenchError("deflate failed with zlib code \(rc)") }
        return bound - Int(deflateStream.pointee.avail_out)
    }

    /// Inflates one complete zlib stream of `expected` bytes into `output` (resized as needed).
    func inflate(_ input: UnsafeRawBufferPointer, expected: Int, into output: inout [UInt8]) throws {
        _ = inflateReset(inflateStream)
        if output.count < expected { output = [UInt8](repeating: 0, count: expected) }
        let rc: Int32 = output.withUnsafeMutableBytes { out in
            inflateStream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            inflateStream.pointee.avail_in = UInt32(input.count)
            inflateStream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            inflateStream.pointee.avail_out = UInt32(expected)
            return COrchZlib.inflate(inflateStream, Z_FINISH)
        }
        guard rc == Z_STREAM_END, inflateStream.pointee.avail_out == 0 else {
            throw BenchError("inflate failed with zlib code \(rc)")
        }
    }
}
