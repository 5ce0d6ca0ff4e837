/// A benchmark could not run (setup failed, a peer misbehaved); the message says what and where.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }
}
