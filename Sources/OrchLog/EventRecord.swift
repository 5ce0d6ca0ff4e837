/// A decoded event with its strings resolved: what readers, `tail`, `ingest` and tests use.
public struct EventRecord: Sendable, Hashable {
    public var type: EventType
    public var seq: UInt64
    /// Nanoseconds since the Unix epoch.
    public var timestamp: UInt64
    /// Label values in schema order (`EventSchema.fields` with kind `.label`).
    public var labels: [String]
    /// Number values in schema order (all other fields).
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

    /// Builds a record of the first `fields` fields of its type's schema (those its block
    /// carried: an older writer's block lacks the fields appended since), label slots
    /// indexing the block's `table`.
    package init(raw: RawEvent, table: StringTable, fields: Int, source: String = "") {
        self.init(raw: raw, source: source, fields: fields) { $0 < table.count ? table.string($0) : "" }
    }

    init(raw: RawEvent, source: String, fields: Int = .max, label: (Int) -> String) {
        let schema = EventSchema.of(raw.type)
        var labelCount = schema.labelCount, numberCount = schema.numberCount
        if fields < schema.fields.count {
            labelCount = 0
            numberCount = 0
            for f in schema.fields.prefix(fields) {
                if case .label = f.kind { labelCount += 1 } else { numberCount += 1 }
            }
        }
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
            if case .label = f.kind { guard f.slot < labels.count else { break } } else { guard f.slot < numbers.count else { break } }
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

    /// A numeric field's value, or nil when the type has no such numeric field.
    public func number(of fieldName: String) -> UInt64? {
        guard let spec = schema.field(named: fieldName) else { return nil }
        if case .label = spec.kind { return nil }
        return spec.slot < numbers.count ? numbers[spec.slot] : 0
    }

    /// Converts back to the typed, emit-side event, interning strings with `intern`; nil when
    /// an enumeration field holds a code this build does not know (`Event`'s enumerations have
    /// no case for it, and a known case would misstate it). `EventLog.emit(record:)` writes
    /// such a record as it is.
    public func event(intern: (String) -> Label) -> Event? {
        Event(raw: raw(intern: intern))
    }

    /// The record in the writer's layout, label slots holding the ids `intern` gives.
    package func raw(intern: (String) -> Label) -> RawEvent {
        var raw = RawEvent(type: type, seq: seq, timestamp: timestamp)
        for (i, s) in labels.enumerated() where i < RawEvent.labelSlots { raw.setLabel(i, intern(s).id) }
        // Labels the record lacks (one made for an older schema of the type): "".
        for i in labels.count..<max(labels.count, RawEvent.labelSlots) { raw.setLabel(i, Label.none.id) }
        for (i, n) in numbers.enumerated() where i < RawEvent.numberSlots { raw.setNumber(i, n) }
        return raw
    }
}
