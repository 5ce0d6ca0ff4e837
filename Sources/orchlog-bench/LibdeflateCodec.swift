import COrchDeflate

/// libdeflate alone, as the writer and readers use it (zlib format, whole buffers): the limit.
/// Not thread-safe.
final class LibdeflateCodec: BlockCodec {
    let name = "libdeflate"
    private let compressor: OpaquePointer
    private let decompressor: OpaquePointer

    /// - Throws: `BenchError` when libdeflate cannot allocate.
    init(level: Int32) throws {
        guard let c = libdeflate_alloc_compressor(level), let d = libdeflate_alloc_decompressor() else {
            throw BenchError("libdeflate could not allocate a level \(level) compressor and a decompressor")
        }
        compressor = c
        decompressor = d
    }

    deinit {
        libdeflate_free_compressor(compressor)
        libdeflate_free_decompressor(decompressor)
    }

    func deflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws -> Int {
        let bound = libdeflate_zlib_compress_bound(compressor, input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let written = output.withUnsafeMutableBytes { out in
            libdeflate_zlib_compress(compressor, input.baseAddress, input.count, out.baseAddress, bound)
        }
        guard written > 0 else { throw BenchError("libdeflate could not compress \(input.count) bytes") }
        return written
    }

    func inflate(_ input: UnsafeRawBufferPointer, expected: Int, into output: inout [UInt8]) throws {
        if output.count < expected { output = [UInt8](repeating: 0, count: expected) }
        let rc = output.withUnsafeMutableBytes { out in
            // A NULL actual-length pointer: anything but exactly `expected` bytes fails.
            libdeflate_zlib_decompress(decompressor, input.baseAddress, input.count, out.baseAddress, expected, nil)
        }
        guard rc == LIBDEFLATE_SUCCESS else { throw BenchError("libdeflate inflate failed with result \(rc.rawValue)") }
    }
}
