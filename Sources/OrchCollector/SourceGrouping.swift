import OrchLog

/// Which `source` a source directory's series carry. By default the directory's own name, or
/// its service's in a two-level root (`ROOT/SERVICE/INSTANCE/`); with `--source.group REGEX`,
/// the first capture group of a directory name that matches (the instance name, in a two-level
/// root), so that the processes of one service share one series set.
struct SourceGrouping: @unchecked Sendable {
    // Unchecked: the regex is built once and only matched (matching does not mutate it).
    private let regex: Regex<AnyRegexOutput>?

    /// - Throws: `CollectorError(.invalidArgument)` for a pattern that does not compile or has
    ///   no capture group.
    init(pattern: String?) throws {
        guard let pattern else {
            regex = nil
            return
        }
        let compiled: Regex<AnyRegexOutput>
        do {
            compiled = try Regex(pattern)
        } catch {
            throw CollectorError(.invalidArgument, "--source.group \(pattern): not a regular expression: \(error)")
        }
        // A probe match tells how many captures the pattern has (AnyRegexOutput counts them).
        guard Self.captureCount(pattern) > 0 else {
            throw CollectorError(.invalidArgument, "--source.group \(pattern): needs a capture group naming the group, e.g. '^(checkout-api)-[0-9a-f]+$'")
        }
        regex = compiled
    }

    /// The `source` of `dir`'s series.
    func group(of dir: SourceDirectory) -> String {
        guard let regex else { return dir.group }
        let instance = dir.name.split(separator: "/").last.map(String.init) ?? dir.name
        guard let match = try? regex.firstMatch(in: instance), match.output.count > 1,
              let captured = match.output[1].substring, !captured.isEmpty else { return dir.group }
        return String(captured)
    }

    /// Capturing groups in `pattern`: `(` not escaped, not in a class, not `(?:`, `(?=`, ….
    static func captureCount(_ pattern: String) -> Int {
        var count = 0, escaped = false, inClass = false
        let chars = Array(pattern)
        for (i, c) in chars.enumerated() {
            if escaped { escaped = false; continue }
            switch c {
            case "\\": escaped = true
            case "[": inClass = true
            case "]": inClass = false
            case "(" where !inClass:
                if i + 1 < chars.count, chars[i + 1] == "?" {
                    // Named groups capture: (?<name>…), (?P<name>…), (?'name'…).
                    let rest = String(chars[(i + 2)...].prefix(2))
                    if rest.hasPrefix("<") && !rest.hasPrefix("<=") && !rest.hasPrefix("<!") || rest.hasPrefix("P<") || rest.hasPrefix("'") { count += 1 }
                } else {
                    count += 1
                }
            default: break
            }
        }
        return count
    }
}
