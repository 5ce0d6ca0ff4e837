/// The flags of one command, with the prose its `--help` shows around them.
///
/// Adding a flag is one line in the command's spec: `Flag("--name", value: "N", default: "1",
/// "what it does")` in the right group. The parser then accepts it (`--name 5`, `--name=5`),
/// `--help` lists it and the README's table (regenerated with `scripts/readme-flags.py`) shows
/// it; the command reads it with `parsed.value("--name")`.
public struct CommandSpec: Sendable {
    /// A titled list of flags (`Options:`, `LIVE MODE`).
    public struct Group: Sendable {
        /// The heading help prints above the flags (`Options:`).
        public let title: String
        /// The group's flags, in help order.
        public let flags: [Flag]
        /// A group of `flags` under `title`.
        public init(_ title: String, _ flags: [Flag]) {
            self.title = title
            self.flags = flags
        }
    }

    /// The command as typed: `orchlog tail`, `orchlog-collector`.
    public let name: String
    /// One line: what the command does (the `orchlog --help` command list, the README).
    public let summary: String
    /// Help before the flags: the usage lines and what the command does, verbatim.
    public let synopsis: String
    /// The flags, in the order help lists them.
    public let groups: [Group]
    /// Help after the flags (exit status, notes), verbatim; may be empty.
    public let epilogue: String
    /// Columns of help text; flag descriptions wrap to fit.
    public let width: Int
    /// The column help texts start at; a longer flag synopsis puts its text on the next line.
    public let helpColumn: Int?

    /// A command's spec: its flags in titled groups, with the help prose around them.
    public init(_ name: String, summary: String, synopsis: String, groups: [Group], epilogue: String = "",
                width: Int = 96, helpColumn: Int? = nil) {
        self.name = name
        self.summary = summary
        self.synopsis = synopsis
        self.groups = groups
        self.epilogue = epilogue
        self.width = width
        self.helpColumn = helpColumn
    }

    /// One group titled `Options:`.
    public init(_ name: String, summary: String, synopsis: String, flags: [Flag], epilogue: String = "",
                width: Int = 96, helpColumn: Int? = nil) {
        self.init(name, summary: summary, synopsis: synopsis, groups: [Group("Options:", flags)], epilogue: epilogue,
                  width: width, helpColumn: helpColumn)
    }

    /// Every flag, in help order.
    public var flags: [Flag] { groups.flatMap(\.flags) }

    /// The flag `spelling` (a name, alias or short alias) names; nil if none.
    public func flag(_ spelling: String) -> Flag? {
        flags.first { $0.spellings.contains(spelling) }
    }

    /// Spellings used by more than one flag (a spec mistake the tests look for).
    public var clashingSpellings: [String] {
        var seen: Set<String> = [], clashes: [String] = []
        for s in flags.flatMap(\.spellings) where !seen.insert(s).inserted { clashes.append(s) }
        return clashes
    }
}
