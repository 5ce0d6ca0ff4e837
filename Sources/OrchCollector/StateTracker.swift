/// Per-key version tracking that turns state events into the silent failure mode's numbers:
/// lost updates and stale reads.
///
/// Bounded memory: keys live in two generations of at most `capacity / 2` entries each.
/// When the current generation fills, it becomes the previous one and the oldest generation is
/// dropped; a key found in the previous generation moves back to the current one. So the
/// tracker remembers roughly the `capacity / 2`…`capacity` most recently touched keys; a
/// conflict on a key untouched for longer than that is not detected (it is counted from the
/// next write on). Keys are identified by a 64-bit hash of (source, shard, key), looked up in
/// open-addressing tables (`KeyTable`) without rehashing.
struct StateTracker {
    struct Entry: Equatable {
        /// Newest committed version and when it was committed (ns).
        var version: UInt64
        var committedAt: UInt64
        /// The committed version before it, and when.
        var previousVersion: UInt64
        var previousAt: UInt64
    }

    let capacity: Int
    private var current = KeyTable<Entry>()
    private var previous = KeyTable<Entry>()

    init(capacity: Int) {
        self.capacity = max(2, capacity)
    }

    /// Keys tracked now.
    var count: Int { current.count + previous.count }

    private mutating func lookup(_ key: UInt64) -> Entry? {
        if let e = current[key] { return e }
        if let e = previous.removeValue(forKey: key) {
            store(key, e)
            return e
        }
        return nil
    }

    private mutating func store(_ key: UInt64, _ e: Entry) {
        if current.count >= capacity / 2 && !current.contains(key) {
            previous = current
            current = KeyTable(minimumCapacity: capacity / 2)
        }
        current.set(key, e)
    }

    /// Every entry, oldest generation first (for checkpoints).
    func allEntries() -> [(UInt64, Entry)] {
        previous.entries() + current.entries()
    }

    /// Restores an entry (from a checkpoint).
    mutating func insert(_ key: UInt64, _ e: Entry) { store(key, e) }

    /// A committed write from `base` to `new` at `ts`. True when it overwrote an update it
    /// had not seen (its base is older than a version already committed).
    mutating func committed(key: UInt64, base: UInt64, new: UInt64, at ts: UInt64) -> Bool {
        // A key of the current generation is updated where it lies: one probe.
        if let i = current.index(of: key) {
            var e = current.value(at: i)
            let lost = Self.apply(&e, base: base, new: new, at: ts)
            current.update(at: i, e)
            return lost
        }
        // Otherwise it moves back from the previous generation, updated, or is new.
        guard var e = previous.removeValue(forKey: key) else {
            store(key, Entry(version: new, committedAt: ts, previousVersion: base, previousAt: 0))
            return false
        }
        let lost = Self.apply(&e, base: base, new: new, at: ts)
        store(key, e)
        return lost
    }

    /// Records a committed write in `e`; true when it overwrote an update it had not seen.
    @inline(__always)
    private static func apply(_ e: inout Entry, base: UInt64, new: UInt64, at ts: UInt64) -> Bool {
        let lost = base < e.version
        if new >= e.version {
            e.previousVersion = e.version
            e.previousAt = e.committedAt
            e.version = new
            e.committedAt = ts
        }
        return lost
    }

    /// A read of `version` that started at `start` (ns). True when a newer version had been
    /// committed before the read started.
    mutating func read(key: UInt64, version: UInt64, startedAt start: UInt64) -> Bool {
        guard let e = lookup(key) else { return false }
        if e.version > version && e.committedAt < start { return true }
        if e.previousVersion > version && e.previousAt != 0 && e.previousAt < start { return true }
        return false
    }
}
