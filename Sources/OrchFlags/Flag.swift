/// One flag of a command, as its spec declares it: the single place its name, short alias,
/// value placeholder, default and help text are written. Parsing (`ParsedFlags`), `--help`
/// (`CommandSpec.help`) and the README's tables (`CommandSpec.markdown`) all read it.
public struct Flag: Sendable, Equatable {
    /// The long name, with its dashes: `--lines`.
    public let name: String
    /// A one-letter alias with its dash (`-n`); it takes an attached value too (`-n5`).
    public let short: String?
    /// Other long names the flag answers to (`--rate` for `--invocations-per-day`).
    public let aliases: [String]
    /// What the value stands for in help (`N`, `FILE`); nil for a switch (no value).
    public let value: String?
    /// The default, as help shows it (`10`, `:9478`); nil when there is none to show.
    public let defaultValue: String?
    /// What the flag does: one paragraph, wrapped by the help renderer.
    public let help: String
    /// Whether the flag may be given more than once with every value kept (`--where`);
    /// a flag that is not repeatable keeps its last value.
    public let repeatable: Bool
    /// Whether the command refuses to run without it (shown as the default "required").
    public let required: Bool

    /// A flag. `value` nil makes it a switch.
    public init(_ name: String, short: String? = nil, aliases: [String] = [], value: String? = nil,
                default defaultValue: String? = nil, repeatable: Bool = false, required: Bool = false, _ help: String) {
        self.name = name
        self.short = short
        self.aliases = aliases
        self.value = value
        self.defaultValue = defaultValue
        self.help = help
        self.repeatable = repeatable
        self.required = required
    }

    /// Whether the flag takes a value.
    public var takesValue: Bool { value != nil }

    /// Every spelling the parser accepts for it: the name, its aliases, the short alias.
    public var spellings: [String] { [name] + aliases + (short.map { [$0] } ?? []) }

    /// `-n, --lines N`: how help and the README name the flag.
    public var synopsis: String {
        let names = (short.map { [$0] } ?? []) + [name] + aliases
        return names.joined(separator: ", ") + (value.map { " " + $0 } ?? "")
    }
}

/// The flags several commands share.
public extension Flag {
    /// `-h, --help`: every command has it.
    static let help = Flag("--help", short: "-h", "this help")
    /// `--version`: version, revision, build date, Swift version, platform.
    static let version = Flag("--version", "version, revision, build date, Swift version, platform")
    /// `--help-markdown`: the flag tables the README holds, generated from the spec.
    static let helpMarkdown = Flag("--help-markdown", "print this command's flag table as Markdown (the README's section) and exit")
}
