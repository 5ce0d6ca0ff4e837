/// A decoded event with its strings resolved: what readers, `tail`, `ingest` and tests use.
public struct EventRecord: Sendable, Hashable {
    public var type: EventType
    public var seq: UInt64
    /// Nanoseconds since the Unix epoch.
    public var timestamp: UInt64
    /// Label values by label slot (`EventSchema.fields` with kind `.label`, and the former
    /// label form of a field such as `invocation_started`'s `trace_id`: `""` unless read from
    /// a block written before the field's present form).
    public var labels: [String]
    /// Number values by number slot (all other fields; a `.traceID` takes two, high then low).
    public var numbers: [UInt64]
    /// The source directory name the event was read from ("" when not known).
    public var source: String

    public init(type: EventType, seq: UInt64, timestamp: UInt64, labels: [String], numbers: [UInt64], source: String = "") {
        self.type = type
        self.seq = seq
        self.timestamp = timestamp
        self.labels = labels
        self.numbers = numbers
        self.source = source
    }

    /// Builds a record from a raw event whose label slots index `strings`.
    /// Out-of-range indices resolve to "" (the decoder has already rejected such blocks).
    package init(raw: RawEvent, strings: [String], source: String = "") {
        self.init(raw: raw, source: source) { $0 < strings.count ? strings[$0] : "" }
    }

    /// Builds a record from a raw event whose label slots index the block's `table`, making
    /// only the strings its labels use. Out-of-range indices resolve to "".
    package init(raw: RawEvent, table: StringTable, source: String = "") {
        self.init(raw: raw, source: source) { $0 < table.count ? table.string($0) : "" }
    }

    /// Builds a record of the first `fields` field streams of its type's schema (those its
    /// block carried: an older writer's block lacks the fields appended since), label slots
    /// indexing the block's `table`.
    package init(raw: RawEvent, table: StringTable, fields: Int, source: String = "") {
        self.init(raw: raw, source: source, fields: fields) { $0 < table.count ? table.string($0) : "" }
    }

    init(raw: RawEvent, source: String, fields: Int = .max, label: (Int) -> String) {
        let (labelCount, numberCount) = EventSchema.of(raw.type).slotCounts(streams: fields)
        var labels: [String] = []
        labels.reserveCapacity(labelCount)
        for i in 0..<labelCount { labels.append(label(Int(raw.label(i)))) }
        var numbers: [UInt64] = []
        numbers.reserveCapacity(numberCount)
        for i in 0..<numberCount { numbers.append(raw.number(i)) }
        self.init(type: raw.type, seq: raw.seq, timestamp: raw.timestamp, labels: labels, numbers: numbers, source: source)
    }

    /// The fields the record carries, in schema order: all of them, except in a record read
    /// from an older writer's block, which lacks the fields appended to the type since (they
    /// read as `""`/0 through `text(of:)` and `number(of:)`, and `tail` leaves them out).
    public var carriedFields: ArraySlice<FieldSpec> {
        let all = schema.fields
        var n = 0
        for f in all {
            switch f.kind {
            case .label: guard f.slot < labels.count else { return all.prefix(n) }
            case .traceID:
                // Carried in the binary form, or (a block from before it) in the label form.
                guard f.slot + 1 < numbers.count || (f.formerLabelSlot ?? .max) < labels.count else { return all.prefix(n) }
            case .number, .nanoseconds, .enumeration, .flag: guard f.slot < numbers.count else { return all.prefix(n) }
            }
            n += 1
        }
        return all.prefix(n)
    }

    /// The schema of this record's type.
    public var schema: EventSchema { EventSchema.of(type) }

    /// A field's value as text: label strings as is, enumerations by name (`unknown` for a code
    /// this build does not know: a newer writer's value, never shown as a known one), flags as
    /// `true`/`false`, numbers in decimal. Nil for a field the type does not have.
    public func text(of fieldName: String) -> String? {
        guard let spec = schema.field(named: fieldName) else { return nil }
        return text(of: spec)
    }

