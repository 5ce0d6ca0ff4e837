import Glibc
import OrchLog

/// Renders event records for `orchlog tail`: NDJSON for machines, aligned text for people.
struct EventFormatter {
    enum Style { case text, json }
    let style: Style
    let color: Bool
    /// Width of the source column in text output.
    var sourceWidth = 8

    /// One line (without newline).
    func line(_ r: EventRecord) -> String {
        style == .json ? json(r) : text(r)
    }

    func json(_ r: EventRecord) -> String {
        var out = "{\"seq\":\(r.seq),\"ts\":\"\(Timestamp.rfc3339(r.timestamp))\",\"source\":"
        JSON.appendString(r.source, to: &out)
        out += ",\"type\":\"\(r.type.name)\""
        for field in r.carriedFields {
            out += ",\""
            out += field.name
            out += "\":"
            switch field.kind {
            case .label, .enumeration, .traceID:
                JSON.appendString(r.text(of: field), to: &out)
            case .flag:
                out += r.text(of: field)
            case .number, .nanoseconds:
                out += r.text(of: field)
            }
        }
        out += "}"
        return out
    }

    func text(_ r: EventRecord) -> String {
        let typeName = r.type.name
        var out = Timestamp.rfc3339(r.timestamp, digits: 6)
        out += "  "
        out += EventFormatter.displayed(r.source).padding(sourceWidth)
        out += "  "
        let padded = typeName.padding(19)
        if color {
            out += "\u{1B}[\(EventFormatter.colorCode(r))m" + padded + "\u{1B}[0m"
        } else {
            out += padded
        }
        for field in r.carriedFields {
            out += " "
            out += field.name.hasSuffix("_ns") ? String(field.name.dropLast(3)) : field.name
            out += "="
            if case .nanoseconds = field.kind {
                out += Timestamp.humanDuration(r.number(of: field.name) ?? 0)
            } else {
                EventFormatter.appendValue(r.text(of: field), to: &out)
            }
        }
        return out
    }

    /// A value as text output shows it (`appendValue`): the source column uses it too.
    static func displayed(_ v: String) -> String {
        var out = ""
        appendValue(v, to: &out)
        return out
    }

