/// The status page's memory: per source, a ring of the last `capacity` samples (by default
/// 90, one every 10 s: 15 minutes). Bounded: at most `maxSources` sources are kept (the first
/// seen; others are counted in `unsampledSources` until one of the kept sources goes), so
/// the whole history is at most `maxSources × capacity × 104` bytes — 4.7 MB at the defaults.
///
/// Not thread-safe: the collector keeps it under its lock.
public struct StatusHistory: Sendable {
    /// The default ring size: 90 samples.
    public static let defaultCapacity = 90
    /// The default source cap: 500.
    public static let defaultMaxSources = 500

    /// One source's samples, oldest first once read through `samples`.
    public struct Ring: Sendable, Equatable {
        public let capacity: Int
        private var storage: [StatusSample] = []
        /// Where the oldest sample is once the ring is full.
        private var head = 0

        public init(capacity: Int) {
            self.capacity = max(1, capacity)
            storage.reserveCapacity(self.capacity)
        }

        /// Adds `sample`, dropping the oldest when full.
        public mutating func append(_ sample: StatusSample) {
            if storage.count < capacity {
                storage.append(sample)
            } else {
                storage[head] = sample
                head = (head + 1) % capacity
            }
        }

        /// Oldest first.
        public var samples: [StatusSample] { Array(storage[head...] + storage[..<head]) }
        public var count: Int { storage.count }
        public var last: StatusSample? { storage.isEmpty ? nil : storage[(head + storage.count - 1) % storage.count] }
    }

    public let capacity: Int
    public let maxSources: Int
    public private(set) var rings: [String: Ring] = [:]
    /// Sources seen on the last sample beyond `maxSources`, not sampled.
    public private(set) var unsampledSources = 0

    public init(capacity: Int = StatusHistory.defaultCapacity, maxSources: Int = StatusHistory.defaultMaxSources) {
        self.capacity = max(1, capacity)
        self.maxSources = max(0, maxSources)
    }

    /// Records one sample per source in `sources` (a source without series gets an empty
    /// sample at `time`); forgets sources no longer in it. New sources are taken in name
    /// order while there is room. A new source's ring starts with an empty sample at
    /// `newSourcesSince` when given (the previous sample's time: the source had no events
    /// then), so that what it brought before its first sample shows as a change.
    public mutating func record(_ samples: [String: StatusSample], sources: [String], at time: Double,
                                newSourcesSince: Double? = nil) {
        let present = Set(sources)
        rings = rings.filter { present.contains($0.key) }
        var unsampled = 0
        for name in sources.sorted() {
            if rings[name] == nil {
                guard rings.count < maxSources else {
                    unsampled += 1
                    continue
                }
                var ring = Ring(capacity: capacity)
                if let since = newSourcesSince, since < time { ring.append(StatusSample(time: since)) }
                rings[name] = ring
            }
            rings[name]!.append(samples[name] ?? StatusSample(time: time))
        }
        unsampledSources = unsampled
    }
}
