/// A W3C trace id (trace-context `trace-id`, `invocation_started`'s `trace_id`): 128 bits,
/// written as 32 lowercase hex digits. Held and stored as two 64-bit words — never interned —
/// so an event carries it in 16 bytes and a trace id per invocation grows no writer-wide
/// table. The all-zero id is W3C's "invalid" and stands for none (`""` in NDJSON and `tail`).
public struct TraceID: Sendable, Hashable, CustomStringConvertible {
    /// The high 64 bits (the first 16 hex digits).
    public var hi: UInt64
    /// The low 64 bits (the last 16 hex digits).
    public var lo: UInt64

    /// No trace id (all zeros).
    public static let none = TraceID(hi: 0, lo: 0)

    /// A trace id from its two halves (`.none` when both are 0).
    @inlinable
    public init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// Whether this is an id (not `none`).
    @inlinable
    public var isSome: Bool { hi | lo != 0 }

    /// Parses a trace id from its text: exactly 32 lowercase hex digits, not all zeros
    /// (`traceparent`'s trace-id), or `""` for `.none`.
    /// - Throws: `TraceIDError` saying what is wrong with `text` (its length, an uppercase or
    ///   non-hex character and where, all zeros).
    public init(parsing text: String) throws(TraceIDError) {
        var text = text
        let parsed = text.withUTF8 { TraceID.check($0) }
        switch parsed {
        case .success(let id): self = id
        case .failure(let error): throw error
        }
    }

    /// The id of `text` (see `init(parsing:)`), or nil when it is not one; `""` is `.none`.
    public init?(_ text: String) {
        guard let id = try? TraceID(parsing: text) else { return nil }
        self = id
    }

    /// Parses exactly 32 lowercase hex digits; anything else (empty, uppercase, another
    /// length, all zeros) is `none`: the fast, allocation-free form for readers of the label
    /// form (format v3 before the binary form), where any string may stand.
    package init(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 32, let p = bytes.baseAddress else {
            self = .none
            return
        }
        var ok = true
        let raw = UnsafeRawPointer(p)
        let h = Self.eight(raw, &ok) << 32 | Self.eight(raw + 8, &ok), l = Self.eight(raw + 16, &ok) << 32 | Self.eight(raw + 24, &ok)
        self = ok ? TraceID(hi: h, lo: l) : .none  // all zeros stays `none`
    }

    /// `bytes` as a trace id, or why not: the one parser of the NDJSON parsers and `init(parsing:)`.
    package static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<TraceID, TraceIDError> {
        if bytes.isEmpty { return .success(.none) }
        // A valid id is checked once, by the word-at-a-time parse, and makes no string; only
        // a refused one is looked at again, byte by byte, to say why.
        let id = TraceID(bytes)
        if id.isSome { return .success(id) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard bytes.count == 32 else {
            return .failure(TraceIDError(text, "is \(bytes.count) bytes long; a W3C trace id is 32 lowercase hex digits (\"\": none)"))
        }
        for (i, c) in bytes.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"):
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                return .failure(TraceIDError(text, "has an uppercase hex digit at offset \(i); a W3C trace id is lowercase (write it lowercased)"))
            default:
                return .failure(TraceIDError(text, "has a character that is not a hex digit at offset \(i); a W3C trace id is 32 lowercase hex digits"))
            }
        }
        // 32 lowercase hex digits that the parse refused: all zeros.
        return .failure(TraceIDError(text, "is all zeros, which W3C trace-context defines as invalid (\"\": none)"))
    }

    /// The 32 lowercase hex digits (`""` for `.none`).
    public var hex: String {
        guard isSome else { return "" }
        return String(unsafeUninitializedCapacity: 32) { out in
            writeHex(into: out.baseAddress!)
            return 32
        }
    }

    /// Writes the 32 lowercase hex digits at `out` (32 bytes; all `0` for `.none`).
    @inline(__always)
    package func writeHex(into out: UnsafeMutablePointer<UInt8>) {
        for i in 0..<16 {
            let a = UInt8(truncatingIfNeeded: hi >> (4 * UInt64(i)) & 0xF), b = UInt8(truncatingIfNeeded: lo >> (4 * UInt64(i)) & 0xF)
            out[15 - i] = a < 10 ? 0x30 + a : 0x57 + a
            out[31 - i] = b < 10 ? 0x30 + b : 0x57 + b
        }
    }

    /// The hex form (`""` for `.none`).
    public var description: String { hex }

    /// The 32-bit value of the 8 lowercase hex digits at `p` (eight at a time in one word:
    /// range checks per byte by adding to each byte, below its high bit); clears `ok` when a
    /// byte is not one.
    @inline(__always)
    static func eight(_ p: UnsafeRawPointer, _ ok: inout Bool) -> UInt64 {
        let x = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
        let ones: UInt64 = 0x0101_0101_0101_0101, high = ones &* 0x80
        // Per byte c < 0x80, c + (0x80 - k) has its high bit set exactly when c ≥ k (no carry).
        let digit = (x &+ ones &* (0x80 - 0x30)) & ~(x &+ ones &* (0x80 - 0x3A)) & high  // 0-9
        let letter = (x &+ ones &* (0x80 - 0x61)) & ~(x &+ ones &* (0x80 - 0x67)) & high  // a-f
        if x & high != 0 || digit | letter != high { ok = false }
        // Each byte's value: its low nibble, + 9 for a letter; then two digits per byte, four
        // bytes in order (the first digit most significant).
        let v = (x & 0x0F0F_0F0F_0F0F_0F0F) &+ (letter >> 7) &* 9
        let w = (v << 4 | v >> 8) & 0x00FF_00FF_00FF_00FF
        return (w & 0xFF) << 24 | (w >> 16 & 0xFF) << 16 | (w >> 32 & 0xFF) << 8 | (w >> 48 & 0xFF)
    }
}

/// Why a string is not a W3C trace id; the message names the value.
public struct TraceIDError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that was given.
    public let value: String
    /// What is wrong with it, e.g. `"4BF9…" has an uppercase hex digit at offset 0; …`.
    public let message: String

    init(_ value: String, _ why: String) {
        self.value = value
        let shown = value.count > 80 ? String(value.prefix(77)) + "..." : value
        message = "trace id \(String(reflecting: shown)) \(why)"
    }

    public var description: String { message }
}
