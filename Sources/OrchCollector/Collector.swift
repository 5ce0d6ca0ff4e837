import Dispatch
import Foundation
import Glibc
import OrchLog
import OrchMetrics
import OrchPricing
import OrchVersion
import Synchronization

/// The collector: follows source directories, aggregates their events into metric families,
/// checkpoints state and positions together, and renders the exposition for `/metrics`.
///
/// One ingest thread reads and aggregates; HTTP threads render. Both take `state`'s lock,
/// the ingest thread once per block.
public final class Collector: Sendable {
    public static let version = BuildInfo.version

    public let options: CollectorOptions
    /// The `--log.dir` set, as the checkpoint records it.
    private let logDirs: [String]
    /// The checkpoint's lock descriptor (held until exit), or -1.
    private let checkpointLock: Int32
    private let lock = NSLock()
    /// Guarded by `lock`; use `locked`.
    private let unsafeState: CollectorState
    private let stopFlag = Atomic<Bool>(false)
    private let readyFlag = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let startTime = Date().timeIntervalSince1970
    /// Maps source directories to the `source` their series carry.
    private let grouping: SourceGrouping

    /// Builds the collector and restores the checkpoint, if any.
    /// - Throws: `CollectorError` for a checkpoint that exists but cannot be used, or bad options.
    public init(options: CollectorOptions) throws {
        guard !options.logDirs.isEmpty else { throw CollectorError(.invalidArgument, "--log.dir is required") }
        guard options.checkpointInterval > 0 else { throw CollectorError(.invalidArgument, "--checkpoint.interval must be positive") }
        // The roots as the checkpoint records them (absolute, symlinks resolved), so that the
        // same logs named another way (`a/`, `./a`, a symlink) keep their read positions.
        var options = options
        options.logDirs = Checkpoint.canonical(options.logDirs)
        self.options = options
        let registry = MetricRegistry(seriesLimitPerFamily: options.seriesLimit)
        let catalog = try MetricCatalog(registry: registry, perInstance: options.perInstance,
                                        filter: try FamilyFilter(keep: options.metricsKeep, drop: options.metricsDrop))
        grouping = try SourceGrouping(pattern: options.sourceGroup)
        var pricing = PriceTable()
        if let path = options.pricingFile {
            do { pricing = try PriceTable.load(path: path) } catch { throw CollectorError(.config, error.message) }
        }
        let aggregator = Aggregator(registry: registry, catalog: catalog, trackedKeys: options.trackedKeys, pricing: pricing,
                                    trackedInvocations: options.trackedInvocations)
        let s = CollectorState(registry: registry, catalog: catalog, aggregator: aggregator)
        s.statusHistory = StatusHistory(capacity: StatusHistory.defaultCapacity, maxSources: options.statusMaxSources)
        logDirs = options.logDirs
        if let path = options.checkpointFile {
            checkpointLock = try CheckpointLock.acquire(for: path)
            Checkpoint.removeStaleTemporaries(for: path)
        } else {
            checkpointLock = -1
        }
        if let path = options.checkpointFile, !options.checkpointReset, let checkpoint = try Checkpoint.read(from: path) {
            try checkpoint.check(logDirs: logDirs, sourceGroup: options.sourceGroup, path: path)
            let result = registry.restore(checkpoint.metrics)
            if !result.ignoredFamilies.isEmpty {
                FileHandle.standardError.write(Data("orchlog-collector: checkpoint: ignored unknown families \(result.ignoredFamilies.joined(separator: ", "))\n".utf8))
            }
            aggregator.trackerState = StateTracker.unpacked(checkpoint.tracker, capacity: options.trackedKeys)
            if let open = checkpoint.invocations { aggregator.invocations.restore(open) }
            for source in checkpoint.sources {
                s.restored[source.path] = source
            }
        }
        let info = try? registry.series(catalog.buildInfo, labelValues: [Self.version, String(LogFormat.version), BuildInfo.swiftVersion, BuildInfo.revision, BuildInfo.buildDate, BuildInfo.platform])
        if let info { registry.set(info, 1) }
        unsafeState = s
    }

    /// Runs `body` with the state lock held.
    func locked<T>(_ body: (CollectorState) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(unsafeState)
    }

    /// The `--log.dir` roots that could not be listed on the last pass, and why.
    public var unreadableRoots: [String: String] { locked { $0.rootProblems } }

    /// Corrupt frames and unreadable segments found so far (torn tails are not counted here).
    public var corruptionFound: Int { locked { $0.corruptionFound } }

    /// Sources being followed.
    public var sourceCount: Int { locked { $0.readers.count } }

