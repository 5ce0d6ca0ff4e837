/// HTTP content negotiation for the metrics endpoint: which exposition format an
/// `Accept` header asks for, and whether `Accept-Encoding` allows gzip.
///
/// Pure functions over header strings. They never fail: a malformed element is
/// skipped, and when nothing acceptable remains the answer is the Prometheus text
/// format 0.0.4, which every scraper understands (as client_golang does).
public enum ContentNegotiation {
    /// An exposition format the collector can render.
    public enum Format: String, Sendable, Equatable, CaseIterable {
        /// Prometheus text format 0.0.4.
        case prometheusText
        /// OpenMetrics text format 1.0.0.
        case openMetrics

        /// The `Content-Type` to send with a body in this format.
        public var contentType: String {
            switch self {
            case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
            case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }
    }

    /// One element of an `Accept` header.
    public struct MediaRange: Sendable, Equatable {
        /// The type, lowercased ("application", "text", "*").
        public var type: String
        /// The subtype, lowercased ("openmetrics-text", "plain", "*").
        public var subtype: String
        /// Parameters other than `q`, names lowercased, values unquoted, in header order.
        public var parameters: [Parameter]
        /// The weight from `q`, 0...1 (1 when absent).
        public var quality: Double

        /// The value of parameter `name` (case-insensitive), or nil.
        public func parameter(_ name: String) -> String? {
            let n = name.lowercased()
            return parameters.first { $0.name == n }?.value
        }
    }

    /// A `name=value` parameter of a header element.
    public struct Parameter: Sendable, Equatable {
        /// The name, lowercased.
        public var name: String
        /// The value, with quotes and backslash escapes removed.
        public var value: String

        /// Creates a parameter.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// One element of an `Accept-Encoding` header.
    public struct Coding: Sendable, Equatable {
        /// The content coding, lowercased ("gzip", "identity", "*").
        public var name: String
        /// The weight from `q`, 0...1 (1 when absent).
        public var quality: Double
    }

    /// The format to render for a request whose `Accept` header is `accept` (nil when
    /// absent): OpenMetrics 1.0.0 when the most preferred acceptable range is
    /// `application/openmetrics-text` without a version or with `version=1.0.0`;
    /// otherwise the text format 0.0.4. Ranges with `q=0` are refused; ties keep
    /// header order.
    public static func format(accept: String?) -> Format {
        guard let accept else { return .prometheusText }
        let ranges = parseAccept(accept).enumerated()
            .filter { $0.element.quality > 0 }
            .sorted { $0.element.quality != $1.element.quality ? $0.element.quality > $1.element.quality : $0.offset < $1.offset }
        for (_, r) in ranges {
            switch (r.type, r.subtype) {
            case ("application", "openmetrics-text"):
                let v = r.parameter("version")
                if v == nil || v == "1.0.0" { return .openMetrics }
            case ("text", "plain"):
                let v = r.parameter("version")
                if v == nil || v == "0.0.4" { return .prometheusText }
            case ("text", "*"), ("*", "*"):
                return .prometheusText
            default:
                continue
            }
        }
        return .prometheusText
    }

    /// True when a request whose `Accept-Encoding` is `acceptEncoding` (nil when absent)
    /// accepts gzip: `gzip` or `x-gzip` listed with `q>0`, or, when neither is listed,
    /// `*` with `q>0`. `gzip;q=0` refuses it.
    public static func acceptsGzip(acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        var explicit: Double? = nil
        var wildcard: Double? = nil
        for c in parseAcceptEncoding(acceptEncoding) {
            switch c.name {
            case "gzip", "x-gzip": explicit = Swift.max(explicit ?? 0, c.quality)
            case "*": wildcard = Swift.max(wildcard ?? 0, c.quality)
            default: break
            }
        }
        if let explicit { return explicit > 0 }
        return (wildcard ?? 0) > 0
    }

    /// Parses an `Accept` header into media ranges, in header order. Elements that are
    /// not `type/subtype` tokens, or whose `q` is not a number in 0...1, are skipped.
    public static func parseAccept(_ header: String) -> [MediaRange] {
        var result: [MediaRange] = []
        for element in splitElements(Array(header.utf8)) {
            let mediaType = element.head
            guard let slash = mediaType.firstIndex(of: UInt8(ascii: "/")) else { continue }
            let type = mediaType[..<slash]
            let subtype = mediaType[(slash + 1)...]
            guard isToken(type), isToken(subtype) else { continue }
            guard let (q, params) = qualityAndParameters(element.parameters) else { continue }
            result.append(MediaRange(type: lowercased(type), subtype: lowercased(subtype), parameters: params, quality: q))
        }
        return result
    }

