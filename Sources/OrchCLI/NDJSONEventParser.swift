import OrchLog

/// Why one NDJSON line was rejected: a one-line message without the line number
/// (`unknown type "x"`, `field "depth": expected a whole number ≥ 0, got -1`).
struct NDJSONLineError: Error, Equatable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// One parsed NDJSON line: the record to emit, the `source` it names (the relay writes it
/// there; stdin ingest ignores it) and, with `lenient`, the unknown fields it carried.
struct ParsedEvent {
    var record: EventRecord
    /// The `source` field, nil when absent or null.
    var source: String?
    /// Fields the type does not have (only with `lenient`; otherwise they are an error).
    var unknownFields: [String]
}

/// Parses one line of the NDJSON event format, version 1 (docs/ndjson.md) — the shape
/// `orchlog tail -o json` prints — into an `EventRecord` for `EventLog.emit(record:)`.
///
/// - `type` is required and must name an event type.
/// - `ts` is optional (RFC 3339 UTC, up to 9 fractional digits, 1970-01-01T00:00:00Z to
///   2554-07-21T23:34:33.709551615Z); absent or null: `now()`.
/// - `seq` is ignored (the writer numbers events); `source` is returned (a string).
/// - A required field (`FieldSpec.required`) must be present and not null; an optional one
///   absent or null is stored as `""`, `0`, `false` or the first enumeration value.
/// - A trace id (`trace_id`) is `""` (none) or 32 lowercase hex digits, not all zeros (W3C
///   trace-context); uppercase digits are rejected (W3C's form is lowercase: lowercase it).
/// - Labels are strings, enumerations are names, flags are booleans, numbers and `*_ns`
///   durations are whole numbers in 0...18446744073709551615 (an integral float such as
///   `1.0` or `3e9` is accepted).
/// - A field the type does not have is an error naming it, unless `lenient` (then it is
///   returned in `unknownFields` for counting). It must be well-formed JSON either way. A key
///   given twice is an error.
struct NDJSONEventParser {
    /// The clock for events without `ts`, in nanoseconds since the Unix epoch.
    var now: () -> UInt64
    /// Accept fields the type does not have (and report them) instead of rejecting the event.
    var lenient = false

    /// The keys every event may carry besides its type's fields.
    static let envelopeKeys: Set<String> = ["type", "ts", "seq", "source"]

    /// The earliest and latest `ts` a log can store (64-bit nanoseconds since the epoch).
    static let timestampRange = "1970-01-01T00:00:00Z … 2554-07-21T23:34:33.709551615Z"

