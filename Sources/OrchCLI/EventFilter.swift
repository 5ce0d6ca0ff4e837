import OrchLog

/// `--type` and `--where` filters of `orchlog tail`.
///
/// Every filter is checked against the event schema before anything is read: a filter that
/// could never match (an unknown type or field, an enumeration value no selected type has, a
/// number that is not a whole number, a flag that is not true or false, or conditions that
/// no single type satisfies together) is a usage error, not an empty result.
struct EventFilter {
    /// One `--where key=value`. Numeric keys (`seq`, numbers, durations) compare as numbers,
    /// so `depth=007` matches 7.
    struct Condition {
        let key: String
        let value: String
        let number: UInt64?
        var op: Op = .equal
    }

    /// `--where` comparisons: `=` and `!=` for any field; `<`, `<=`, `>`, `>=` for numbers,
    /// durations and `seq`.
    enum Op: String, CaseIterable {
        case notEqual = "!=", lessOrEqual = "<=", greaterOrEqual = ">=", equal = "=", less = "<", greater = ">"

        var isOrdering: Bool { self != .equal && self != .notEqual }

        func holds(_ a: UInt64, _ b: UInt64) -> Bool {
            switch self {
            case .equal: return a == b
            case .notEqual: return a != b
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            }
        }
    }

    var types: Set<EventType>?
    var conditions: [Condition] = []
    /// `--since` / `--until`: event timestamps (ns) from `since` up to and including `until`.
    var since: UInt64?
    var until: UInt64?