    /// Whether the first pass over the logs has completed (for `/-/ready`).
    public var isReady: Bool { readyFlag.load(ordering: .acquiring) }

    deinit {
        if checkpointLock >= 0 { close(checkpointLock) }
    }

    /// Asks `run` to stop after its current pass (it then writes a final checkpoint).
    public func stop() { stopFlag.store(true, ordering: .releasing) }

    /// Runs the ingest loop on the calling thread until `stop()`: discover sources, read new
    /// frames, aggregate, checkpoint every `checkpointInterval` seconds and at the end.
    ///
    /// inotify names the source directories that changed, and a pass reads only those; every
    /// source is read (and the roots listed for new sources) when inotify cannot tell, when a
    /// root changed, after a quiet `pollInterval`, and at least once a second whatever the
    /// notifications say. Passes start at most every `minPassInterval`, so that a thousand
    /// writers flushing at their own pace cost a pass per interval, not one each.
    public func run() {
        let watcher = DirectoryWatcher(paths: options.logDirs)
        var lastCheckpoint = Date().timeIntervalSince1970
        sampleStatus()  // the baseline: what the checkpoint restored, or zeros
        var changed: Set<String>? = nil  // nil: read every source
        var lastFull = 0.0
        let roots = Set(options.logDirs)
        while !stopFlag.load(ordering: .acquiring) {
            let start = Date().timeIntervalSince1970
            let full = changed.map { start - lastFull >= 1 || !$0.isDisjoint(with: roots) } ?? true
            if full { lastFull = start }
            let (busy, discovered) = ingestPass(only: full ? nil : changed)
            sampleStatusIfDue()
            readyFlag.store(true, ordering: .releasing)
            let now = Date().timeIntervalSince1970
            if now - lastCheckpoint >= options.checkpointInterval {
                checkpoint()
                lastCheckpoint = now
            }
            if discovered { watcher.refresh(locked { Array($0.readers.keys) }) }
            if busy {
                changed = nil
                continue
            }
            let rest = Self.minPassInterval - (Date().timeIntervalSince1970 - start)
            if rest > 0 { usleep(UInt32(rest * 1e6)) }
            // Woken at least once a status sample interval, so that samples are on time.
            let got = watcher.wait(timeoutMs: Int32(min(options.pollInterval, options.statusSampleInterval) * 1000))
            changed = got.flatMap { $0.isEmpty ? nil : $0 }  // a quiet timeout: read everything
        }
        checkpoint()
    }

    /// The shortest time between the starts of two passes of `run`.
    static let minPassInterval = 0.02

    /// Ingests everything currently in the logs (until caught up), for `--once` and tests.
    public func ingestAll() {
        while ingestPass().more {}
        readyFlag.store(true, ordering: .releasing)
    }

    /// The torn tails (a crash's partial last frame, no writer holding the source) the
    /// readers stand at after `ingestAll`, by source path. Reported on stderr by `--once`; not
    /// counted in any metric (the server reports one when a new writer moves on, as before).
    public func tornTails() -> [LogProblem] {
        let readers = locked { s in s.readers.sorted { $0.key < $1.key }.map(\.value.reader) }
        return readers.compactMap { $0.tornTailAtEnd() }
    }

    /// One pass: discovery, then up to a batch of frames from every source. Returns true when
    /// some source has more to read right away.
    /// One pass over the sources of `paths` (every source, after listing the roots for new ones,
    /// when nil): up to a batch of frames from each. Returns whether some source has more to
    /// read right away, and whether new sources were found.
    @discardableResult
    func ingestPass(only paths: Set<String>? = nil) -> (more: Bool, discovered: Bool) {
        let discovered = paths == nil ? discoverSources() : false
        // In path order, so that a group's sums add its instances' blocks in the same order
        // on every run over the same logs.
        let readers = locked { s in
            let chosen = paths.map { $0.compactMap { s.readers[$0] } } ?? Array(s.readers.values)
            return chosen.sorted { $0.source.path < $1.source.path }
        }
        var more = false
        for follow in readers {
            let batch = 64
            var delivered = 0
            do {
                delivered = try follow.reader.pollBlocks(maxFrames: batch) { block in
                    locked { s in
                        do {
                            try s.aggregator.ingest(block, into: follow.aggregation, instance: follow.instance)
                        } catch {
                            FileHandle.standardError.write(Data("orchlog-collector: \(error)\n".utf8))
                        }
                    }
                }
                follow.failing = false
            } catch {
                if !follow.failing {
                    FileHandle.standardError.write(Data("orchlog-collector: \(follow.source.path): \(error)\n".utf8))
                }
                follow.failing = true
            }
            locked { _ in
                follow.instance.caughtUp = delivered < batch
                follow.committed = follow.reader.position
            }
            if delivered >= batch { more = true }
        }
        return (more, discovered)
    }

