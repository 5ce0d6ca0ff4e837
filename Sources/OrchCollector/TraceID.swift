/// A W3C trace id (`invocation_started`'s `trace_id`): 32 lowercase hex digits held as two
/// 64-bit words, so that an open invocation carries it in 16 bytes and no string. The all-zero
/// id is W3C's "invalid" and stands for none.
struct TraceID: Equatable, Sendable {
    var hi: UInt64
    var lo: UInt64

    static let none = TraceID(hi: 0, lo: 0)

    /// Whether this is an id (not `none`).
    var isSome: Bool { hi | lo != 0 }

    /// Parses exactly 32 lowercase hex digits; anything else (empty, uppercase, another
    /// length, all zeros) is `none`: not a W3C trace id, so never put in an exemplar.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 32, let p = bytes.baseAddress else {
            self = .none
            return
        }
        var ok = true
        let raw = UnsafeRawPointer(p)
        let h = Self.eight(raw, &ok) << 32 | Self.eight(raw + 8, &ok), l = Self.eight(raw + 16, &ok) << 32 | Self.eight(raw + 24, &ok)
        self = ok ? TraceID(hi: h, lo: l) : .none  // all zeros stays `none`
    }

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

    init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// The 32 lowercase hex digits.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<16 {
            out[15 - i] = digits[Int(hi >> (4 * UInt64(i)) & 0xF)]
            out[31 - i] = digits[Int(lo >> (4 * UInt64(i)) & 0xF)]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
