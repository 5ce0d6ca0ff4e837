import Glibc
import OrchLog

/// The relay's fast path through one NDJSON line: keys are matched as bytes against the
/// schema's field names, numbers go straight to `UInt64`, strings stay spans of the line,
/// and nothing is allocated. It accepts only the plain, common shape of a valid event
/// (strings of printable ASCII without escapes, whole numbers of at most 19 digits, `true`/
/// `false`, `ts` as `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`, every key known, no key twice, every
/// required field given) and returns nil for anything else — including every invalid line —
/// so that `NDJSONEventParser.parse` decides it, with the same result and the same message.
/// Every line the fast path accepts, `parse` accepts with the same event.
struct FastEventParser {
    /// What the fast path found: the event with its numbers, type and timestamp set, and the
    /// spans (offsets into the line) of `source` and of each label slot.
    struct Parsed {
        var raw = RawEvent(type: .invocationStarted)
        /// False: the line had no `ts` (the caller stamps it).
        var hasTimestamp = false
        /// `source`'s span; count -1: absent.
        var sourceStart = 0, sourceCount = -1
        /// Label spans by slot; count -1: absent (stored as "").
        var labelStart: (Int, Int, Int, Int) = (0, 0, 0, 0)
        var labelCount: (Int, Int, Int, Int) = (-1, -1, -1, -1)

        func label(_ slot: Int) -> (start: Int, count: Int) {
            switch slot {
            case 0: return (labelStart.0, labelCount.0)
            case 1: return (labelStart.1, labelCount.1)
            case 2: return (labelStart.2, labelCount.2)
            default: return (labelStart.3, labelCount.3)
            }
        }

        mutating func setLabel(_ slot: Int, _ start: Int, _ count: Int) {
            switch slot {
            case 0: labelStart.0 = start; labelCount.0 = count
            case 1: labelStart.1 = start; labelCount.1 = count
            case 2: labelStart.2 = start; labelCount.2 = count
            default: labelStart.3 = start; labelCount.3 = count
            }
        }
    }

    /// One schema field as the fast path matches it.
    struct Field {
        let name: [UInt8]
        /// 0 label, 1 number (and duration), 2 flag, 3 enumeration, 4 trace id (two number slots).
        let kind: UInt8
        let slot: Int
        let names: [[UInt8]]
    }

    /// One event type's fields, and the bit mask of its required ones.
    struct TypeTable {
        let type: EventType
        let name: [UInt8]
        let fields: [Field]
        let requiredMask: UInt32
    }

    static let types: [TypeTable] = EventType.allCases.map { type in
        let schema = EventSchema.of(type)
        var mask: UInt32 = 0
        let fields = schema.fields.enumerated().map { (i, f) -> Field in
            if f.required { mask |= 1 << UInt32(i) }
            switch f.kind {
            case .label: return Field(name: Array(f.name.utf8), kind: 0, slot: f.slot, names: [])
            case .number, .nanoseconds: return Field(name: Array(f.name.utf8), kind: 1, slot: f.slot, names: [])
            case .flag: return Field(name: Array(f.name.utf8), kind: 2, slot: f.slot, names: [])
            case .enumeration(let names): return Field(name: Array(f.name.utf8), kind: 3, slot: f.slot, names: names.map { Array($0.utf8) })
            case .traceID: return Field(name: Array(f.name.utf8), kind: 4, slot: f.slot, names: [])
            }
        }
        return TypeTable(type: type, name: Array(schema.name.utf8), fields: fields, requiredMask: mask)
    }

    /// A member of the line's object: key and value spans. kind: 0 string, 1 number, 2 true, 3 false.
    private struct Member {
        var keyStart: Int32, keyCount: Int32, valueStart: Int32, valueCount: Int32
        var kind: UInt8
    }

    static let maxMembers = RawEvent.labelSlots + RawEvent.numberSlots + 3  // every field, type, ts, source

    /// Parses `line` (its bytes, without the newline), or returns nil: not the plain shape
    /// this path takes (let `NDJSONEventParser.parse` decide).
    @inline(__always)
    static func parse(_ line: UnsafeBufferPointer<UInt8>) -> Parsed? {
        guard line.count < Int(Int32.max) else { return nil }
        return withUnsafeTemporaryAllocation(of: Member.self, capacity: maxMembers) { members in
            guard let n = scan(line, into: members) else { return nil }
            return resolve(line, UnsafeBufferPointer(rebasing: members[0..<n]))
        }
    }