    /// Appends a field value for text output, so one event stays one line and every value
    /// reads back unambiguously: bare when it is non-empty and holds no space, quote,
    /// backslash or character `isControl` names; otherwise quoted as `appendQuoted` does,
    /// with those other characters as `\u{1B}` (hex scalar value).
    static func appendValue(_ v: String, to out: inout String) {
        let needsQuotes = v.isEmpty || v.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "\\" || isControl($0) }
        guard needsQuotes else {
            out += v
            return
        }
        appendQuoted(v, to: &out) { "\\u{" + String($0.value, radix: 16, uppercase: true) + "}" }
    }

    /// Appends `s` in double quotes with `\"`, `\\`, `\n`, `\r` and `\t` escapes, and every
    /// other control character (`isControl`) as `escapeControl` spells it.
    static func appendQuoted(_ s: String, to out: inout String, escapeControl: (Unicode.Scalar) -> String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if isControl(u) {
                    out += escapeControl(u)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// What a terminal or a text viewer may act on rather than show: C0 (U+0000–U+001F),
    /// DEL (U+007F) and C1 (U+0080–U+009F, with NEL U+0085); the line and paragraph
    /// separators U+2028 and U+2029; and every format character (general category Cf): the
    /// bidirectional embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, the
    /// marks U+200E/U+200F/U+061C, zero-width characters, U+FEFF, soft hyphen, tag characters.
    /// Such a character could forge a line or reorder what is shown, so it is escaped.
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x20 || (0x7F...0x9F).contains(u.value) { return true }
        if u.value < 0xAD { return false }
        switch u.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// ANSI color by how the event went: red bad, yellow degraded, green good, default else.
    static func colorCode(_ r: EventRecord) -> String {
        let outcome = r.text(of: "outcome") ?? r.text(of: "to") ?? ""
        switch outcome {
        case "failure", "timeout", "error", "rate_limited", "open", "forced_open": return "31"
        case "conflict", "rejected", "short_circuited", "half_open": return "33"
        case "success", "committed", "closed": return "32"
        default:
            if r.type == .eventsDropped || r.type == .queueRejection { return "31" }
            return "36"
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// Minimal JSON string escaping (RFC 8259) for output we write ourselves. DEL, C1, the
/// line separators and format characters (`EventFormatter.isControl`), which JSON allows
/// raw, are escaped too, so JSON read on a terminal is inert.
enum JSON {
    static func appendString(_ s: String, to out: inout String) {
        EventFormatter.appendQuoted(s, to: &out) { u in
            // Past the Basic Multilingual Plane (tag characters): a UTF-16 surrogate pair.
            String(u).utf16.map { unit in
                let hex = String(unit, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }.joined()
        }
    }

    static func string(_ s: String) -> String {
        var out = ""
        appendString(s, to: &out)
        return out
    }
}

/// Time formatting.
enum Timestamp {
    /// RFC 3339 UTC with `digits` fractional digits (9 = nanoseconds).
    static func rfc3339(_ ns: UInt64, digits: Int = 9) -> String {
        var t = time_t(ns / 1_000_000_000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var frac = String(ns % 1_000_000_000)
        frac = String(repeating: "0", count: 9 - frac.count) + frac
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(frac.prefix(digits))Z"
    }

    /// Parses RFC 3339 UTC ("…Z" or "+00:00"), with up to 9 fractional digits, to ns.
    static func parse(_ text: String) -> UInt64? {
        let s = Array(text.utf8)
        guard s.count >= 20 else { return nil }
        func num(_ a: Int, _ b: Int) -> Int32? {
            var v: Int32 = 0
            for i in a..<b {
                guard s[i] >= 48 && s[i] <= 57 else { return nil }
                v = v * 10 + Int32(s[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), s[4] == 45, let mo = num(5, 7), s[7] == 45, let d = num(8, 10),
              s[10] == 84 || s[10] == 116 || s[10] == 32, let h = num(11, 13), s[13] == 58, let mi = num(14, 16), s[16] == 58,
              let sec = num(17, 19) else { return nil }
        var i = 19
        var frac: UInt64 = 0
        var fracDigits = 0
        if i < s.count && s[i] == 46 {
            i += 1
            while i < s.count, s[i] >= 48 && s[i] <= 57 {
                if fracDigits < 9 { frac = frac * 10 + UInt64(s[i] - 48); fracDigits += 1 }
                i += 1
            }
            while fracDigits < 9 { frac *= 10; fracDigits += 1 }
        }
        let rest = String(decoding: s[i...], as: UTF8.self)
        guard rest == "Z" || rest == "z" || rest == "+00:00" else { return nil }
        var tm = tm()
        tm.tm_year = y - 1900
        tm.tm_mon = mo - 1
        tm.tm_mday = d
        tm.tm_hour = h
        tm.tm_min = mi
        tm.tm_sec = sec
        let t = timegm(&tm)
        guard t >= 0 else { return nil }
        // Past year 2554 nanoseconds overflow 64 bits: not a timestamp we can store.
        let (ns, overflow) = UInt64(t).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, ns <= UInt64.max - frac else { return nil }
        return ns + frac
    }

    /// "850ns", "12.3µs", "45.6ms", "1.23s", "2m03s".
    static func humanDuration(_ ns: UInt64) -> String {
        func fmt(_ v: Double) -> String {
            let r = (v * 100).rounded() / 100
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
        if ns < 1_000 { return "\(ns)ns" }
        if ns < 1_000_000 { return fmt(Double(ns) / 1e3) + "µs" }
        if ns < 1_000_000_000 { return fmt(Double(ns) / 1e6) + "ms" }
        if ns < 60_000_000_000 { return fmt(Double(ns) / 1e9) + "s" }
        let s = ns / 1_000_000_000
        return "\(s / 60)m" + (s % 60 < 10 ? "0" : "") + "\(s % 60)s"
    }
}
