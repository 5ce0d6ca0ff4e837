import OrchMetrics

/// Which metric families the collector exports (`--metrics.keep`, `--metrics.drop`): a family
/// is exported when no keep pattern is given or one matches its name, and no drop pattern
/// matches. Patterns are regular expressions matched against the whole name as exposed
/// (counters with `_total`), as Prometheus' relabelling anchors them. A family not exported
/// is not fed either: its series are never made.
struct FamilyFilter: @unchecked Sendable {
    // Unchecked: built once, only matched.
    private let keep: [Regex<AnyRegexOutput>]
    private let drop: [Regex<AnyRegexOutput>]

    static let all = FamilyFilter()

    private init() {
        keep = []
        drop = []
    }

    /// - Throws: `CollectorError(.invalidArgument)` naming the flag and pattern that does not compile.
    init(keep: [String], drop: [String]) throws {
        func compile(_ flag: String, _ patterns: [String]) throws -> [Regex<AnyRegexOutput>] {
            try patterns.map { p in
                do { return try Regex(p) } catch {
                    throw CollectorError(.invalidArgument, "\(flag) \(p): not a regular expression: \(error)")
                }
            }
        }
        self.keep = try compile("--metrics.keep", keep)
        self.drop = try compile("--metrics.drop", drop)
    }

    /// The name a family is matched by: as exposed (a counter's with `_total`).
    static func exposedName(_ f: MetricFamily) -> String {
        f.type == .counter && !f.name.hasSuffix("_total") ? f.name + "_total" : f.name
    }

    func exports(_ f: MetricFamily) -> Bool {
        let name = Self.exposedName(f)
        func matches(_ r: Regex<AnyRegexOutput>) -> Bool { (try? r.wholeMatch(in: name)) != nil }
        if !keep.isEmpty, !keep.contains(where: matches) { return false }
        return !drop.contains(where: matches)
    }
}
