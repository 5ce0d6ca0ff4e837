/// A hash map from 64-bit keys that are already hashes (the state tracker's key hashes) to
/// values: open addressing with linear probing, a multiplicative hash of the key for the
/// home slot, backward-shift deletion (no tombstones), at most 3/4 full. Each slot holds its
/// key and value side by side, so a probe touches one cache line. Value semantics
/// (a copy-on-write array). Key 0 marks an empty slot, so its entry is kept aside.
struct KeyTable<Value> {
    private struct Slot {
        var key: UInt64
        var value: Value?
    }

    private var slots: [Slot]
    private var shift: UInt64
    private var zero: Value?
    /// Entries held.
    private(set) var count = 0

    /// A position `index(of:)` found: valid until the table next changes shape (an insertion
    /// or removal). `zeroIndex` is key 0's entry, kept aside.
    typealias Index = Int
    private static var zeroIndex: Int { -1 }

    /// A table that holds `minimumCapacity` entries without growing.
    init(minimumCapacity: Int = 0) {
        var size = 16
        while size * 3 < max(minimumCapacity, 1) * 4 { size *= 2 }
        slots = [Slot](repeating: Slot(key: 0, value: nil), count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key` (not 0), or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: UInt64) -> (slot: Int, found: Bool) {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count &- 1
            var i = home(key)
            while true {
                let k = slots[i].key
                if k == key { return (i, true) }
                if k == 0 { return (i, false) }
                i = (i &+ 1) & mask
            }
        }
    }

    /// Where `key`'s entry is, if present.
    @inline(__always)
    func index(of key: UInt64) -> Index? {
        if key == 0 { return zero == nil ? nil : Self.zeroIndex }
        let (slot, found) = find(key)
        return found ? slot : nil
    }

    /// The value at `index` (from `index(of:)`).
    @inline(__always)
    func value(at index: Index) -> Value {
        index == Self.zeroIndex ? zero! : slots[index].value!
    }

    /// Replaces the value at `index` (from `index(of:)`, the table unchanged since).
    @inline(__always)
    mutating func update(at index: Index, _ value: Value) {
        if index == Self.zeroIndex { zero = value } else { slots[index].value = value }
    }

    subscript(key: UInt64) -> Value? {
        get { index(of: key).map(value(at:)) }
    }

    /// Whether `key` is present.
    func contains(_ key: UInt64) -> Bool { index(of: key) != nil }

    /// Stores `value` under `key`.
    mutating func set(_ key: UInt64, _ value: Value) {
        if key == 0 {
            if zero == nil { count += 1 }
            zero = value
            return
        }
        var (slot, found) = find(key)
        if !found {
            if (count + 1) * 4 > slots.count * 3 {
                grow()
                slot = find(key).slot
            }
            slots[slot].key = key
            count += 1
        }
        slots[slot].value = value
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
        let removed = slots[slot].value
        // Backward shift: move later entries of the probe run into the hole when their home
        // allows it, so that no lookup meets an empty slot before its key.
        let mask = slots.count &- 1
        var hole = slot
        var i = (slot &+ 1) & mask
        while slots[i].key != 0 {
            let h = home(slots[i].key)
            // Entry i may move to the hole if its home is not in (hole, i] (cyclically).
            if (i &- h) & mask >= (i &- hole) & mask {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i &+ 1) & mask
        }
        slots[hole] = Slot(key: 0, value: nil)
        count -= 1
        return removed
    }

    /// Every entry, in table order.
    func entries() -> [(UInt64, Value)] {
        var all: [(UInt64, Value)] = []
        all.reserveCapacity(count)
        if let zero { all.append((0, zero)) }
        for slot in slots where slot.key != 0 { all.append((slot.key, slot.value!)) }
        return all
    }

    private mutating func grow() {
        let old = entries()
        self = KeyTable(minimumCapacity: slots.count)  // twice the entries a 3/4-full table of this size holds
        for (key, value) in old { set(key, value) }
    }
}
