/// A compressor/decompressor of whole blocks in the zlib format, alone (no orchlog code): the
/// limits the writer and the collector are measured against.
protocol BlockCodec: AnyObject {
    /// What the figures call it.
    var name: String { get }
    /// Compresses `input` as one complete zlib stream into `output` (resized as needed);
    /// returns the compressed length.
    func deflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws -> Int
    /// Inflates one complete zlib stream of `expected` bytes into `output` (resized as needed).
    func inflate(_ input: UnsafeRawBufferPointer, expected: Int, into output: inout [UInt8]) throws
}