    /// Finds new sources; forgets sources gone for longer than the TTL.
    /// Lists the roots for sources; returns whether new ones were found.
    private func discoverSources() -> Bool {
        var added = false
        var found: [SourceDirectory] = []
        var problems: [String: String] = [:]
        for dir in options.logDirs {
            do {
                found += try LogDirectory.sources(at: dir)
            } catch {
                problems[dir] = (error as? OrchLogError)?.message ?? "\(error)"
            }
        }
        // Each root's problem is reported once (and again only when it changes): a root may
        // appear later (the collector waits for it), but a typo should not look like success.
        locked { s in
            for (dir, message) in problems where s.rootProblems[dir] != message {
                let hint = options.once ? "" : " (still looking for it)"
                FileHandle.standardError.write(Data("orchlog-collector: --log.dir \(message)\(hint)\n".utf8))
            }
            s.rootProblems = problems
        }
        let now = Date().timeIntervalSince1970
        locked { s in
            for source in found where s.readers[source.path] == nil {
                let group = grouping.group(of: source)
                guard let aggregation = try? s.aggregator.source(group),
                      let instance = try? aggregation.instance(name: source.name, path: source.path, s.aggregator) else { continue }
                let restored = s.restored[source.path]
                let reader = SourceReader(source: source, from: restored?.position ?? LogPosition(), buffers: s.readBuffers)
                if let restored {
                    instance.lastEventTs = restored.lastEventTs
                    Checkpoint.restore(restored.gauges ?? [], into: instance, registry: s.registry)
                }
                let follow = SourceFollow(source: source, reader: reader, aggregation: aggregation, instance: instance)
                follow.committed = reader.position
                reader.onProblem = { [weak self] problem in
                    FileHandle.standardError.write(Data("orchlog-collector: \(problem.kind.rawValue): \(problem.description)\n".utf8))
                    // Called from inside poll on the ingest thread, outside the state lock.
                    self?.locked { s in
                        s.aggregator.problem(problem, instance: instance)
                        if problem.kind == .corrupt || problem.kind == .badSegment { s.corruptionFound += 1 }
                    }
                }
                s.readers[source.path] = follow
                added = true
            }
            let present = Set(found.map(\.path))
            for (path, follow) in s.readers {
                if present.contains(path) {
                    follow.missingSince = nil
                } else if let since = follow.missingSince {
                    if now - since >= options.sourceTTL {
                        s.readers[path] = nil
                        s.restored[path] = nil
                        if !s.readers.values.contains(where: { $0.aggregation === follow.aggregation }) {
                            s.aggregator.remove(source: follow.aggregation.name)
                        } else {
                            follow.aggregation.removeInstance(path: path)
                        }
                    }
                } else {
                    follow.missingSince = now
                }
            }
        }
        return added
    }

    /// Writes the checkpoint (if configured). Failures are reported and counted; the
    /// collector keeps serving. Returns false when it could not be written.
    @discardableResult
    public func checkpoint() -> Bool {
        guard let path = options.checkpointFile else { return true }
        let checkpoint: Checkpoint = locked { s in
            var sources = s.readers.values.map { f in
                Checkpoint.Source(name: f.source.name, path: f.source.path, position: f.committed, lastEventTs: f.instance.lastEventTs,
                                  gauges: Checkpoint.gauges(of: f.instance, registry: s.registry))
            }
            // Sources known from an earlier checkpoint but not (yet) seen again keep their place.
            for (path, restored) in s.restored where s.readers[path] == nil { sources.append(restored) }
            return Checkpoint(version: Checkpoint.currentVersion, writtenAt: Date().timeIntervalSince1970, logDirs: logDirs,
                              sourceGroup: options.sourceGroup ?? "", sources: sources,
                              metrics: s.registry.snapshot(), tracker: s.aggregator.trackerState.packed(),
                              invocations: s.aggregator.invocations.packed())
        }
        do {
            try checkpoint.write(to: path)
            locked { s in
                if let h = try? s.registry.series(s.catalog.checkpointWrites, labelValues: []) { s.registry.increment(h) }
                if let h = try? s.registry.series(s.catalog.lastCheckpoint, labelValues: []) { s.registry.set(h, checkpoint.writtenAt) }
                s.lastCheckpointError = nil
            }
            return true
        } catch {
            let message = "\(error)"
            let first = locked { s -> Bool in
                if let h = try? s.registry.series(s.catalog.checkpointErrors, labelValues: []) { s.registry.increment(h) }
                defer { s.lastCheckpointError = message }
                return s.lastCheckpointError != message
            }
            if first { FileHandle.standardError.write(Data("orchlog-collector: checkpoint failed: \(message)\n".utf8)) }
            return false
        }
    }

