/// A command line parsed against a `CommandSpec`: long flags (`--name value`,
/// `--name=value`), short flags (`-n 5`, `-n5`), switches (grouped: `-fn5` is `-f -n5`),
/// repeated flags, and positional arguments (`--` ends the flags). A flag the spec does not declare is an error, so a
/// command cannot accept a flag its help does not list.
public struct ParsedFlags: Sendable {
    /// The spec the command line was parsed against.
    public let spec: CommandSpec
    /// Values by flag name (the long name), in the order given; "" for a switch.
    private var values: [String: [String]] = [:]
    /// The arguments that are not flags, in order.
    public private(set) var positional: [String] = []
    /// The flags given, in order (with repeats): the long name and the value ("" for a switch).
    public private(set) var given: [(name: String, value: String)] = []

    /// Parses `argv` (without the program name) against `spec`.
    /// - Throws: `FlagError` naming the flag at fault.
    public init(_ argv: [String], spec: CommandSpec) throws(FlagError) {
        self.spec = spec
        var i = 0
        var onlyPositional = false
        // The rest of a group of short switches (`-fn5` is `-f -n5`), read next.
        var grouped: String?
        while grouped != nil || i < argv.count {
            let arg: String
            if let g = grouped { arg = g; grouped = nil } else { arg = argv[i]; i += 1 }
            if onlyPositional || !arg.hasPrefix("-") || arg == "-" {
                positional.append(arg)
                continue
            }
            if arg == "--" { onlyPositional = true; continue }
            var spelling = arg
            var inline: String?
            if arg.hasPrefix("--") {
                if let eq = arg.firstIndex(of: "=") {
                    spelling = String(arg[..<eq])
                    inline = String(arg[arg.index(after: eq)...])
                }
            } else if arg.count > 2, let f = spec.flag(String(arg.prefix(2))) {
                spelling = String(arg.prefix(2))
                if f.takesValue {
                    // A short flag with its value attached: -n5, -ojson.
                    inline = String(arg.dropFirst(2))
                } else {
                    // Short switches grouped: -fn5 is -f then -n5.
                    let rest = arg.dropFirst(2)
                    if rest.first == "=" { throw FlagError("\(spelling) takes no value") }
                    guard rest.first?.isLetter == true else { throw FlagError("unknown flag \(arg) (see --help)") }
                    grouped = "-" + rest
                }
            }
            guard let flag = spec.flag(spelling) else { throw FlagError("unknown flag \(spelling) (see --help)") }
            let value: String
            if !flag.takesValue {
                if inline != nil { throw FlagError("\(spelling) takes no value") }
                value = ""
            } else if let inline {
                value = inline
            } else {
                guard i < argv.count else { throw FlagError("\(spelling) needs a value") }
                value = argv[i]
                i += 1
            }
            values[flag.name, default: []].append(value)
            given.append((flag.name, value))
        }
    }

    /// The long name `spelling` stands for. A spelling outside the spec is a programming
    /// error (the tests parse every command), answered as "not given".
    private func name(_ spelling: String) -> String? {
        let flag = spec.flag(spelling)
        assert(flag != nil, "\(spelling) is not in the flag spec of \(spec.name)")
        return flag?.name
    }

    /// Whether any of the flags was given.
    public func has(_ spellings: String...) -> Bool {
        spellings.contains { name($0).map { values[$0] != nil } ?? false }
    }

    /// The last value of the first of the flags that was given.
    public func value(_ spellings: String...) -> String? {
        for s in spellings { if let n = name(s), let v = values[n]?.last { return v } }
        return nil
    }

    /// Every value of a flag, in order.
    public func all(_ spelling: String) -> [String] { name(spelling).flatMap { values[$0] } ?? [] }
}
