import Glibc
import Synchronization

/// Which stripe the current thread emits into, per log: a thread-local cache behind one
/// process-wide pthread key. `emit` compares the cached log and takes the cached stripe; a
/// thread's first emit to a log (or a switch between logs) takes the slow path, which finds or
/// acquires the stripe and keeps it in the thread's list. When the thread exits, the key's
/// destructor hands every stripe back to its log, for the next new thread.
struct ThreadStripes {
    /// The log (`StripeRegistry` identity) of the last emit on this thread, and its stripe.
    var token: UInt = 0
    var stripe: Stripe?
    /// Every log this thread has emitted to, with its stripe (the registry is retained).
    var entries: [(registry: StripeRegistry, stripe: Stripe)] = []

    /// The process-wide key; nil if the process has no key left (then `emit` takes a lock).
    static let key: pthread_key_t? = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { value in
            guard let value else { return }
            ThreadStripes.threadExited(value.assumingMemoryBound(to: ThreadStripes.self))
        }
        return rc == 0 ? key : nil
    }()

    /// The current thread's cache, created on first use.
    static func current(_ key: pthread_key_t) -> UnsafeMutablePointer<ThreadStripes> {
        if let raw = pthread_getspecific(key) { return raw.assumingMemoryBound(to: ThreadStripes.self) }
        let p = UnsafeMutablePointer<ThreadStripes>.allocate(capacity: 1)
        p.initialize(to: ThreadStripes())
        pthread_setspecific(key, p)
        return p
    }

    /// The current thread's stripe of `registry`, acquiring one on its first emit there.
    /// Forgets the logs that have closed meanwhile.
    static func stripe(of registry: StripeRegistry, token: UInt, key: pthread_key_t) -> Stripe {
        let cache = current(key)
        let found: Stripe
        if let entry = cache.pointee.entries.first(where: { $0.registry === registry }) {
            found = entry.stripe
        } else {
            var kept: [(registry: StripeRegistry, stripe: Stripe)] = []
            for entry in cache.pointee.entries {
                if entry.registry.flags.load(ordering: .relaxed) & StripeRegistry.closedFlag != 0 { entry.registry.release(entry.stripe) } else { kept.append(entry) }
            }
            found = registry.acquire()
            kept.append((registry, found))
            cache.pointee.entries = kept
        }
        cache.pointee.token = token
        cache.pointee.stripe = found
        return found
    }

    private static func threadExited(_ cache: UnsafeMutablePointer<ThreadStripes>) {
        for entry in cache.pointee.entries { entry.registry.release(entry.stripe) }
        cache.deinitialize(count: 1)
        cache.deallocate()
    }
}
