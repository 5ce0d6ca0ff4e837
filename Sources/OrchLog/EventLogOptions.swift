/// How an `EventLog` buffers, flushes, syncs, rotates and retains.
public struct EventLogOptions: Sendable, Equatable {
    /// When the writer calls fsync.
    public enum FsyncPolicy: Sendable, Equatable {
        /// Never: the page cache decides (fastest; a power cut can lose recent blocks).
        case never
        /// Every `seconds` and on rotation and close (the default, 1 s).
        case interval(seconds: Double)
        /// After every block (slowest; `EventLog.durableSequence` then tracks every block).
        case always

        /// Parses `never`, `interval`, `interval:SECONDS` or `always`.
        public init?(parsing text: String) {
            switch text {
            case "never": self = .never
            case "always": self = .always
            case "interval": self = .interval(seconds: 1)
            default:
                guard text.hasPrefix("interval:"), let s = Double(text.dropFirst(9)), s > 0 else { return nil }
                self = .interval(seconds: s)
            }
        }
    }

    /// Flush a block when its uncompressed size reaches this many bytes (default 64 KiB).
    public var blockSize: Int = 64 << 10
    /// Flush a block when its oldest event is this old, in nanoseconds (default 100 ms).
    public var flushAgeNs: UInt64 = 100_000_000
    /// fsync policy (default every second).
    public var fsync: FsyncPolicy = .interval(seconds: 1)
    /// Events each emitting thread's in-memory buffer holds between flusher passes (default
    /// 65,536, 6 MiB of address space per thread, touched only as far as it fills between
    /// passes). Past it, that thread's events are dropped and counted.
    public var bufferCapacity: Int = 65_536
    /// Rotate to a new segment past this size in bytes (default 64 MiB).
    public var segmentMaxBytes: Int64 = 64 << 20
    /// Rotate to a new segment past this age in nanoseconds (default 1 h).
    public var segmentMaxAgeNs: UInt64 = 3_600_000_000_000
    /// Delete the oldest closed segments while the source holds more bytes than this (nil: keep all).
    public var retentionMaxBytes: Int64? = nil
    /// Delete closed segments last written longer ago than this, in nanoseconds (nil: keep all).
    public var retentionMaxAgeNs: UInt64? = nil
    /// DEFLATE level 0...9 (zlib's range; blocks are compressed by libdeflate). Default 1: with
    /// columnar blocks it stays under 8 bytes per event, at 1.8× the speed of level 6 for 8% more
    /// bytes — see BENCHMARKS.md, run G.
    public var compressionLevel: Int32 = 1
    /// Permission bits of segment files (default 0640: not world-readable).
    public var fileMode: UInt32 = 0o640

    public init() {}

    /// Checks ranges.
    /// - Throws: `.invalidArgument` naming the option and value.
    public func validate() throws {
        func bad(_ what: String) -> OrchLogError { OrchLogError(.invalidArgument, what) }
        guard blockSize >= 1024 && blockSize <= LogFormat.maxRawBlock / 2 else {
            throw bad("block size \(blockSize) is outside 1 KiB...\(LogFormat.maxRawBlock / 2) bytes")
        }
        guard bufferCapacity >= 16 && bufferCapacity <= 1 << 24 else { throw bad("buffer capacity \(bufferCapacity) is outside 16...16777216 events") }
        guard segmentMaxBytes >= 4096 else { throw bad("segment size \(segmentMaxBytes) is below 4096 bytes") }
        guard (0...9).contains(compressionLevel) else { throw bad("compression level \(compressionLevel) is outside 0...9") }
        if case .interval(let s) = fsync, !(s > 0 && s.isFinite) { throw bad("fsync interval \(s) must be a positive number of seconds") }
        if let r = retentionMaxBytes, r < 0 { throw bad("retention size \(r) is negative") }
    }
}
