/// The error the reference orchestrator throws: a code and a message naming the flag,
/// value or path at fault.
public struct ReferenceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of error, and so which exit status.
    public enum Code: String, Sendable {
        /// Bad command line (exit code 2).
        case usage
        /// The run could not be done: the log or summary could not be written (exit code 1).
        case failure
    }

    /// The kind and the message (naming the flag, value or path at fault).
    public let code: Code
    public let message: String

    /// An error of `code`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }

    static func usage(_ message: String) -> ReferenceError { ReferenceError(.usage, message) }
}
