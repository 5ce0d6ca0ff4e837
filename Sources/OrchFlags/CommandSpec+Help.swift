extension CommandSpec {
    /// The `--help` text: the synopsis, each group's flags with their help wrapped to
    /// `width` columns (and the default, when there is one), then the epilogue.
    public var help: String {
        var out = synopsis
        for group in groups where !group.flags.isEmpty {
            out += "\n\n" + group.title
            for flag in group.flags { out += "\n" + helpRow(flag) }
        }
        if !epilogue.isEmpty { out += "\n\n" + epilogue }
        return out
    }

    /// Where help texts start: past the longest synopsis (capped), as `helpColumn` says.
    var textColumn: Int {
        helpColumn ?? min(2 + (flags.map(\.synopsis.count).max() ?? 0) + 2, 36)
    }

    /// `  -n, --lines N         show the last N events (default 10)`, wrapped.
    func helpRow(_ flag: Flag) -> String {
        let column = textColumn
        let lead = "  " + flag.synopsis
        let words = flag.helpText().split(separator: " ", omittingEmptySubsequences: true)
        var lines: [String] = []
        var line = lead.count + 1 <= column ? lead + String(repeating: " ", count: column - lead.count) : ""
        if line.isEmpty { lines.append(lead); line = String(repeating: " ", count: column) }
        var lineHasWord = false
        for word in words {
            if lineHasWord && line.count + 1 + word.count > width {
                lines.append(line)
                line = String(repeating: " ", count: column)
                lineHasWord = false
            }
            line += (lineHasWord ? " " : "") + word
            lineHasWord = true
        }
        lines.append(line)
        return lines.map { $0.hasSuffix(" ") ? String($0.reversed().drop { $0 == " " }.reversed()) : $0 }.joined(separator: "\n")
    }
}

extension Flag {
    /// The help paragraph with what the spec adds: `repeatable` (unless the text says so) and
    /// the default — `show the last N events (default 10)`, or inside a closing parenthesis:
    /// `rotate past N bytes (at least 4096; default 67108864)`.
    func helpText(withDefault: Bool = true) -> String {
        var notes: [String] = []
        if repeatable && !help.contains("repeatable") { notes.append("repeatable") }
        if withDefault, let d = defaultValue { notes.append("default \(d)") }
        guard !notes.isEmpty else { return help }
        let note = notes.joined(separator: "; ")
        return help.hasSuffix(")") ? "\(help.dropLast()); \(note))" : "\(help) (\(note))"
    }
}