    /// Renders the exposition (self-metrics refreshed first).
    public func render(format: ExpositionFormat) -> [UInt8] {
        let started = DispatchTime.now().uptimeNanoseconds
        var out: [UInt8] = []
        let process = ProcessStats.read()
        locked { s in
            let r = s.registry, c = s.catalog
            let now = Date().timeIntervalSince1970
            // Instances of a group share these series unless `--metrics.per-instance`: the
            // group's last event is its instances' latest, its lag their largest.
            var lastEvent: [SeriesHandle: Double] = [:], lag: [SeriesHandle: Double] = [:]
            for follow in s.readers.values {
                let i = follow.instance
                let lastTs = Double(i.lastEventTs) / 1e9
                lastEvent[i.own.lastEvent] = max(lastEvent[i.own.lastEvent] ?? 0, lastTs)
                lag[i.own.lag] = max(lag[i.own.lag] ?? 0, i.caughtUp || i.lastEventTs == 0 ? 0 : max(0, now - lastTs))
            }
            for (h, v) in lastEvent { r.set(h, v) }
            for (h, v) in lag { r.set(h, v) }
            func set(_ f: MetricFamilyID, _ v: Double) { if let h = try? r.series(f, labelValues: []) { r.set(h, v) } }
            set(c.processCPU, process.cpuSeconds)
            set(c.processResident, process.residentBytes)
            set(c.processVirtual, process.virtualBytes)
            set(c.processFDs, process.openFDs)
            set(c.processMaxFDs, process.maxFDs)
            set(c.processStart, startTime)
            set(c.sources, Double(s.readers.count))
            set(c.scrapeDuration, s.lastScrapeSeconds)
            for family in r.families {
                guard let id = r.family(named: family.name) else { continue }
                let dropped = r.droppedSeries(id)
                if dropped > 0, let h = try? r.series(c.seriesDropped, labelValues: [r.family(id).name]) { r.set(h, Double(dropped)) }
            }
            set(c.series, Double(r.seriesCount))
            r.render(format: format, into: &out)
            s.lastScrapeSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        }
        return out
    }

    /// Per-source reader status for the status page.
    public func sourceStatus() -> [(name: String, path: String, lastEventTs: UInt64, position: LogPosition)] {
        locked { s in
            s.readers.values.map { ($0.source.name, $0.source.path, $0.instance.lastEventTs, $0.committed) }.sorted { $0.name < $1.name }
        }
    }
}

/// Mutable collector state. `@unchecked Sendable`: every access goes through
/// `Collector.locked`, which holds the collector's lock.
final class CollectorState: @unchecked Sendable {
    let registry: MetricRegistry
    let catalog: MetricCatalog
    let aggregator: Aggregator
    var readers: [String: SourceFollow] = [:]
    /// Every reader's frame buffers and decoder: one set, as one thread reads them in turn.
    let readBuffers = ReadBuffers()
    var restored: [String: Checkpoint.Source] = [:]
    var lastCheckpointError: String?
    var lastScrapeSeconds: Double = 0
    /// Per `--log.dir` root that cannot be listed (missing, not a directory, unreadable): why.
    var rootProblems: [String: String] = [:]
    /// Corrupt frames and unreadable segments met so far (`--once` exits 1 when any).
    var corruptionFound = 0
    /// The status page's samples (`Collector+Status`).
    var statusHistory = StatusHistory()
    /// When the last status sample was taken (seconds since the epoch; 0 before the first).
    var lastStatusSample: Double = 0

    init(registry: MetricRegistry, catalog: MetricCatalog, aggregator: Aggregator) {
        self.registry = registry
        self.catalog = catalog
        self.aggregator = aggregator
    }
}

/// One followed source. Mutated by the ingest thread; `committed` is read under the state lock.
/// `@unchecked Sendable`: the reader is used by the ingest thread only; other fields under the lock.
final class SourceFollow: @unchecked Sendable {
    let source: SourceDirectory
    let reader: SourceReader
    /// The source (group) its series belong to, and its own state in it.
    let aggregation: SourceAggregation
    let instance: InstanceAggregation
    var committed = LogPosition()
    var missingSince: Double?
    var failing = false

    init(source: SourceDirectory, reader: SourceReader, aggregation: SourceAggregation, instance: InstanceAggregation) {
        self.source = source
        self.reader = reader
        self.aggregation = aggregation
        self.instance = instance
    }
}
