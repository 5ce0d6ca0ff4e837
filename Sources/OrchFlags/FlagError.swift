/// A command line that does not fit its command's spec: an unknown flag, a missing value.
public struct FlagError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the flag: `unknown flag --bogus (see --help)`.
    public let message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