    /// Parses one line (without its newline; a trailing `\r` is allowed).
    /// - Throws: `NDJSONLineError` naming the field or column at fault.
    func parse(_ line: ArraySlice<UInt8>) throws(NDJSONLineError) -> ParsedEvent {
        var scanner = JSONScanner(line)
        let object = try scanner.parseLine()
        guard let typeValue = object["type"] else { throw NDJSONLineError("missing \"type\"") }
        guard case .string(let typeName) = typeValue else {
            throw NDJSONLineError("\"type\": expected a string, got \(typeValue.kindName)")
        }
        guard let type = EventType(name: typeName) else {
            throw NDJSONLineError("unknown type \(JSON.string(typeName))")
        }
        let timestamp: UInt64
        switch object["ts"] {
        case nil, .null?: timestamp = now()
        case .string(let text)?:
            switch NDJSONEventParser.checkTimestamp(text) {
            case .valid(let ns): timestamp = ns
            case .outOfRange:
                throw NDJSONLineError("\"ts\": \(JSON.string(text)) is out of range: a log stores times from \(NDJSONEventParser.timestampRange)")
            case .malformed:
                throw NDJSONLineError("\"ts\": \(JSON.string(text)) is not an RFC 3339 UTC time such as 2025-01-31T12:00:00.123456789Z")
            }
        case let other?:
            throw NDJSONLineError("\"ts\": expected an RFC 3339 UTC time string, got \(other.kindName)")
        }
        var source: String?
        switch object["source"] {
        case nil, .null?: source = nil
        case .string(let s)?: source = s
        case let other?: throw NDJSONLineError("\"source\": expected a string, got \(other.kindName)")
        }

        let schema = EventSchema.of(type)
        let unknown = object.keys.filter { !NDJSONEventParser.envelopeKeys.contains($0) && schema.field(named: $0) == nil }.sorted()
        if !unknown.isEmpty && !lenient {
            let names = unknown.map { JSON.string($0) }.joined(separator: ", ")
            throw NDJSONLineError("\"\(type.name)\" has no field\(unknown.count == 1 ? "" : "s") \(names) (its fields: \(schema.fields.map(\.name).joined(separator: ", ")))")
        }
        var labels = [String](repeating: "", count: schema.labelCount)
        var numbers = [UInt64](repeating: 0, count: schema.numberCount)
        var missing: [String] = []
        for field in schema.fields {
            let value = object[field.name] ?? .null
            if case .null = value {
                if field.required { missing.append(field.name) }
                continue
            }
            func bad(_ why: String) -> NDJSONLineError { NDJSONLineError("\"\(type.name)\" field \"\(field.name)\": \(why)") }
            switch field.kind {
            case .label:
                guard case .string(let s) = value else { throw bad("expected a string, got \(value.kindName)") }
                labels[field.slot] = s
            case .traceID:
                guard case .string(let s) = value else { throw bad("expected a W3C trace id (32 lowercase hex digits, \"\": none), got \(value.kindName)") }
                do {
                    let id = try TraceID(parsing: s)
                    numbers[field.slot] = id.hi
                    numbers[field.slot + 1] = id.lo
                } catch {
                    throw bad(error.message)
                }
            case .enumeration(let names):
                guard case .string(let s) = value else { throw bad("expected one of \(names.joined(separator: ", ")), got \(value.kindName)") }
                guard let code = names.firstIndex(of: s) else {
                    throw bad("unknown value \(JSON.string(s)) (expected one of \(names.joined(separator: ", ")))")
                }
                numbers[field.slot] = UInt64(code)
            case .flag:
                guard case .bool(let b) = value else { throw bad("expected true or false, got \(value.kindName)") }
                numbers[field.slot] = b ? 1 : 0
            case .number, .nanoseconds:
                guard case .number(let text) = value else { throw bad("expected a whole number ≥ 0, got \(value.kindName)") }
                guard let n = NDJSONEventParser.unsigned(text) else {
                    throw bad("expected a whole number in 0...\(UInt64.max), got \(text)")
                }
                numbers[field.slot] = n
            }
        }
        guard missing.isEmpty else {
            throw NDJSONLineError("\"\(type.name)\" is missing required field\(missing.count == 1 ? "" : "s") \(missing.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        let record = EventRecord(type: type, seq: 0, timestamp: timestamp, labels: labels, numbers: numbers)
        return ParsedEvent(record: record, source: source, unknownFields: unknown)
    }

    /// A JSON number's text as an unsigned 64-bit integer, or nil: no sign; a fraction or an
    /// exponent only where the value is still a whole number (`1.0`, `3e9`, `2.5e1`); in range.
    static func unsigned(_ text: String) -> UInt64? {
        let utf8 = Array(text.utf8)
        guard let first = utf8.first, first >= 48 && first <= 57 else { return nil }
        if utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return UInt64(text) }
        // Integral float: digits of the integer and fraction parts, and where the point falls.
        var digits: [UInt8] = []
        var exponent = 0
        var i = 0
        while i < utf8.count, utf8[i] >= 48 && utf8[i] <= 57 { digits.append(utf8[i]); i += 1 }
        let point = digits.count
        if i < utf8.count, utf8[i] == UInt8(ascii: ".") {
            i += 1
            while i < utf8.count, utf8[i] >= 48 && utf8[i] <= 57 { digits.append(utf8[i]); i += 1 }
        }
        if i < utf8.count, utf8[i] == UInt8(ascii: "e") || utf8[i] == UInt8(ascii: "E") {
            i += 1
            var negative = false
            if i < utf8.count, utf8[i] == UInt8(ascii: "+") || utf8[i] == UInt8(ascii: "-") { negative = utf8[i] == UInt8(ascii: "-"); i += 1 }
            var e = 0
            while i < utf8.count, utf8[i] >= 48 && utf8[i] <= 57 {
                e = min(e * 10 + Int(utf8[i] - 48), 10_000)
                i += 1
            }
            exponent = negative ? -e : e
        }
        guard i == utf8.count else { return nil }
        let wholeDigits = point + exponent
        // Every digit past the point must be zero.
        if wholeDigits < digits.count {
            guard digits[max(wholeDigits, 0)...].allSatisfy({ $0 == 48 }) else { return nil }
        }
        var whole = wholeDigits <= 0 ? [] : Array(digits.prefix(wholeDigits))
        if wholeDigits > digits.count {
            guard wholeDigits <= 40 else { return digits.allSatisfy { $0 == 48 } ? 0 : nil }
            whole += [UInt8](repeating: 48, count: wholeDigits - digits.count)
        }
        let trimmed = whole.drop { $0 == 48 }
        guard trimmed.count <= 20 else { return nil }
        return trimmed.isEmpty ? 0 : UInt64(String(decoding: trimmed, as: UTF8.self))
    }

    /// What `checkTimestamp` found.
    enum TimestampCheck: Equatable {
        case valid(UInt64)
        /// RFC 3339 UTC in form, but before 1970 or past what 64-bit nanoseconds hold.
        case outOfRange
        case malformed
    }

    /// RFC 3339 UTC (`Z` or `+00:00`) with 0–9 fractional digits and calendar fields in range,
    /// as nanoseconds since the epoch; `.outOfRange` outside `timestampRange`.
    static func checkTimestamp(_ text: String) -> TimestampCheck {
        let s = Array(text.utf8)
        guard s.count >= 20 else { return .malformed }
        func num(_ a: Int, _ b: Int) -> Int? {
            var v = 0
            for i in a..<b {
                guard s[i] >= 48 && s[i] <= 57 else { return nil }
                v = v * 10 + Int(s[i] - 48)
            }
            return v
        }
        // Range-check the fields first: `Timestamp.parse` normalizes out-of-range fields.
        guard let year = num(0, 4),
              let month = num(5, 7), (1...12).contains(month),
              let day = num(8, 10), (1...31).contains(day),
              let hour = num(11, 13), hour <= 23,
              let minute = num(14, 16), minute <= 59,
              let second = num(17, 19), second <= 60 else { return .malformed }
        let daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        guard day <= (month == 2 && !leap ? 28 : daysInMonth) else { return .malformed }
        if s.count > 19 && s[19] == 46 {  // '.': 1...9 digits
            var digits = 0
            var i = 20
            while i < s.count, s[i] >= 48 && s[i] <= 57 { digits += 1; i += 1 }
            guard (1...9).contains(digits) else { return .malformed }
        }
        if let ns = Timestamp.parse(text) { return .valid(ns) }
        // Well-formed fields that did not convert: before the epoch or past 64 bits, or a bad
        // separator/zone (which the same text with a valid year would show).
        var probe = s
        probe.replaceSubrange(0..<4, with: Array("2000".utf8))
        guard Timestamp.parse(String(decoding: probe, as: UTF8.self)) != nil else { return .malformed }
        return .outOfRange
    }

    /// The timestamp as nanoseconds, or nil (malformed or out of range).
    static func parseTimestamp(_ text: String) -> UInt64? {
        if case .valid(let ns) = checkTimestamp(text) { return ns }
        return nil
    }
}

/// A JSON value as ingest needs it: numbers keep their text so that integers of any size
/// are judged exactly; nested objects and arrays are checked and then discarded.
enum JSONValue: Equatable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case object
    case array

