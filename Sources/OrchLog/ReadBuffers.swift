/// What reading frames needs besides the file: the frame header and payload buffers, the
/// inflater, the block decoder and its last block. Every `SegmentReader` has one; a process
/// that reads many sources on one thread (the collector) gives all its readers the same, so
/// that memory does not grow with the number of sources. A reader's payload and block are
/// then those of the last frame any reader sharing them read. Not thread-safe.
public final class ReadBuffers {
    @exclusivity(unchecked) var headerBytes = [UInt8](repeating: 0, count: LogFormat.frameHeaderSize)
    @exclusivity(unchecked) var payloadBuffer = ByteBuffer(capacity: 64 << 10)
    @exclusivity(unchecked) var rawBuffer = ByteBuffer(capacity: 128 << 10)
    @exclusivity(unchecked) var inflater: Inflater?
    @exclusivity(unchecked) var decoder = BlockDecoder()

    public init() {}

    deinit {
        payloadBuffer.deallocate()
        rawBuffer.deallocate()
    }
}
