/// A growable array of plain values in manually managed memory, shared by
/// reference.
///
/// It backs the per-series value columns of `FamilyStorage` so that a
/// hot-path update is one bounds comparison and one store: no copy-on-write
/// uniqueness checks (which an `Array` nested in an array of structs needs
/// twice per write). It is owned by exactly one `FamilyStorage` of one
/// registry, whose owner serialises all access, so no synchronisation is
/// needed and exclusivity is not checked dynamically.
final class Column<Element: BitwiseCopyable> {
    @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<Element>
    @exclusivity(unchecked) private(set) var count: Int
    @exclusivity(unchecked) private var capacity: Int

    init() {
        capacity = 16
        count = 0
        base = .allocate(capacity: 16)
    }

    deinit {
        base.deallocate()
    }

    /// Reads or writes element `index`, which must be below `count`.
    @inline(__always)
    subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "Column index \(index) out of range 0..<\(count)")
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "Column index \(index) out of range 0..<\(count)")
            base[index] = newValue
        }
    }

    /// Appends `n` copies of `value`.
    func append(_ value: Element, count n: Int = 1) {
        reserve(count + n)
        (base + count).initialize(repeating: value, count: n)
        count += n
    }

    /// Sets elements `start ..< start + n` to `value`.
    func fill(_ value: Element, from start: Int, count n: Int) {
        precondition(start >= 0 && n >= 0 && start + n <= count, "Column fill \(start)+\(n) out of range 0..<\(count)")
        (base + start).update(repeating: value, count: n)
    }

    /// A read-only view of elements `start ..< start + n`.
    func buffer(from start: Int, count n: Int) -> UnsafeBufferPointer<Element> {
        precondition(start >= 0 && n >= 0 && start + n <= count, "Column range \(start)+\(n) out of range 0..<\(count)")
        return UnsafeBufferPointer(start: base + start, count: n)
    }

    /// Forgets every element and returns to a small allocation.
    func removeAll() {
        base.deallocate()
        capacity = 16
        count = 0
        base = .allocate(capacity: 16)
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        fresh.initialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }
}
