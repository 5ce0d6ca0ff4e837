extension CommandSpec {
    /// The README's table of the command's flags (flag, default, meaning), a table per
    /// group, the later groups under their title in bold.
    public var markdownTable: String {
        var out = ""
        for (i, group) in groups.enumerated() where !group.flags.isEmpty {
            if i > 0 { out += "\n**\(Self.title(group.title))**\n\n" }
            out += "| flag | default | meaning |\n|---|---|---|\n"
            for f in group.flags {
                let names = ((f.short.map { [$0] } ?? []) + [f.name] + f.aliases).map { "`\($0)`" }.joined(separator: ", ")
                let cell = names + (f.value.map { " `\(Self.escape($0, code: true))`" } ?? "")
                let def = f.required ? "required" : f.defaultValue.map { "`\(Self.escape($0, code: true))`" } ?? ""
                out += "| \(cell) | \(def) | \(Self.escape(f.helpText(withDefault: false), code: false)) |\n"
            }
        }
        return out
    }

    /// A group title as a heading: `LIVE MODE` stays, `Options:` loses its colon.
    static func title(_ t: String) -> String { t.hasSuffix(":") ? String(t.dropLast()) : t }

    /// Text for a Markdown table cell: `|` escaped (also inside code spans, as GFM wants);
    /// outside code, `<` and `*` escaped so they are not read as HTML or emphasis.
    static func escape(_ s: String, code: Bool) -> String {
        var out = ""
        var inCode = code
        let chars = Array(s)
        for (i, c) in chars.enumerated() {
            switch c {
            case "|": out += "\\|"
            case "`" where !code: inCode.toggle(); out.append(c)
            case "<" where !inCode: out += "&lt;"
            case "*" where !inCode: out += "\\*"
            case "_" where !inCode && !(i > 0 && chars[i - 1].isWordCharacter && i + 1 < chars.count && chars[i + 1].isWordCharacter):
                // Intraword underscores never make emphasis; one at a word's edge may.
                out += "\\_"
            default: out.append(c)
            }
        }
        return out
    }

    /// The README's overview of several commands (command, what it does), then each
    /// command's table under a `####` heading.
    public static func markdown(_ specs: [CommandSpec]) -> String {
        var out = "| command | what it does |\n|---|---|\n"
        for s in specs { out += "| `\(s.name)` | \(escape(s.summary, code: false)) |\n" }
        for s in specs where !s.flags.isEmpty {
            out += "\n#### `\(s.name)`\n\n" + s.markdownTable
        }
        return out
    }
}

extension Character {
    /// A letter or digit: an underscore between two is not emphasis in Markdown.
    var isWordCharacter: Bool { isLetter || isNumber }
}
