import Foundation
import Glibc

/// Buffered writes to stdout and stderr for the CLI.
enum Output {
    static let stdoutBuffer = FDWriter(fd: 1)
    static let stderrBuffer = FDWriter(fd: 2)

    static func out(_ line: String, terminator: String = "\n") { stdoutBuffer.write(line + terminator, flushAt: 64 << 10) }

    /// stderr is written at once (after flushing stdout, to keep the order on a terminal).
    static func err(_ line: String) {
        stdoutBuffer.flush()
        stderrBuffer.write(line + "\n", flushAt: 0)
    }

    static func flush() { stdoutBuffer.flush() }

    /// Color only on a terminal, never with NO_COLOR set (and non-empty).
    static var colorEnabled: Bool {
        if let v = getenv("NO_COLOR"), v.pointee != 0 { return false }
        return isatty(1) == 1
    }
}

/// A byte buffer in front of a file descriptor. `@unchecked Sendable`: every access holds `lock`.
final class FDWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    func write(_ s: String, flushAt threshold: Int) {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(contentsOf: s.utf8)
        if buffer.count > threshold { drain() }
    }

    func flush() {
        lock.lock()
        defer { lock.unlock() }
        drain()
    }

    private func drain() {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                // EPIPE (reader went away, e.g. `| head`): stop quietly, as Unix tools do.
                if errno == EPIPE { exit(0) }
                break
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
