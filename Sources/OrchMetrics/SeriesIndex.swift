/// An open-addressing hash index from a label-value set to a series slot.
///
/// It stores only a 32-bit hash and the slot per entry (8 bytes); the label
/// values themselves live once, flat, in `FamilyStorage.labelValues`, and a
/// lookup compares against them. This avoids a per-series `[String]`
/// allocation and the copy a `Dictionary<[String], …>` key would hold.
/// Linear probing, load factor at most 1/2, backward-shift deletion (no
/// tombstones). Hashes use the standard library's per-process random seed,
/// so label values chosen by an attacker cannot force collisions.
struct SeriesIndex {
    /// 0 = empty; otherwise `hash << 32 | (slot + 1)`.
    private var entries: [UInt64] = Array(repeating: 0, count: 16)
    private(set) var count = 0

    /// The hash of a label-value set (order-sensitive; `["ab","c"]` and
    /// `["a","bc"]` differ because each string's hash is terminated).
    static func hash<C: Collection>(_ values: C) -> UInt32 where C.Element == String {
        var hasher = Hasher()
        for value in values { hasher.combine(value) }
        return UInt32(truncatingIfNeeded: hasher.finalize())
    }

    /// The slot whose labels `matches` accepts among entries with this hash.
    @inline(__always)
    func find(hash: UInt32, matches: (Int32) -> Bool) -> Int32? {
        let mask = entries.count - 1
        var position = Int(hash) & mask
        while true {
            let entry = entries[position]
            if entry == 0 { return nil }
            if UInt32(truncatingIfNeeded: entry >> 32) == hash {
                let slot = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if matches(slot) { return slot }
            }
            position = (position + 1) & mask
        }
    }

    /// Adds an entry; the caller guarantees the set is not present yet.
    mutating func insert(hash: UInt32, slot: Int32) {
        if (count + 1) * 2 > entries.count { grow() }
        place(UInt64(hash) << 32 | UInt64(UInt32(slot) + 1))
        count += 1
    }

    /// Removes the entry for `slot` (whose labels hash to `hash`).
    mutating func remove(hash: UInt32, slot: Int32) {
        let mask = entries.count - 1
        let wanted = UInt64(hash) << 32 | UInt64(UInt32(slot) + 1)
        var hole = Int(hash) & mask
        while entries[hole] != wanted {
            if entries[hole] == 0 { return }
            hole = (hole + 1) & mask
        }
        // Backward-shift: pull later entries of the same cluster into the
        // hole when their home position allows it.
        var next = hole
        while true {
            next = (next + 1) & mask
            let entry = entries[next]
            if entry == 0 { break }
            let home = Int(UInt32(truncatingIfNeeded: entry >> 32)) & mask
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if stays { continue }
            entries[hole] = entry
            hole = next
        }
        entries[hole] = 0
        count -= 1
    }

    /// Forgets everything.
    mutating func removeAll() {
        entries = Array(repeating: 0, count: 16)
        count = 0
    }

    private mutating func place(_ entry: UInt64) {
        let mask = entries.count - 1
        var position = Int(UInt32(truncatingIfNeeded: entry >> 32)) & mask
        while entries[position] != 0 { position = (position + 1) & mask }
        entries[position] = entry
    }

    private mutating func grow() {
        let old = entries
        entries = Array(repeating: 0, count: old.count * 2)
        for entry in old where entry != 0 { place(entry) }
    }
}
