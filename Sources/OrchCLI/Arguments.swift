import OrchFlags

/// A failure the CLI reports as `orchlog: <message>`; `usage` failures exit 2, others 1.
public struct CLIError: Error, CustomStringConvertible {
    public let message: String
    public let isUsage: Bool

    public static func usage(_ message: String) -> CLIError { CLIError(message: message, isUsage: true) }
    public static func failure(_ message: String) -> CLIError { CLIError(message: message, isUsage: false) }

    public var description: String { message }
}

/// A command line parsed against a command's flag spec (`ParsedFlags`), its errors as usage
/// errors, with number helpers.
struct Arguments {
    let parsed: ParsedFlags

    /// - Throws: a usage error for a flag the spec does not have, or a missing value.
    init(_ args: [String], spec: CommandSpec) throws {
        do { parsed = try ParsedFlags(args, spec: spec) } catch { throw CLIError.usage(error.message) }
    }

    var positional: [String] { parsed.positional }

    /// Whether any of the flags (any spelling) was given.
    func has(_ names: String...) -> Bool { names.contains { parsed.has($0) } }

    /// The last value of the first of the flags given.
    func value(_ names: String...) -> String? {
        for n in names { if let v = parsed.value(n) { return v } }
        return nil
    }

    /// Every value of a repeatable flag, in order.
    func all(_ name: String) -> [String] { parsed.all(name) }

    /// An integer flag within `range`.
    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = self.value(name) else { return value }
        guard let v = Int(text), range.contains(v) else {
            throw CLIError.usage("\(name) \(text): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A number flag within `range`.
    func double(_ name: String, range: ClosedRange<Double>) throws -> Double? {
        guard let text = self.value(name) else { return nil }
        guard let v = Double(text), range.contains(v) else {
            throw CLIError.usage("\(name) \(text): expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }
}
