import COrchDeflate

/// CRC-32 (the zlib/IEEE polynomial, as zlib's `crc32`) of `bytes`, continuing from `crc`
/// (0 to start). libdeflate's, which uses carry-less multiplication where the CPU has it.
@inline(__always)
func crc32Update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return libdeflate_crc32(crc, base, bytes.count)
}
