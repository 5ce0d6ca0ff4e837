/// A growable byte buffer over manually managed memory: the block encoder's hot path
/// writes bytes without Array's per-append checks. Not thread-safe; owned by one flusher.
struct ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count: Int = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    /// Frees the memory; the buffer must not be used afterwards.
    func deallocate() { base.deallocate() }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    @inline(never)
    private mutating func grow(_ needed: Int) {
        let newCapacity = grownCapacity(capacity, needed)
        base = reallocated(base, count: count, capacity: newCapacity)
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    /// Appends a LEB128 varint (caller has reserved 10 bytes, or uses `appendVarint`).
    @inline(__always)
    mutating func appendVarintUnchecked(_ value: UInt64) {
        if value < 0x80 {
            base[count] = UInt8(truncatingIfNeeded: value)
            count &+= 1
            return
        }
        if value < 0x4000 {
            base[count] = UInt8(truncatingIfNeeded: value) | 0x80
            base[count &+ 1] = UInt8(truncatingIfNeeded: value >> 7)
            count &+= 2
            return
        }
        var v = value
        while v >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: v) | 0x80
            count += 1
            v >>= 7
        }
        base[count] = UInt8(v)
        count += 1
    }

    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        reserve(10)
        appendVarintUnchecked(value)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            (base + count).update(from: src.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        }
        count += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Doubles `capacity` until it holds `needed`.
@inline(__always)
func grownCapacity(_ capacity: Int, _ needed: Int) -> Int {
    var c = max(capacity, 1) * 2
    while c < needed { c *= 2 }
    return c
}

/// Moves the first `count` elements of `old` into a fresh allocation of `capacity` and
/// frees `old`.
func reallocated<T>(_ old: UnsafeMutablePointer<T>, count: Int, capacity: Int) -> UnsafeMutablePointer<T> {
    let fresh = UnsafeMutablePointer<T>.allocate(capacity: capacity)
    fresh.moveInitialize(from: old, count: count)
    old.deallocate()
    return fresh
}

/// Zigzag-encodes a signed delta so small magnitudes of either sign stay short as varints.
@inline(__always)
func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

/// Inverse of `zigzag`.
@inline(__always)
func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

/// Reads little-endian integers and varints from a byte range with bounds checks;
/// every failure is a `.corrupt` error naming `context` and the offset.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int = 0
    let context: String

    init(_ bytes: UnsafeRawBufferPointer, context: String) {
        self.bytes = bytes
        self.context = context
    }

    var remaining: Int { bytes.count - offset }

    func corrupt(_ why: String) -> OrchLogError {
        OrchLogError(.corrupt, "\(context): \(why) at block offset \(offset)")
    }

    @inline(__always)
    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw corrupt("unexpected end of block") }
        let b = bytes[offset]
        offset += 1
        return b
    }

    /// A LEB128 varint of at most 10 bytes; longer or overflowing is corruption.
    @inline(__always)
    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw corrupt("varint runs past end of block") }
            let b = bytes[offset]
            offset += 1
            if shift == 63 && b > 1 { throw corrupt("varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw corrupt("varint longer than 10 bytes") }
        }
    }

    mutating func skip(_ n: Int) throws {
        guard n >= 0, n <= remaining else { throw corrupt("length \(n) runs past end of block") }
        offset += n
    }
}

/// Little-endian loads from raw memory (unaligned-safe).
@inline(__always)
func loadLE<T: FixedWidthInteger>(_ p: UnsafeRawPointer, _ offset: Int, as: T.Type) -> T {
    T(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: T.self))
}

/// Little-endian stores into raw memory (unaligned-safe).
@inline(__always)
func storeLE<T: FixedWidthInteger>(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: T) {
    p.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
}
