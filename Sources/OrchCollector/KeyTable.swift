/// A hash map from 64-bit keys that are already hashes (the state tracker's key hashes) to
/// values: open addressing with linear probing, a multiplicative hash of the key for the
/// home slot, backward-shift deletion (no tombstones), at most 3/4 full. Value semantics
/// (copy-on-write arrays). Key 0 marks an empty slot, so its entry is kept aside.
struct KeyTable<Value> {
    private var keys: [UInt64]
    private var values: [Value?]
    private var shift: UInt64
    private var zero: Value?
    /// Entries held.
    private(set) var count = 0

    /// A table that holds `minimumCapacity` entries without growing.
    init(minimumCapacity: Int = 0) {
        var size = 16
        while size * 3 < max(minimumCapacity, 1) * 4 { size *= 2 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Value?](repeating: nil, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key` (not 0), or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: UInt64) -> (slot: Int, found: Bool) {
        let mask = keys.count &- 1
        var i = home(key)
        while true {
            let k = keys[i]
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = (i &+ 1) & mask
        }
    }

    subscript(key: UInt64) -> Value? {
        get {
            if key == 0 { return zero }
            let (slot, found) = find(key)
            return found ? values[slot] : nil
        }
    }

    /// Whether `key` is present.
    func contains(_ key: UInt64) -> Bool {
        key == 0 ? zero != nil : find(key).found
    }

    /// Stores `value` under `key`.
    mutating func set(_ key: UInt64, _ value: Value) {
        if key == 0 {
            if zero == nil { count += 1 }
            zero = value
            return
        }
        var (slot, found) = find(key)
        if !found {
            if (count + 1) * 4 > keys.count * 3 {
                grow()
                slot = find(key).slot
            }
            keys[slot] = key
            count += 1
        }
        values[slot] = value
    }

    /// Removes `key`; returns its value if it was present.
    mutating func removeValue(forKey key: UInt64) -> Value? {
        if key == 0 {
            guard let v = zero else { return nil }
            zero = nil
            count -= 1
            return v
        }
        let (slot, found) = find(key)
        guard found else { return nil }
        let removed = values[slot]
        // Backward shift: move later entries of the probe run into the hole when their home
        // allows it, so that no lookup meets an empty slot before its key.
        let mask = keys.count &- 1
        var hole = slot
        var i = (slot &+ 1) & mask
        while keys[i] != 0 {
            let h = home(keys[i])
            // Entry i may move to the hole if its home is not in (hole, i] (cyclically).
            if (i &- h) & mask >= (i &- hole) & mask {
                keys[hole] = keys[i]
                values[hole] = values[i]
                hole = i
            }
            i = (i &+ 1) & mask
        }
        keys[hole] = 0
        values[hole] = nil
        count -= 1
        return removed
    }

    /// Every entry, in table order.
    func entries() -> [(UInt64, Value)] {
        var all: [(UInt64, Value)] = []
        all.reserveCapacity(count)
        if let zero { all.append((0, zero)) }
        for i in keys.indices where keys[i] != 0 { all.append((keys[i], values[i]!)) }
        return all
    }

    private mutating func grow() {
        let old = entries()
        self = KeyTable(minimumCapacity: keys.count)  // twice the entries a 3/4-full table of this size holds
        for (key, value) in old { set(key, value) }
    }
}
