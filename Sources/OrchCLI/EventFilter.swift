import OrchLog

/// `--type` and `--where` filters of `orchlog tail`.
struct EventFilter {
    var types: Set<EventType>?
    var conditions: [(key: String, value: String)] = []

    /// Parses `--type a,b` lists and `--where key=value` conditions.
    /// - Throws: a usage error naming an unknown type or field.
    init(types typeArgs: [String], wheres: [String]) throws {
        if !typeArgs.isEmpty {
            var set = Set<EventType>()
            for name in typeArgs.flatMap({ $0.split(separator: ",").map(String.init) }) {
                guard let t = EventType(name: name) else {
                    throw CLIError.usage("--type \(name): unknown event type (one of \(EventType.allCases.map(\.name).joined(separator: ", ")))")
                }
                set.insert(t)
            }
            types = set
        }
        let known = Set(["source", "type", "seq"] + EventType.allCases.flatMap { EventSchema.of($0).fields.map(\.name) })
        for w in wheres {
            guard let eq = w.firstIndex(of: "="), eq != w.startIndex else {
                throw CLIError.usage("--where \(w): expected key=value")
            }
            let key = String(w[..<eq])
            guard known.contains(key) else {
                throw CLIError.usage("--where \(w): no event has a field named \(key)")
            }
            conditions.append((key, String(w[w.index(after: eq)...])))
        }
    }

    /// Cheap pre-check on the raw event's type.
    func accepts(_ type: EventType) -> Bool { types?.contains(type) ?? true }

    func matches(_ r: EventRecord) -> Bool {
        guard accepts(r.type) else { return false }
        for (key, value) in conditions {
            let actual: String?
            switch key {
            case "source": actual = r.source
            case "type": actual = r.type.name
            case "seq": actual = String(r.seq)
            default: actual = r.text(of: key)
            }
            guard actual == value else { return false }
        }
        return true
    }
}

extension EventFilter {
    /// Appends the records of `block` this filter matches, tagged with `source`.
    func collect(_ block: DecodedBlock, source: String, into records: inout [EventRecord]) {
        let strings = block.strings
        for e in block.events where accepts(e.type) {
            let r = EventRecord(raw: e, strings: strings, source: source)
            if matches(r) { records.append(r) }
        }
    }
}
