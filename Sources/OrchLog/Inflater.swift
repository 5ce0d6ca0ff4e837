import COrchDeflate

/// Inflates one zlib stream (RFC 1950) per block into a buffer of exactly the declared size,
/// with libdeflate (1.8× zlib's speed on orchlog's blocks, BENCHMARKS.md run G): a stream that would
/// produce more is a zlib bomb and stops at the limit. Not thread-safe.
final class Inflater {
    private let decompressor: OpaquePointer

    init() throws {
        guard let decompressor = libdeflate_alloc_decompressor() else {
            throw OrchLogError(.io, "libdeflate could not allocate a decompressor (out of memory)")
        }
        self.decompressor = decompressor
    }

    deinit { libdeflate_free_decompressor(decompressor) }

    /// Inflates exactly `expected` bytes from `input` into `output` (replacing its contents).
    /// - Throws: `.corrupt` when the stream is invalid (bad header, data or Adler-32), ends
    ///   early, would exceed `expected`, or is followed by bytes of something else.
    func inflate(_ input: UnsafeRawBufferPointer, expected: Int, into output: inout ByteBuffer, context: String) throws {
        output.count = 0
        output.reserve(expected)
        var consumed = 0
        var produced = 0
        let rc = libdeflate_zlib_decompress_ex(decompressor, input.baseAddress, input.count, output.base, expected,
                                                &consumed, &produced)
        switch rc {
        case LIBDEFLATE_SUCCESS:
            break
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            throw OrchLogError(.corrupt, "\(context): block inflates past its declared \(expected) bytes")
        default:
            throw OrchLogError(.corrupt, "\(context): invalid zlib stream (libdeflate result \(rc.rawValue))")
        }
        guard produced == expected else {
            throw OrchLogError(.corrupt, "\(context): block inflated to \(produced) bytes, header says \(expected)")
        }
        guard consumed == input.count else {
            throw OrchLogError(.corrupt, "\(context): \(input.count - consumed) bytes after the zlib stream in the payload")
        }
        output.count = produced
    }
}
