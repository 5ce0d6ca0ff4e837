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
    }

    var types: Set<EventType>?
    var conditions: [Condition] = []

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
        for w in wheres {
            guard let eq = w.firstIndex(of: "="), eq != w.startIndex else {
                throw CLIError.usage("--where \(Self.show(w)): expected key=value")
            }
            let key = String(w[..<eq])
            let value = String(w[w.index(after: eq)...])
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
            conditions.append(Condition(key: key, value: value, number: number))
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
            case .label:
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

    /// `unknown(N)`: how `tail` shows an enumeration code this version does not know.
    private static func isUnknownCode(_ value: String) -> Bool {
        value.hasPrefix("unknown(") && value.hasSuffix(")") && UInt64(value.dropFirst(8).dropLast()) != nil
    }

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
        for c in conditions {
            switch c.key {
            case "source": guard r.source == c.value else { return false }
            case "type": guard r.type.name == c.value else { return false }
            case "seq": guard r.seq == c.number else { return false }
            default:
                if let n = c.number, let actual = r.number(of: c.key) {
                    guard actual == n else { return false }
                } else {
                    guard r.text(of: c.key) == c.value else { return false }
                }
            }
        }
        return true
    }
}

extension EventFilter {
    /// Appends the records of `block` this filter matches, tagged with `source`.
    func collect(_ block: DecodedBlock, source: String, into records: inout [EventRecord]) {
        let table = block.stringTable
        for e in block.events where accepts(e.type) {
            let r = EventRecord(raw: e, table: table, source: source)
            if matches(r) { records.append(r) }
        }
    }
}
