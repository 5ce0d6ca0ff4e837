/// A hash table from a pair of 64-bit words to `Value`, for the per-event lookups of
/// `LLMSpend` and `InvocationTracker`: open addressing with linear probing over a power-of-two
/// array of keys (with their used flags) beside the values, a multiply-and-shift hash (no
/// SipHash, no allocation per lookup), deletion by backward shift (no tombstones). Grows at
/// 1/2 load. A class over raw storage, so that the per-event updates pay no copy-on-write
/// uniqueness check nor retain and update a value in place; one owner at a time. Not
/// thread-safe.
final class PairKeyTable<Value> {
    private struct Key {
        var hi: UInt64 = 0, lo: UInt64 = 0
    }
    private var keys: UnsafeMutablePointer<Key>
    /// Per slot whether it holds an entry (a byte apart: a key with a flag would pad to 24).
    private var used: UnsafeMutablePointer<Bool>
    /// Initialized exactly where `used[i]`.
    private var values: UnsafeMutablePointer<Value>
    private var size: Int
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        (keys, used, values, size, mask) = Self.allocate(n)
    }

    private static func allocate(_ n: Int) -> (UnsafeMutablePointer<Key>, UnsafeMutablePointer<Bool>, UnsafeMutablePointer<Value>, Int, Int) {
        let keys = UnsafeMutablePointer<Key>.allocate(capacity: n)
        keys.initialize(repeating: Key(), count: n)
        let used = UnsafeMutablePointer<Bool>.allocate(capacity: n)
        used.initialize(repeating: false, count: n)
        return (keys, used, .allocate(capacity: n), n, n - 1)
    }

    deinit { release() }

    private func release() {
        for i in 0..<size where used[i] { (values + i).deinitialize(count: 1) }
        keys.deinitialize(count: size)
        keys.deallocate()
        used.deinitialize(count: size)
        used.deallocate()
        values.deallocate()
    }

    @inline(__always)
    private func home(_ hi: UInt64, _ lo: UInt64) -> Int {
        let h = (hi &* 0x9E37_79B9_7F4A_7C15) ^ (lo &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: (h ^ (h >> 29)) &* 0x1656_67B1_9E37_79F9 >> 20) & mask
    }

    @inline(__always)
    private func slot(_ hi: UInt64, _ lo: UInt64) -> (index: Int, found: Bool) {
        var i = home(hi, lo)
        while used[i] {
            if keys[i].hi == hi && keys[i].lo == lo { return (i, true) }
            i = (i &+ 1) & mask
        }
        return (i, false)
    }

    /// The value stored under (hi, lo), or nil.
    @inline(__always)
    func get(_ hi: UInt64, _ lo: UInt64) -> Value? {
        let (i, found) = slot(hi, lo)
        return found ? values[i] : nil
    }

    /// Whether (hi, lo) is stored.
    @inline(__always)
    func contains(_ hi: UInt64, _ lo: UInt64) -> Bool { slot(hi, lo).found }

    /// Updates the value under (hi, lo) in place if it is stored; returns whether it was.
    @inline(__always)
    func update(_ hi: UInt64, _ lo: UInt64, _ body: (inout Value) -> Void) -> Bool {
        let (i, found) = slot(hi, lo)
        guard found else { return false }
        body(&values[i])
        return true
    }

    /// Stores `value` under (hi, lo).
    func set(_ hi: UInt64, _ lo: UInt64, _ value: Value) {
        if (count + 1) * 2 > size { grow() }
        let (i, found) = slot(hi, lo)
        if found {
            values[i] = value
        } else {
            keys[i] = Key(hi: hi, lo: lo)
            used[i] = true
            (values + i).initialize(to: value)
            count += 1
        }
    }

    /// Removes and returns the value under (hi, lo).
    func remove(_ hi: UInt64, _ lo: UInt64) -> Value? {
        let (start, found) = slot(hi, lo)
        guard found else { return nil }
        var i = start
        let value = (values + i).move()
        // Backward shift: pull later entries of the probe run into the gap.
        var j = i
        while true {
            j = (j &+ 1) & mask
            guard used[j] else { break }
            let h = home(keys[j].hi, keys[j].lo)
            // Entry j may move to i when its home is not cyclically in (i, j].
            let between = i <= j ? (h > i && h <= j) : (h > i || h <= j)
            if !between {
                keys[i] = keys[j]
                (values + i).moveInitialize(from: values + j, count: 1)
                i = j
            }
        }
        used[i] = false
        count -= 1
        return value
    }

    /// Every entry (in table order).
    func entries() -> [(UInt64, UInt64, Value)] {
        var out: [(UInt64, UInt64, Value)] = []
        out.reserveCapacity(count)
        for i in 0..<size where used[i] { out.append((keys[i].hi, keys[i].lo, values[i])) }
        return out
    }

    private func grow() {
        let old = entries()
        release()
        (keys, used, values, size, mask) = Self.allocate(size * 2)
        count = 0
        for (hi, lo, v) in old { set(hi, lo, v) }
    }
}
