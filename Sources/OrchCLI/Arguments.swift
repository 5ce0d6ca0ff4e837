/// A failure the CLI reports as `orchlog: <message>`; `usage` failures exit 2, others 1.
public struct CLIError: Error, CustomStringConvertible {
    public let message: String
    public let isUsage: Bool

    public static func usage(_ message: String) -> CLIError { CLIError(message: message, isUsage: true) }
    public static func failure(_ message: String) -> CLIError { CLIError(message: message, isUsage: false) }

    public var description: String { message }
}

/// A small command-line parser: long flags (`--name value`, `--name=value`), short flags
/// (`-f`, `-n 5`), repeated flags, and positional arguments. Unknown flags are usage errors.
struct Arguments {
    /// Flags that take no value.
    let switches: Set<String>
    /// Flags that take a value.
    let options: Set<String>
    private(set) var values: [String: [String]] = [:]
    private(set) var positional: [String] = []

    init(_ args: [String], switches: Set<String>, options: Set<String>) throws {
        self.switches = switches.union(["--help", "-h"])
        self.options = options
        var i = 0
        var onlyPositional = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositional || !arg.hasPrefix("-") || arg == "-" {
                positional.append(arg)
                continue
            }
            if arg == "--" { onlyPositional = true; continue }
            var name = arg
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            } else if !arg.hasPrefix("--"), arg.count > 2, options.contains(String(arg.prefix(2))) {
                // A short option with its value attached: -n5, -ojson.
                name = String(arg.prefix(2))
                inline = String(arg.dropFirst(2))
            }
            if self.switches.contains(name) {
                if inline != nil { throw CLIError.usage("\(name) takes no value") }
                values[name, default: []].append("")
            } else if options.contains(name) {
                if let inline {
                    values[name, default: []].append(inline)
                } else {
                    guard i < args.count else { throw CLIError.usage("\(name) needs a value") }
                    values[name, default: []].append(args[i])
                    i += 1
                }
            } else {
                throw CLIError.usage("unknown flag \(name) (see --help)")
            }
        }
    }

    func has(_ names: String...) -> Bool { names.contains { values[$0] != nil } }

    func value(_ names: String...) -> String? {
        for n in names { if let v = values[n]?.last { return v } }
        return nil
    }

    func all(_ name: String) -> [String] { values[name] ?? [] }

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
