/// The error the live mode throws: a code and a message naming the server, key, command or
/// path at fault.
public struct LiveError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of error.
    public enum Code: String, Sendable {
        /// A server could not be reached, or the connection broke.
        case connection
        /// A server answered with an error (a Redis error reply, a failed SQL statement).
        case server
        /// An operation ran past its timeout.
        case timeout
        /// A server process (redis-server, PostgreSQL, reference-backends) could not be started.
        case process
        /// A flag, URL or DSN is malformed.
        case usage
    }

    /// The kind and the message.
    public let code: Code
    public let message: String

    /// An error of `code`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
