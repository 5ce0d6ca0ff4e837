/// A hash table from a pair of 64-bit words to `Value`, for the per-event lookups of
/// `LLMSpend` and `InvocationTracker`: open addressing with linear probing over a power-of-two
/// array, a multiply-and-shift hash (no SipHash, no allocation per lookup), deletion by
/// backward shift (no tombstones). Grows at 1/2 load. Not thread-safe.
struct PairKeyTable<Value> {
    private var keys: [(UInt64, UInt64)]
    private var values: [Value?]
    private var used: [Bool]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = Array(repeating: (0, 0), count: n)
        values = Array(repeating: nil, count: n)
        used = Array(repeating: false, count: n)
        mask = n - 1
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
            if keys[i].0 == hi && keys[i].1 == lo { return (i, true) }
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
    mutating func update(_ hi: UInt64, _ lo: UInt64, _ body: (inout Value) -> Void) -> Bool {
        let (i, found) = slot(hi, lo)
        guard found else { return false }
        body(&values[i]!)
        return true
    }

    /// Stores `value` under (hi, lo).
    mutating func set(_ hi: UInt64, _ lo: UInt64, _ value: Value) {
        if (count + 1) * 2 > keys.count { grow() }
        let (i, found) = slot(hi, lo)
        if !found {
            used[i] = true
            keys[i] = (hi, lo)
            count += 1
        }
        values[i] = value
    }

    /// Removes and returns the value under (hi, lo).
    mutating func remove(_ hi: UInt64, _ lo: UInt64) -> Value? {
        let (start, found) = slot(hi, lo)
        guard found else { return nil }
        var i = start
        let value = values[i]
        // Backward shift: pull later entries of the probe run into the gap.
        var j = i
        while true {
            j = (j &+ 1) & mask
            guard used[j] else { break }
            let h = home(keys[j].0, keys[j].1)
            // Entry j may move to i when its home is not cyclically in (i, j].
            let between = i <= j ? (h > i && h <= j) : (h > i || h <= j)
            if !between {
                keys[i] = keys[j]
                values[i] = values[j]
                i = j
            }
        }
        used[i] = false
        values[i] = nil
        count -= 1
        return value
    }

    /// Every entry (in table order).
    func entries() -> [(UInt64, UInt64, Value)] {
        var out: [(UInt64, UInt64, Value)] = []
        out.reserveCapacity(count)
        for i in used.indices where used[i] { out.append((keys[i].0, keys[i].1, values[i]!)) }
        return out
    }

    private mutating func grow() {
        let old = entries()
        let n = keys.count * 2
        keys = Array(repeating: (0, 0), count: n)
        values = Array(repeating: nil, count: n)
        used = Array(repeating: false, count: n)
        mask = n - 1
        count = 0
        for (hi, lo, v) in old { set(hi, lo, v) }
    }
}
