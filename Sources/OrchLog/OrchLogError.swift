import Glibc

/// The error every `OrchLog` API throws: a code, and a message that names the file,
/// offset, flag or value at fault.
public struct OrchLogError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        /// A system call failed (see `errno`).
        case io
        /// Another writer holds the directory's lock.
        case locked
        /// Bytes on disk are not a valid log (bad magic, CRC, lengths, encoding).
        case corrupt
        /// A path that should be a log is not one (no segments, not a segment file).
        case notALog
        /// An argument or option is out of range.
        case invalidArgument
        /// The log was closed.
        case closed
    }

    public let code: Code
    public let message: String
    /// The `errno` of a failed system call, else 0.
    public let errno: Int32

    public init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// The message without its leading location — "`path`:`offset`: " or "`path`: " — for
    /// reports that print the location themselves (`LogProblem`, `orchlog verify`); the
    /// whole message when it starts otherwise.
    public func reason(at path: String, offset: Int64) -> String {
        for prefix in ["\(path):\(offset): ", "\(path): "] where message.hasPrefix(prefix) {
            return String(message.dropFirst(prefix.count))
        }
        return message
    }

    /// An `.io` error for the current `errno`: "`what`: strerror".
    static func system(_ what: String, errno e: Int32 = Glibc.errno) -> OrchLogError {
        OrchLogError(.io, "\(what): \(String(cString: strerror(e)))", errno: e)
    }
}

/// One place for system calls: retries `EINTR` and turns failure into `OrchLogError`.
enum Sys {
    /// Calls `body` until it does not fail with EINTR; throws on -1.
    @discardableResult
    static func call<T: BinaryInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws -> T {
        while true {
            let rc = body()
            if rc != -1 { return rc }
            let e = errno
            if e == EINTR { continue }
            throw OrchLogError.system(what(), errno: e)
        }
    }

    /// Writes all of `bytes` at the current position (handles short writes and EINTR).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = try call("write \(path)") { write(fd, bytes.baseAddress! + done, bytes.count - done) }
            if n == 0 { throw OrchLogError(.io, "write \(path): wrote 0 bytes", errno: EIO) }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset`; returns how many were read (short at EOF).
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = try call("read \(path)") { Glibc.pread(fd, buffer + done, count - done, off_t(offset) + off_t(done)) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// fsync, mapping errors.
    static func fsync(_ fd: Int32, path: String) throws {
        try call("fsync \(path)") { Glibc.fsync(fd) }
    }

    /// fsyncs a directory so renames and creations in it are durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = try call("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
    @inline(__always)
    static func nowNs() -> UInt64 { clockNs(CLOCK_REALTIME) }

    /// Monotonic nanoseconds (CLOCK_MONOTONIC), for timers.
    @inline(__always)
    static func monotonicNs() -> UInt64 { clockNs(CLOCK_MONOTONIC) }

    /// CPU time used by the calling thread, in nanoseconds.
    static func threadCPUNs() -> UInt64 { clockNs(CLOCK_THREAD_CPUTIME_ID) }

    /// Clock `id` in nanoseconds.
    @inline(__always)
    private static func clockNs(_ id: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(id, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
