import COrchDeflate

/// Compresses whole blocks into one zlib stream each (RFC 1950: what any zlib `inflate`
/// reads), with libdeflate: at level 1 it gives the same size as zlib's level 1 in less than
/// half the time on orchlog's blocks (BENCHMARKS.md, "Compressor"). Not thread-safe.
final class Deflater {
    private let compressor: OpaquePointer
    let level: Int32

    /// - Throws: `OrchLogError(.invalidArgument)` for a level outside 0...9 (zlib's range, the
    ///   option's contract; libdeflate's own go to 12).
    init(level: Int32) throws {
        guard (0...9).contains(level) else {
            throw OrchLogError(.invalidArgument, "compression level \(level) is outside 0...9")
        }
        self.level = level
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw OrchLogError(.io, "libdeflate could not allocate a level \(level) compressor (out of memory)")
        }
        self.compressor = compressor
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// Compresses `input` as one complete zlib stream, appending to `output`.
    func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        let bound = libdeflate_zlib_compress_bound(compressor, input.count)
        output.reserve(bound)
        let written = libdeflate_zlib_compress(compressor, input.baseAddress, input.count, output.base + output.count, bound)
        // The bound always suffices; 0 would mean libdeflate broke its own contract.
        guard written > 0 else { throw OrchLogError(.io, "libdeflate could not compress \(input.count) bytes into its own bound \(bound)") }
        output.count += written
    }
}