    /// Parses an `Accept-Encoding` header into codings, in header order. Elements that
    /// are not tokens, or whose `q` is not a number in 0...1, are skipped.
    public static func parseAcceptEncoding(_ header: String) -> [Coding] {
        var result: [Coding] = []
        for element in splitElements(Array(header.utf8)) {
            guard isToken(element.head[...]) else { continue }
            guard let (q, _) = qualityAndParameters(element.parameters) else { continue }
            result.append(Coding(name: lowercased(element.head[...]), quality: q))
        }
        return result
    }

    // MARK: - tokenizer

    private struct Element {
        var head: [UInt8]
        var parameters: [(name: [UInt8], value: [UInt8])]
    }

    /// Splits a header value at commas and semicolons outside quoted strings, trimming
    /// optional whitespace. Empty elements are dropped. Linear in the header length.
    private static func splitElements(_ s: [UInt8]) -> [Element] {
        var elements: [Element] = []
        var parts: [[UInt8]] = []      // head and raw parameters of the element being read
        var current: [UInt8] = []
        var inQuotes = false
        var escaped = false

        func endPart() {
            parts.append(trim(current))
            current.removeAll(keepingCapacity: true)
        }
        func endElement() {
            endPart()
            if let head = parts.first, !head.isEmpty {
                var params: [(name: [UInt8], value: [UInt8])] = []
                for p in parts.dropFirst() where !p.isEmpty {
                    if let eq = p.firstIndex(of: UInt8(ascii: "=")) {
                        params.append((trim(Array(p[..<eq])), unquote(trim(Array(p[(eq + 1)...])))))
                    } else {
                        params.append((p, []))
                    }
                }
                elements.append(Element(head: head, parameters: params))
            }
            parts.removeAll(keepingCapacity: true)
        }

        for c in s {
            if inQuotes {
                current.append(c)
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inQuotes = false }
                continue
            }
            switch c {
            case UInt8(ascii: ","): endElement()
            case UInt8(ascii: ";"): endPart()
            case UInt8(ascii: "\""):
                inQuotes = true
                current.append(c)
            default: current.append(c)
            }
        }
        endElement()
        return elements
    }

    /// Splits `q` from the other parameters. Returns nil when `q` is present but not a
    /// valid weight (a decimal number in 0...1 with at most three fraction digits).
    private static func qualityAndParameters(_ raw: [(name: [UInt8], value: [UInt8])]) -> (Double, [Parameter])? {
        var q = 1.0
        var params: [Parameter] = []
        for (name, value) in raw {
            let n = lowercased(name[...])
            if n == "q" {
                guard let parsed = parseQuality(value) else { return nil }
                q = parsed
            } else {
                params.append(Parameter(name: n, value: String(decoding: value, as: UTF8.self)))
            }
        }
        return (q, params)
    }

    /// RFC 9110 qvalue: `0[.ddd]` or `1[.000]`.
    private static func parseQuality(_ v: [UInt8]) -> Double? {
        guard let first = v.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        var thousandths = Int(first - 48) * 1000
        if v.count == 1 { return Double(thousandths) / 1000 }
        guard v[1] == UInt8(ascii: "."), v.count <= 5 else { return nil }
        var scale = 100
        for d in v[2...] {
            guard d >= 48 && d <= 57 else { return nil }
            thousandths += Int(d - 48) * scale
            scale /= 10
        }
        return thousandths <= 1000 ? Double(thousandths) / 1000 : nil
    }

    private static func trim(_ b: [UInt8]) -> [UInt8] {
        var lo = 0, hi = b.count
        while lo < hi && (b[lo] == 32 || b[lo] == 9) { lo += 1 }
        while hi > lo && (b[hi - 1] == 32 || b[hi - 1] == 9) { hi -= 1 }
        return Array(b[lo..<hi])
    }

    /// Removes surrounding double quotes and backslash escapes; other values unchanged.
    private static func unquote(_ b: [UInt8]) -> [UInt8] {
        guard b.count >= 2, b.first == UInt8(ascii: "\""), b.last == UInt8(ascii: "\"") else { return b }
        var out: [UInt8] = []
        var escaped = false
        for c in b[1..<(b.count - 1)] {
            if escaped { out.append(c); escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else { out.append(c) }
        }
        return out
    }

    /// RFC 9110 token characters.
    private static func isToken(_ b: ArraySlice<UInt8>) -> Bool {
        guard !b.isEmpty else { return false }
        for c in b {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                 UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                continue
            default:
                return false
            }
        }
        return true
    }

    private static func lowercased(_ b: ArraySlice<UInt8>) -> String {
        String(decoding: b.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
