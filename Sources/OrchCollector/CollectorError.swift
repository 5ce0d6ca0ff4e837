import Glibc
import OrchYAML

/// The error every `OrchCollector` API throws: a code, and a message that names the
/// file, line, flag or value at fault.
public struct CollectorError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of failure this is; callers branch on it, people read `message`.
    public enum Code: String, Sendable {
        /// A system call failed (see `errno`).
        case io
        /// A configuration file or flag value is invalid (web config, listen address…).
        case config
        /// An argument is out of range or malformed.
        case invalidArgument
        /// Bytes that should hold collector state (a checkpoint…) are not valid.
        case corrupt
        /// The request needs something this build or platform cannot do.
        case unsupported
        /// A C library reported a failure that is not the caller's fault.
        case library
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation naming the file, line, flag or value at fault.
    public let message: String
    /// The `errno` of a failed system call, else 0.
    public let errno: Int32

    /// Creates an error; `message` should say what failed and why.
    public init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// The message.
    public var description: String { message }

    /// An `.io` error for `errno` (default: the current one): "`what`: strerror".
    public static func system(_ what: String, errno e: Int32 = Glibc.errno) -> CollectorError {
        CollectorError(.io, "\(what): \(String(cString: strerror(e)))", errno: e)
    }
}

extension CollectorError {
    /// Runs `body`, turning a `YAMLError` into this module's error (same message).
    static func yaml<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as YAMLError { throw CollectorError(e.code == .library ? .library : .config, e.message) }
    }
}
