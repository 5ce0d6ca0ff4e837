import Foundation

/// A value behind a pthread mutex (`NSLock`), whose waiters sleep in the kernel at once.
///
/// For locks that hundreds of threads pass through: the live orchestrator's agent threads (its
/// HTTP handle pool, key limiter, breakers) and reference-backends' connection threads (the
/// keys' buckets, the active faults). `Synchronization.Mutex` spins before it sleeps:
/// profiled under the live benchmark, 22% of reference-backends' CPU and 13% of the live
/// orchestrator's went to that spinning on a 2-core machine.
public final class BlockingLock<Value>: @unchecked Sendable {  // `value` is only read or written while `lock` is held
    private let lock = NSLock()
    private var value: Value

    /// A lock holding `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, under the lock.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