    var kindName: String {
        switch self {
        case .string(let s): return "string \(JSON.string(s.count > 40 ? String(s.prefix(40)) + "…" : s))"
        case .number(let t): return "number \(t)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .object: return "an object"
        case .array: return "an array"
        }
    }
}

/// A strict RFC 8259 parser for one NDJSON line: a single object, nesting at most
/// `maxDepth` deep, strings valid UTF-8, nothing after the object but whitespace.
struct JSONScanner {
    static let maxDepth = 64
    private let bytes: ArraySlice<UInt8>
    private var i: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        i = bytes.startIndex
    }

    /// The line's top-level object, key → value.
    mutating func parseLine() throws(NDJSONLineError) -> [String: JSONValue] {
        skipSpace()
        guard peek == UInt8(ascii: "{") else {
            throw error(i < bytes.endIndex ? "expected a JSON object" : "empty line")
        }
        var members: [String: JSONValue] = [:]
        i += 1
        skipSpace()
        if peek == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw error("expected a field name") }
                let keyAt = i
                let key = try parseString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                let value = try parseValue(depth: 1)
                guard members.updateValue(value, forKey: key) == nil else {
                    i = keyAt
                    throw error("duplicate field \(JSON.string(key))")
                }
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipSpace()
        guard i == bytes.endIndex else { throw error("unexpected text after the object") }
        return members
    }

    private var peek: UInt8? { i < bytes.endIndex ? bytes[i] : nil }

    private func error(_ what: String, at position: Int? = nil) -> NDJSONLineError {
        NDJSONLineError("bad JSON at column \((position ?? i) - bytes.startIndex + 1): \(what)")
    }

    private mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws(NDJSONLineError) {
        guard peek == c else { throw error("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    private mutating func parseValue(depth: Int) throws(NDJSONLineError) -> JSONValue {
        skipSpace()
        guard let c = peek else { throw error("expected a value") }
        switch c {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < JSONScanner.maxDepth else { throw error("nested deeper than \(JSONScanner.maxDepth)") }
            try skipContainer(depth: depth)
            return c == UInt8(ascii: "{") ? .object : .array
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("expected a value")
        }
    }

    /// Checks a nested object or array and steps over it.
    private mutating func skipContainer(depth: Int) throws(NDJSONLineError) {
        let isObject = bytes[i] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        i += 1
        skipSpace()
        if peek == close { i += 1; return }
        while true {
            skipSpace()
            if isObject {
                guard peek == UInt8(ascii: "\"") else { throw error("expected a field name") }
                _ = try parseString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
            }
            _ = try parseValue(depth: depth + 1)
            skipSpace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            try expect(close)
            return
        }
    }

    private mutating func literal(_ word: StaticString) throws(NDJSONLineError) {
        let n = word.utf8CodeUnitCount
        guard bytes.endIndex - i >= n else { throw error("expected a value") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw error("expected a value") }
        i += n
    }

    private mutating func digits() -> Int {
        let start = i
        while let c = peek, c >= 48 && c <= 57 { i += 1 }
        return i - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as text.
    private mutating func parseNumber() throws(NDJSONLineError) -> String {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        if peek == UInt8(ascii: "0") {
            i += 1
        } else {
            guard digits() > 0 else { throw error("bad number") }
        }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw error("bad number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("bad number") }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// A string starting at the opening quote; escapes decoded, UTF-8 validated.
    private mutating func parseString() throws(NDJSONLineError) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw error("unterminated string") }
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw error("string is not valid UTF-8", at: start)
                }
                return s
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw error("unterminated string") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek == UInt8(ascii: "\\") else { throw error("lone surrogate in \\u escape") }
                        i += 1
                        guard peek == UInt8(ascii: "u") else { throw error("lone surrogate in \\u escape") }
                        i += 1
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("lone surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("lone surrogate in \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("bad \\u escape") }
                    out.append(contentsOf: String(Character(u)).utf8)
                default:
                    throw error("bad escape \\\(Character(Unicode.Scalar(e)))")
                }
            default:
                guard c >= 0x20 else { throw error("control character in string") }
                out.append(c)
            }
        }
    }

    private mutating func hex4() throws(NDJSONLineError) -> UInt32 {
        guard bytes.endIndex - i >= 4 else { throw error("bad \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 65...70: d = c - 55
            case 97...102: d = c - 87
            default: throw error("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }
}
