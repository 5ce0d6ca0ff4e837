/// A block's string table as it is stored: the strings' UTF-8 bytes (as the block holds them,
/// copied in one piece), and where each starts and ends. Strings are made only when asked for
/// (`string(_:)`, `strings`): a consumer that hashes or compares bytes (the collector's state
/// keys) never builds one.
package struct StringTable {
    /// The strings' bytes (with whatever separates them).
    @usableFromInline var bytes: [UInt8] = []
    /// Per string: where its bytes start in `bytes`.
    @usableFromInline var starts: [Int] = []
    /// Per string: the offset in `bytes` just past its end.
    @usableFromInline var ends: [Int] = []

    package init() {}

    /// Strings in the table.
    package var count: Int { ends.count }

    /// String `i` (invalid UTF-8 repaired with U+FFFD, as `String(decoding:as:)` does).
    package func string(_ i: Int) -> String {
        withBytes(i) { String(decoding: $0, as: UTF8.self) }
    }

    /// Every string, in order.
    package var strings: [String] { (0..<count).map(string) }

    /// Runs `body` with string `i`'s bytes (valid only inside it).
    @inlinable @inline(__always)
    package func withBytes<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let start = starts[i], end = ends[i]
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Runs `body` with every string's bytes at once: the table's bytes and, per string, where
    /// it starts and ends in them (valid only inside it), for a pass over many strings.
    @inlinable @inline(__always)
    package func withStorage<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in starts.withUnsafeBufferPointer { s in ends.withUnsafeBufferPointer { e in body(b, s, e) } } }
    }

    /// Appends the empty string; returns its index.
    mutating func appendEmpty() -> Int {
        starts.append(0)
        ends.append(0)
        return ends.count - 1
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// Reads a block's table of `count` strings starting at `start` of `block`: `locate`
    /// fills each string's start and end (offsets from `start`) and returns where the table
    /// ends; the table's bytes are then copied in one piece.
    mutating func load(_ count: Int, of block: UnsafeRawBufferPointer, at start: Int,
                       _ locate: (UnsafeMutableBufferPointer<Int>, UnsafeMutableBufferPointer<Int>) throws -> Int) rethrows {
        removeAll()
        starts.append(contentsOf: repeatElement(0, count: count))
        ends.append(contentsOf: repeatElement(0, count: count))
        let end = try starts.withUnsafeMutableBufferPointer { s in try ends.withUnsafeMutableBufferPointer { e in try locate(s, e) } }
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: block[start..<end]).assumingMemoryBound(to: UInt8.self))
    }
}
