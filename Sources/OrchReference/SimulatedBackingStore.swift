/// A simulated backing store: partitions of versioned records, each partition a
/// first-come-first-served service with `serversPerPartition` servers. A write costs a fixed
/// overhead plus a per-record cost, so batching (write-back flushes) raises throughput while
/// one-record writes saturate it. Deadlines are honoured: an operation that would finish
/// after its deadline is not applied and answers `.timeout` at the deadline (the server time
/// it used is still spent). Scripted slowdowns multiply service times.
public final class SimulatedBackingStore: BackingStore {
    public let config: StoreConfig
    private let scheduler: Scheduler
    private var rng: RandomSource
    private var partitions: [ServerQueue]
    private var readPartitions: [ServerQueue]
    private var versions: [UInt64] = []
    private let faults: [Fault]
    /// Operations started (given a server) and dropped before starting.
    private(set) var started = 0
    private(set) var droppedBeforeStart = 0

    private let latencyScale: Double

    init(config: StoreConfig, partitions: Int, faults: [Fault], scheduler: Scheduler, seed: UInt64, latencyScale: Double = 1) {
        self.config = config
        self.latencyScale = latencyScale
        self.scheduler = scheduler
        rng = RandomSource(seed: seed)
        self.partitions = (0..<max(1, partitions)).map { _ in ServerQueue(servers: config.serversPerPartition) }
        readPartitions = (0..<max(1, partitions)).map { _ in ServerQueue(servers: config.readServersPerPartition) }
        self.faults = faults.filter { if case .storeSlow = $0.kind { return true } else { return false } }
    }

    /// The stored version of `key` (0: never written).
    public func version(of key: Int) -> UInt64 { key < versions.count ? versions[key] : 0 }

    private func slowFactor(_ now: UInt64) -> Double {
        var f = latencyScale
        for fault in faults where fault.active(at: now) {
            if case let .storeSlow(factor) = fault.kind { f *= factor }
        }
        return f
    }

    private func ensure(_ key: Int) {
        if key >= versions.count { versions.append(contentsOf: repeatElement(0, count: key + 1 - versions.count)) }
    }

    public func read(partition: Int, key: Int, deadline: UInt64, reply: @escaping (StoreReply<UInt64>) -> Void) {
        let now = scheduler.now
        let service = UInt64(Double(rng.latency(config.readLatency)) * slowFactor(now))
        let failed = rng.chance(config.errorRate)
        schedule(reads: true, partition: partition, service: service, deadline: deadline, timeout: { reply(.timeout) }) { [self] in
            if failed { reply(.error); return }
            reply(.ok(version(of: key)))
        }
    }

    public func write(partition: Int, items: [StoreWrite], deadline: UInt64, reply: @escaping (StoreReply<[StoreWriteResult]>) -> Void) {
        let now = scheduler.now
        let seconds = Double(rng.latency(config.writeOverhead)) * 1e-9 + config.secondsPerRecord * Double(items.count)
        let service = UInt64(seconds * slowFactor(now) * 1e9)
        let failed = rng.chance(config.errorRate)
        schedule(reads: false, partition: partition, service: service, deadline: deadline, timeout: { reply(.timeout) }) { [self] in
            if failed { reply(.error); return }
            var results: [StoreWriteResult] = []
            results.reserveCapacity(items.count)
            for item in items {
                ensure(item.key)
                let current = versions[item.key]
                switch item.mode {
                case .blind:
                    versions[item.key] = current + 1
                    results.append(.committed(previous: current, new: current + 1))
                case .compareAndSet(let expected):
                    if expected == current {
                        versions[item.key] = current + 1
                        results.append(.committed(previous: current, new: current + 1))
                    } else {
                        results.append(.conflict(current: current))
                    }
                case .put(let v):
                    versions[item.key] = max(current, v)
                    results.append(.committed(previous: current, new: max(current, v)))
                }
            }
            reply(.ok(results))
        }
    }

    private func schedule(reads: Bool, partition: Int, service: UInt64, deadline: UInt64, timeout: @escaping () -> Void, done: @escaping () -> Void) {
        let now = scheduler.now
        let p = partition % partitions.count
        let booked = reads ? readPartitions[p].admit(now: now, service: service, deadline: deadline)
                           : partitions[p].admit(now: now, service: service, deadline: deadline)
        guard let slot = booked else {
            droppedBeforeStart += 1
            scheduler.schedule(at: deadline, timeout)
            return
        }
        started += 1
        if slot.end > deadline {
            scheduler.schedule(at: deadline, timeout)
        } else {
            scheduler.schedule(at: slot.end, done)
        }
    }
}