    /// A field's value as text (see `text(of:)`).
    public func text(of spec: FieldSpec) -> String {
        switch spec.kind {
        case .label:
            return spec.slot < labels.count ? labels[spec.slot] : ""
        case .traceID:
            let id = storedTraceID(spec)
            if id.isSome { return id.hex }
            // A block from before the binary form: the label as that writer wrote it (any
            // string: the label form did not check it).
            if let former = spec.formerLabelSlot, former < labels.count { return labels[former] }
            return ""
        case .enumeration(let names):
            let code = spec.slot < numbers.count ? numbers[spec.slot] : 0
            return code < UInt64(names.count) ? names[Int(code)] : EventRecord.unknownValue
        case .flag:
            return (spec.slot < numbers.count ? numbers[spec.slot] : 0) != 0 ? "true" : "false"
        case .number, .nanoseconds:
            return String(spec.slot < numbers.count ? numbers[spec.slot] : 0)
        }
    }

    /// How readers show an enumeration code this build does not know (`tail` text and JSON,
    /// `text(of:)`); the collector counts such events under this label value too.
    public static let unknownValue = "unknown"

    /// Whether an enumeration field holds a code this build does not know.
    public func hasUnknownValue(_ spec: FieldSpec) -> Bool {
        guard case .enumeration(let names) = spec.kind else { return false }
        return (spec.slot < numbers.count ? numbers[spec.slot] : 0) >= UInt64(names.count)
    }

    /// A numeric field's value, or nil when the type has no such numeric field (a label or a
    /// trace id: see `traceID(of:)`).
    public func number(of fieldName: String) -> UInt64? {
        guard let spec = schema.field(named: fieldName) else { return nil }
        switch spec.kind {
        case .label, .traceID: return nil
        case .number, .nanoseconds, .enumeration, .flag: return spec.slot < numbers.count ? numbers[spec.slot] : 0
        }
    }

    /// A trace id field's value: the binary form, or a W3C trace id in the label form of a
    /// block written before it; `.none` when it holds none (or, in the label form, a string
    /// that is not a W3C trace id: `text(of:)` shows that string). Nil when the type has no
    /// such trace id field.
    public func traceID(of fieldName: String) -> TraceID? {
        guard let spec = schema.field(named: fieldName), spec.kind == .traceID else { return nil }
        let id = storedTraceID(spec)
        if id.isSome { return id }
        // `TraceID.none`, not `.none`: that would be the Optional's nil.
        if let former = spec.formerLabelSlot, former < labels.count { return TraceID(labels[former]) ?? TraceID.none }
        return TraceID.none
    }

    /// The binary form of trace id field `spec` (`.none` where the record lacks it).
    private func storedTraceID(_ spec: FieldSpec) -> TraceID {
        guard spec.slot + 1 < numbers.count else { return .none }
        return TraceID(hi: numbers[spec.slot], lo: numbers[spec.slot + 1])
    }

    /// Converts back to the typed, emit-side event, interning strings with `intern`; nil when
    /// an enumeration field holds a code this build does not know (`Event`'s enumerations have
    /// no case for it, and a known case would misstate it). `EventLog.emit(record:)` writes
    /// such a record as it is.
    public func event(intern: (String) -> Label) -> Event? {
        Event(raw: raw(intern: intern))
    }

    /// The record in the writer's layout, label slots holding the ids `intern` gives. A trace
    /// id in the label form (a record read from a block written before the binary form) is
    /// written in the binary form when it is a W3C trace id, so copying an old log interns no
    /// trace id; any other string there (the label form took any) is kept as the label it was.
    package func raw(intern: (String) -> Label) -> RawEvent {
        var raw = RawEvent(type: type, seq: seq, timestamp: timestamp)
        var labels = self.labels
        var numbers = self.numbers
        for spec in schema.fields where spec.kind == .traceID {
            guard let former = spec.formerLabelSlot, former < labels.count else { continue }
            if numbers.count < spec.slot + 2 { numbers += repeatElement(0, count: spec.slot + 2 - numbers.count) }
            if numbers[spec.slot] | numbers[spec.slot + 1] == 0, let id = TraceID(labels[former]) {
                numbers[spec.slot] = id.hi
                numbers[spec.slot + 1] = id.lo
                labels[former] = ""
            }
        }
        for (i, s) in labels.enumerated() where i < RawEvent.labelSlots { raw.setLabel(i, intern(s).id) }
        // Labels the record lacks (one made for an older schema of the type): "".
        for i in labels.count..<max(labels.count, RawEvent.labelSlots) { raw.setLabel(i, Label.none.id) }
        for (i, n) in numbers.enumerated() where i < RawEvent.numberSlots { raw.setNumber(i, n) }
        return raw
    }
}
