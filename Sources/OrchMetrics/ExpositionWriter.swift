/// Byte-level writers shared by the renderers: escaping, label sets and
/// number formatting straight into a `[UInt8]`, with no per-sample `String`
/// interpolation.
enum ExpositionWriter {
    static let newline: UInt8 = 0x0A
    static let space: UInt8 = 0x20

    /// Appends the bytes of a static ASCII string.
    @inline(__always)
    static func append(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    /// Appends the UTF-8 bytes of a string, unescaped.
    @inline(__always)
    static func append(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: text.utf8)
    }

    /// Appends a label value escaped as both formats require:
    /// `\` → `\\`, `"` → `\"`, newline → `\n`; everything else (including
    /// any Unicode) verbatim as UTF-8.
    static func appendEscapedLabelValue(_ value: String, to buffer: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            // Most values need no escape: one copy.
            guard bytes.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else {
                buffer.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
                case 0x22: buffer.append(0x5C); buffer.append(0x22)
                case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
                default: buffer.append(byte)
                }
            }
        }
    }

    /// Appends HELP text escaped for a format: `\` → `\\` and newline → `\n`
    /// in both; `"` → `\"` only in OpenMetrics (text 0.0.4 leaves quotes alone).
    static func appendEscapedHelp(_ help: String, escapeQuotes: Bool, to buffer: inout [UInt8]) {
        for byte in help.utf8 {
            switch byte {
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
            case 0x22 where escapeQuotes: buffer.append(0x5C); buffer.append(0x22)
            default: buffer.append(byte)
            }
        }
    }

    /// The rendered label set `{a="x",b="y"}` for names and values, or no
    /// bytes when there are no labels.
    static func labelSet(names: [String], values: [String]) -> [UInt8] {
        guard !names.isEmpty else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(names.count * 8 + values.reduce(0) { $0 + $1.utf8.count } + 2)
        out.append(0x7B)  // {
        for (i, name) in names.enumerated() {
            if i > 0 { out.append(0x2C) }  // ,
            append(name, to: &out)
            out.append(0x3D)  // =
            out.append(0x22)  // "
            appendEscapedLabelValue(values[i], to: &out)
            out.append(0x22)
        }
        out.append(0x7D)  // }
        return out
    }

    /// Appends an unsigned integer in decimal.
    @inline(__always)
    static func appendUInt(_ value: UInt64, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(truncatingIfNeeded: value) &+ 0x30)
            return
        }
        appendMultiDigit(value, to: &buffer)
    }

    static func appendMultiDigit(_ value: UInt64, to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value
            var i = 20
            while v > 0 {
                i -= 1
                let (q, r) = v.quotientAndRemainder(dividingBy: 10)
                digits[i] = UInt8(truncatingIfNeeded: r) &+ 0x30
                v = q
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    /// 2^64, the first double too large for `UInt64`.
    static let twoTo64: Double = 18_446_744_073_709_551_616.0

    /// Appends a sample value: `NaN`, `+Inf`, `-Inf`; an integral value below
    /// 2^64 in magnitude as plain decimal digits (`42`, `-3`, `0`); anything
    /// else as the shortest round-trip representation in Go's `%g` style
    /// (`0.25`, `1e-05`, `1.5e+20`), which both formats accept.
    @inline(__always)
    static func appendValue(_ value: Double, to buffer: inout [UInt8]) {
        let magnitude = value.magnitude
        // NaN fails the comparison; the truncating conversion is exact for
        // integral magnitudes below 2^64 (and needs no libm).
        if magnitude < twoTo64, case let integer = UInt64(magnitude), Double(integer) == magnitude {
            if value < 0 { buffer.append(0x2D) }
            appendUInt(integer, to: &buffer)
        } else {
            appendShortestFloat(value, forceDecimalPoint: false, to: &buffer)
        }
    }

    /// Appends a double as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does:
    /// shortest round-trip digits, exponent form (`1e+06`, `1e-05`) when the
    /// decimal exponent is below -4 or at least 6, fixed notation otherwise.
    /// With `forceDecimalPoint`, a result with neither `.` nor `e` gets `.0`
    /// appended: the OpenMetrics canonical form for `le` values (`1.0`,
    /// `100000.0`). Without `allowExponent`, fixed notation whatever the exponent (exemplar
    /// timestamps: `1700000000.123`). `NaN`, `+Inf`, `-Inf` are written canonically; `-0` as `0`.
    static func appendShortestFloat(_ value: Double, forceDecimalPoint: Bool, allowExponent: Bool = true, to buffer: inout [UInt8]) {
        if value.isNaN { append("NaN", to: &buffer); return }
        if value == .infinity { append("+Inf", to: &buffer); return }
        if value == -.infinity { append("-Inf", to: &buffer); return }
        if value == 0 {
            if forceDecimalPoint { append("0.0", to: &buffer) } else { buffer.append(0x30) }
            return
        }
        if value < 0 { buffer.append(0x2D) }
        // Swift's description gives the shortest round-trip digits; re-lay
        // them out in Go's %g style. Results of up to 15 bytes are small
        // strings and do not allocate.
        let text = value.magnitude.description
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var count = 0          // significant digits stored
            var pointPosition = 0  // value = 0.d1d2d3… × 10^pointPosition
            var seenPoint = false
            var inExponent = false
            var exponentNegative = false
            var exponent = 0
            for byte in text.utf8 {
                if inExponent {
                    if byte == 0x2D { exponentNegative = true } else if byte >= 0x30 && byte <= 0x39 {
                        exponent = exponent * 10 + Int(byte &- 0x30)
                    }
                    continue
                }
                switch byte {
                case 0x2E: seenPoint = true
                case 0x65, 0x45: inExponent = true
                case 0x30...0x39:
                    if count == 0 && byte == 0x30 {
                        if seenPoint { pointPosition -= 1 }
                    } else if count < 40 {
                        digits[count] = byte
                        count += 1
                        if !seenPoint { pointPosition += 1 }
                    }
                default: break
                }
            }
            pointPosition += exponentNegative ? -exponent : exponent
            while count > 1 && digits[count - 1] == 0x30 { count -= 1 }
            guard count > 0 else {
                if forceDecimalPoint { append("0.0", to: &buffer) } else { buffer.append(0x30) }
                return
            }
            let decimalExponent = pointPosition - 1
            if allowExponent && (decimalExponent < -4 || decimalExponent >= 6) {
                buffer.append(digits[0])
                if count > 1 {
                    buffer.append(0x2E)
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[1..<count]))
                }
                buffer.append(0x65)  // e
                buffer.append(decimalExponent < 0 ? 0x2D : 0x2B)
                let magnitude = decimalExponent.magnitude
                if magnitude < 10 { buffer.append(0x30) }
                appendUInt(UInt64(magnitude), to: &buffer)
            } else if pointPosition <= 0 {
                buffer.append(0x30)
                buffer.append(0x2E)
                for _ in 0 ..< -pointPosition { buffer.append(0x30) }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[0..<count]))
            } else if count <= pointPosition {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[0..<count]))
                for _ in 0 ..< (pointPosition - count) { buffer.append(0x30) }
                if forceDecimalPoint { buffer.append(0x2E); buffer.append(0x30) }
            } else {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[0..<pointPosition]))
                buffer.append(0x2E)
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[pointPosition..<count]))
            }
        }
    }
}