    /// Nanoseconds per duration unit, as `--where latency>1.5s` takes them.
    static let durationUnits: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86_400e9)]

    /// `1.5s`, `250ms`, `2m` as nanoseconds; nil when `text` is not a number with a unit.
    static func duration(_ text: String) -> UInt64? {
        for (unit, scale) in durationUnits.sorted(by: { $0.0.count > $1.0.count }) where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number) else { return nil }
            let ns = (v * scale).rounded()
            return ns >= 0 && ns < 1.8e19 ? UInt64(ns) : nil
        }
        return nil
    }

    /// `--since`/`--until` values: RFC 3339 (`2026-12-03T06:00:00Z`) or relative to `now`
    /// (`-15m`, `-2h`, `-1d`; `now`).
    static func time(_ text: String, flag: String, now: UInt64) throws -> UInt64 {
        if text == "now" { return now }
        if text.hasPrefix("-"), let d = duration(String(text.dropFirst())) { return now >= d ? now - d : 0 }
        if case .valid(let ns) = NDJSONEventParser.checkTimestamp(text) { return ns }
        if let ns = withOffset(text) { return ns }
        throw CLIError.usage("\(flag) \(show(text)): expected an RFC 3339 time (2026-12-03T06:00:00Z) or a time ago (-15m, -2h, -1d)")
    }

    /// RFC 3339 with a UTC offset other than `Z` (`2026-12-03T08:00:00+02:00` is 06:00 UTC),
    /// as nanoseconds since the epoch; nil when `text` is not such a time.
    static func withOffset(_ text: String) -> UInt64? {
        let chars = Array(text)
        guard chars.count > 6 else { return nil }
        let tail = Array(chars.suffix(6))
        guard tail[0] == "+" || tail[0] == "-", tail[3] == ":",
              let hours = UInt64(String(tail[1...2])), let minutes = UInt64(String(tail[4...5])),
              tail[1...2].allSatisfy(\.isASCII), tail[4...5].allSatisfy(\.isASCII), hours < 24, minutes < 60,
              case .valid(let local) = NDJSONEventParser.checkTimestamp(String(chars.dropLast(6)) + "Z") else { return nil }
        let offset = (hours * 60 + minutes) * 60_000_000_000
        if tail[0] == "+" { return local >= offset ? local - offset : nil }
        return local <= UInt64.max - offset ? local + offset : nil
    }

    /// Adds `--since` / `--until`.
    mutating func limitTime(since sinceText: String?, until untilText: String?, now: UInt64) throws {
        if let sinceText { since = try Self.time(sinceText, flag: "--since", now: now) }
        if let untilText { until = try Self.time(untilText, flag: "--until", now: now) }
        if let since, let until, since > until {
            throw CLIError.usage("--since \(sinceText ?? "") is after --until \(untilText ?? ""): no event can match")
        }
    }

    /// Parses `--type a,b` lists and `--where key=value` conditions.
    /// - Throws: a usage error naming the value at fault and what is allowed.
    init(types typeArgs: [String], wheres: [String]) throws {
        let allNames = EventType.allCases.map(\.name).joined(separator: ", ")
        if !typeArgs.isEmpty {
            var set = Set<EventType>()
            for arg in typeArgs {
                let names = arg.split(separator: ",").map(String.init)
                guard !names.isEmpty else {
                    throw CLIError.usage("--type \(Self.show(arg)): no event type given (one or more of \(allNames), comma-separated)")
                }
                for name in names {
                    guard let t = EventType(name: name) else {
                        throw CLIError.usage("--type \(Self.show(name)): unknown event type (one of \(allNames))")
                    }
                    set.insert(t)
                }
            }
            types = set
        }
        // The types an event could still have, narrowed by each condition in turn.
        var candidates = types ?? Set(EventType.allCases)
        let known = Set(["source", "type", "seq"] + EventType.allCases.flatMap { EventSchema.of($0).fields.map(\.name) })
        let durations = Set(EventType.allCases.flatMap { EventSchema.of($0).fields.filter { if case .nanoseconds = $0.kind { return true } else { return false } }.map(\.name) })
        for w in wheres {
            guard let at = w.firstIndex(where: { "!<>=".contains($0) }), at != w.startIndex else {
                throw CLIError.usage("--where \(Self.show(w)): expected key=value (or key!=value, key<value, <=, >, >=)")
            }
            let rest = w[at...]
            guard let op = Op.allCases.first(where: { rest.hasPrefix($0.rawValue) }) else {
                throw CLIError.usage("--where \(Self.show(w)): expected key=value (or key!=value, key<value, <=, >, >=)")
            }
            var key = String(w[..<at])
            var value = String(rest.dropFirst(op.rawValue.count))
            // A duration compares with a unit: `latency>1s` (or latency_ns>1s, latency_ns>1000).
            if !known.contains(key), durations.contains(key + "_ns") {
                guard let ns = Self.duration(value) else {
                    throw CLIError.usage("--where \(Self.show(w)): \(Self.show(value)) is not a duration with a unit (1.5s, 250ms, 2m, 30us)")
                }
                key += "_ns"
                value = String(ns)
            } else if durations.contains(key), let ns = Self.duration(value) {
                value = String(ns)
            }
            guard known.contains(key) else {
                throw CLIError.usage("--where \(Self.show(w)): no event has a field named \(Self.show(key))")
            }
            let before = candidates
            var number: UInt64?
            switch key {
            case "source":
                guard !value.isEmpty else { throw CLIError.usage("--where \(Self.show(w)): expected a source name (a source directory's name)") }
            case "seq":
                number = try Self.wholeNumber(value, w)
            case "type":
                guard let t = EventType(name: value) else {
                    throw CLIError.usage("--where \(Self.show(w)): unknown event type (one of \(allNames))")
                }
                candidates = candidates.intersection([t])
            default:
                candidates = try Self.narrow(before, key: key, value: value, condition: w)
                if Self.isNumeric(key, in: candidates) { number = UInt64(value) }
            }
            guard !candidates.isEmpty else {
                throw CLIError.usage("--where \(Self.show(w)): cannot match together with the other filters (they leave only \(Self.list(before)))")
            }
            if op.isOrdering && number == nil {
                throw CLIError.usage("--where \(Self.show(w)): \(op.rawValue) compares numbers, and \(key) is not a number, a duration or seq in \(Self.list(candidates))")
            }
            conditions.append(Condition(key: key, value: value, number: number, op: op))
        }
        // Only the types left can match: the cheap pre-check on raw events uses them.
        if types != nil || !conditions.isEmpty { types = candidates }
    }

    /// The types among `candidates` whose field `key` can hold `value`.
    /// - Throws: a usage error when none can, saying what is allowed.
    private static func narrow(_ candidates: Set<EventType>, key: String, value: String, condition w: String) throws -> Set<EventType> {
        let having = candidates.filter { EventSchema.of($0).field(named: key) != nil }
        guard !having.isEmpty else {
            let owners = EventType.allCases.filter { EventSchema.of($0).field(named: key) != nil }
            throw CLIError.usage("--where \(show(w)): the selected types (\(list(candidates))) have no field \(key) (\(list(Set(owners))) do)")
        }
        var accepted = Set<EventType>()
        var allowed: [String] = []
        var expectsNumber = false, expectsNanoseconds = false, expectsFlag = false
        for t in EventType.allCases where having.contains(t) {
            switch EventSchema.of(t).field(named: key)!.kind {
            case .label, .traceID:
                accepted.insert(t)
            case .enumeration(let names):
                if names.contains(value) || isUnknownCode(value) { accepted.insert(t) }
                for n in names where !allowed.contains(n) { allowed.append(n) }
            case .number:
                if UInt64(value) != nil { accepted.insert(t) }
                expectsNumber = true
            case .nanoseconds:
                if UInt64(value) != nil { accepted.insert(t) }
                expectsNanoseconds = true
            case .flag:
                if value == "true" || value == "false" { accepted.insert(t) }
                expectsFlag = true
            }
        }
        guard accepted.isEmpty else { return accepted }
        var expected: [String] = []
        if !allowed.isEmpty { expected.append("one of \(allowed.joined(separator: ", "))") }
        if expectsNumber { expected.append("a whole number") }
        if expectsNanoseconds { expected.append("a whole number of nanoseconds") }
        if expectsFlag { expected.append("true or false") }
        throw CLIError.usage("--where \(show(w)): \(show(value)) is not a value of \(key) in \(list(having)) (expected \(expected.joined(separator: ", or ")))")
    }

    /// Whether `key` is a number, duration or flag in every type of `types` (so it compares as a number).
    private static func isNumeric(_ key: String, in types: Set<EventType>) -> Bool {
        types.allSatisfy {
            switch EventSchema.of($0).field(named: key)?.kind {
            case .number?, .nanoseconds?: return true
            default: return false
            }
        }
    }

    /// `unknown`: how `tail` shows an enumeration code this version does not know.
    private static func isUnknownCode(_ value: String) -> Bool { value == EventRecord.unknownValue }

    private static func wholeNumber(_ value: String, _ w: String) throws -> UInt64 {
        guard let n = UInt64(value) else {
            throw CLIError.usage("--where \(show(w)): \(show(value)) is not a whole number (0...\(UInt64.max))")
        }
        return n
    }

    /// Type names in schema order.
    private static func list(_ types: Set<EventType>) -> String {
        EventType.allCases.filter { types.contains($0) }.map(\.name).joined(separator: ", ")
    }

    /// A user-given value for a message: quoted (with escapes) when empty or not plain.
    private static func show(_ s: String) -> String {
        var out = ""
        EventFormatter.appendValue(s, to: &out)
        return out
    }

    /// Cheap pre-check on the raw event's type.
    func accepts(_ type: EventType) -> Bool { types?.contains(type) ?? true }

    func matches(_ r: EventRecord) -> Bool {
        guard accepts(r.type) else { return false }
        if let since, r.timestamp < since { return false }
        if let until, r.timestamp > until { return false }
        for c in conditions {
            let equalWanted = c.op != .notEqual
            switch c.key {
            case "source": guard (r.source == c.value) == equalWanted else { return false }
            case "type": guard (r.type.name == c.value) == equalWanted else { return false }
            case "seq": guard let n = c.number, c.op.holds(r.seq, n) else { return false }
            default:
                if let n = c.number, let actual = r.number(of: c.key) {
                    guard c.op.holds(actual, n) else { return false }
                } else {
                    guard (r.text(of: c.key) == c.value) == equalWanted else { return false }
                }
            }
        }
        return true
    }
}

extension EventFilter {
    /// Appends the records of `block` this filter matches, tagged with `source`.
    func collect(_ block: DecodedBlock, source: String, into records: inout [EventRecord]) {
        for e in block.events where accepts(e.type) {
            let r = block.record(e, source: source)
            if matches(r) { records.append(r) }
        }
    }
}
