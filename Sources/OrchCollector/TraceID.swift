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
        self = .none
        guard bytes.count == 32 else { return }
        var words: (UInt64, UInt64) = (0, 0)
        for (i, c) in bytes.enumerated() {
            let digit: UInt64
            switch c {
            case 0x30...0x39: digit = UInt64(c - 0x30)
            case 0x61...0x66: digit = UInt64(c - 0x61 + 10)
            default: return
            }
            if i < 16 { words.0 = words.0 << 4 | digit } else { words.1 = words.1 << 4 | digit }
        }
        hi = words.0
        lo = words.1
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