    @inline(__always)
    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    /// Splits the object into members; nil for anything but the plain shape.
    private static func scan(_ p: UnsafeBufferPointer<UInt8>, into members: UnsafeMutableBufferPointer<Member>) -> Int? {
        let end = p.count
        var i = 0
        while i < end && isSpace(p[i]) { i += 1 }
        guard i < end, p[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var count = 0
        while true {
            while i < end && isSpace(p[i]) { i += 1 }
            guard i < end, p[i] == UInt8(ascii: "\""), count < maxMembers else { return nil }
            i += 1
            let keyStart = i
            guard let keyEnd = stringEnd(p, from: i) else { return nil }
            i = keyEnd + 1
            while i < end && isSpace(p[i]) { i += 1 }
            guard i < end, p[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            while i < end && isSpace(p[i]) { i += 1 }
            guard i < end else { return nil }
            let c = p[i]
            var m = Member(keyStart: Int32(keyStart), keyCount: Int32(keyEnd - keyStart), valueStart: 0, valueCount: 0, kind: 0)
            if c == UInt8(ascii: "\"") {
                guard let e = stringEnd(p, from: i + 1) else { return nil }
                m.valueStart = Int32(i + 1)
                m.valueCount = Int32(e - i - 1)
                i = e + 1
            } else if c >= 48 && c <= 57 {
                let start = i
                while i < end && p[i] >= 48 && p[i] <= 57 { i += 1 }
                // A leading zero, a fraction or an exponent: the full parser judges it.
                guard i - start <= 19, p[start] != 48 || i - start == 1 else { return nil }
                if i < end, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") { return nil }
                m.kind = 1
                m.valueStart = Int32(start)
                m.valueCount = Int32(i - start)
            } else if c == UInt8(ascii: "t"), end - i >= 4, p[i + 1] == UInt8(ascii: "r"), p[i + 2] == UInt8(ascii: "u"), p[i + 3] == UInt8(ascii: "e") {
                m.kind = 2
                i += 4
            } else if c == UInt8(ascii: "f"), end - i >= 5, p[i + 1] == UInt8(ascii: "a"), p[i + 2] == UInt8(ascii: "l"), p[i + 3] == UInt8(ascii: "s"), p[i + 4] == UInt8(ascii: "e") {
                m.kind = 3
                i += 5
            } else {
                return nil
            }
            members[count] = m
            count += 1
            while i < end && isSpace(p[i]) { i += 1 }
            guard i < end else { return nil }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            guard p[i] == UInt8(ascii: "}") else { return nil }
            i += 1
            break
        }
        while i < end && isSpace(p[i]) { i += 1 }
        return i == end ? count : nil
    }

    /// The index of the closing quote of a string whose content starts at `from`, or nil when
    /// the string holds an escape, a control or a non-ASCII byte, or is not closed.
    @inline(__always)
    private static func stringEnd(_ p: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = from
        let end = p.count
        while i < end {
            let c = p[i]
            if c == UInt8(ascii: "\"") { return i }
            if c < 0x20 || c >= 0x80 || c == UInt8(ascii: "\\") { return nil }
            i += 1
        }
        return nil
    }

    @inline(__always)
    private static func equal(_ p: UnsafeBufferPointer<UInt8>, _ start: Int32, _ count: Int32, _ word: [UInt8]) -> Bool {
        guard Int(count) == word.count else { return false }
        return word.withUnsafeBufferPointer { w in
            memcmp(p.baseAddress! + Int(start), w.baseAddress!, w.count) == 0
        }
    }

    @inline(__always)
    private static func equal(_ p: UnsafeBufferPointer<UInt8>, _ start: Int32, _ count: Int32, _ word: StaticString) -> Bool {
        Int(count) == word.utf8CodeUnitCount && memcmp(p.baseAddress! + Int(start), word.utf8Start, Int(count)) == 0
    }

    private static func resolve(_ p: UnsafeBufferPointer<UInt8>, _ members: UnsafeBufferPointer<Member>) -> Parsed? {
        // The type first: the fields are matched against its schema.
        var table: TypeTable?
        for m in members where equal(p, m.keyStart, m.keyCount, "type") {
            guard m.kind == 0 else { return nil }
            for t in types where equal(p, m.valueStart, m.valueCount, t.name) { table = t; break }
            break
        }
        guard let table else { return nil }
        var out = Parsed()
        out.raw.type = table.type
        var seen: UInt32 = 0
        var envelope: UInt8 = 0
        members: for m in members {
            let k0 = p[Int(m.keyStart)]
            // Envelope keys (type, ts, seq, source), unless the schema has a field of the name.
            switch k0 {
            case UInt8(ascii: "t") where equal(p, m.keyStart, m.keyCount, "type"):
                guard envelope & 1 == 0 else { return nil }
                envelope |= 1
                continue members
            case UInt8(ascii: "t") where equal(p, m.keyStart, m.keyCount, "ts"):
                guard envelope & 2 == 0, m.kind == 0,
                      let ns = timestamp(UnsafeBufferPointer(rebasing: p[Int(m.valueStart)..<Int(m.valueStart + m.valueCount)])) else { return nil }
                envelope |= 2
                out.raw.timestamp = ns
                out.hasTimestamp = true
                continue members
            case UInt8(ascii: "s") where equal(p, m.keyStart, m.keyCount, "seq"):
                guard envelope & 4 == 0 else { return nil }
                envelope |= 4
                continue members
            case UInt8(ascii: "s") where equal(p, m.keyStart, m.keyCount, "source"):
                guard envelope & 8 == 0, m.kind == 0 else { return nil }
                envelope |= 8
                out.sourceStart = Int(m.valueStart)
                out.sourceCount = Int(m.valueCount)
                continue members
            default: break
            }
            for (index, f) in table.fields.enumerated() where f.name.first == k0 && equal(p, m.keyStart, m.keyCount, f.name) {
                let bit: UInt32 = 1 << UInt32(index)
                guard seen & bit == 0 else { return nil }
                seen |= bit
                switch f.kind {
                case 0:
                    guard m.kind == 0 else { return nil }
                    out.setLabel(f.slot, Int(m.valueStart), Int(m.valueCount))
                case 1:
                    guard m.kind == 1 else { return nil }
                    var v: UInt64 = 0
                    for j in Int(m.valueStart)..<Int(m.valueStart + m.valueCount) { v = v &* 10 &+ UInt64(p[j] &- 48) }
                    out.raw.setNumber(f.slot, v)
                case 2:
                    guard m.kind == 2 || m.kind == 3 else { return nil }
                    out.raw.setNumber(f.slot, m.kind == 2 ? 1 : 0)
                case 4:
                    // "" (none) or a W3C trace id; anything else the full parser rejects, naming it.
                    guard m.kind == 0 else { return nil }
                    if m.valueCount != 0 {
                        let id = TraceID(UnsafeBufferPointer(rebasing: p[Int(m.valueStart)..<Int(m.valueStart + m.valueCount)]))
                        guard id.isSome else { return nil }
                        out.raw.setNumber(f.slot, id.hi)
                        out.raw.setNumber(f.slot + 1, id.lo)
                    }
                default:
                    guard m.kind == 0 else { return nil }
                    var code = -1
                    for (c, name) in f.names.enumerated() where equal(p, m.valueStart, m.valueCount, name) { code = c; break }
                    guard code >= 0 else { return nil }
                    out.raw.setNumber(f.slot, UInt64(code))
                }
                continue members
            }
            return nil  // a key the type does not have
        }
        guard seen & table.requiredMask == table.requiredMask else { return nil }
        return out
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f…]Z` (1–9 fractional digits), years 1970–2553, fields in range, as
    /// nanoseconds since the epoch; nil otherwise (the full parser then judges it).
    static func timestamp(_ s: UnsafeBufferPointer<UInt8>) -> UInt64? {
        let n = s.count
        guard n >= 20, s[4] == 45, s[7] == 45, s[10] == 84, s[13] == 58, s[16] == 58 else { return nil }
        @inline(__always) func d2(_ i: Int) -> Int? {
            let a = s[i] &- 48, b = s[i + 1] &- 48
            return a < 10 && b < 10 ? Int(a) * 10 + Int(b) : nil
        }
        guard let y1 = d2(0), let y2 = d2(2), let month = d2(5), let day = d2(8), let hour = d2(11),
              let minute = d2(14), let second = d2(17) else { return nil }
        let year = y1 * 100 + y2
        guard year >= 1970, year <= 2553, month >= 1, month <= 12, day >= 1, hour <= 23, minute <= 59, second <= 59 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        guard day <= monthDays else { return nil }
        var i = 19
        var frac: UInt64 = 0
        if s[i] == 46 {
            i += 1
            var digits = 0
            while i < n, s[i] &- 48 < 10 {
                guard digits < 9 else { return nil }
                frac = frac * 10 + UInt64(s[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { frac *= 10 }
        }
        guard i == n - 1, s[i] == UInt8(ascii: "Z") else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = month <= 2 ? year - 1 : year
        let era = yy / 400
        let yoe = yy - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = UInt64(days) * 86_400 + UInt64(hour * 3600 + minute * 60 + second)
        return seconds * 1_000_000_000 + frac
    }
}
