import Dispatch
import Foundation
import OrchLog
import OrchReference
import Synchronization

/// `reference-orchestrator --live`: sets up the state store (the given servers, or
/// throwaway ones), the event log and the live orchestrator, runs the scenario in wall-clock
/// time and returns its summary, with the store's own ground truth on lost updates.
public enum LiveRunner {
    /// Runs `options.scenario` live. `shouldStop` (SIGINT/SIGTERM) ends the run early.
    /// - Throws: `ReferenceError` (usage) for bad live flags; `LiveError` when a store or
    ///   server cannot be set up; `OrchLogError` when the log cannot be opened.
    @Sendable
    public static func run(_ options: RunOptions, shouldStop: @escaping @Sendable () -> Bool) throws -> RunSummary {
        guard let scenario = Scenario.named(options.scenario) else { throw ReferenceError(.usage, "unknown scenario \(options.scenario)") }
        guard scenario.runsLive else {
            throw ReferenceError(.usage, "scenario \(scenario.name) runs in simulation only (its fault or configuration has no live counterpart); drop --live")
        }
        let speed: Double
        if case .factor(let k) = options.pacing { speed = k } else { speed = 1 }
        let wallSeconds = options.durationSeconds ?? 60
        let rate = options.invocationsPerDay ?? scenario.defaultInvocationsPerDay
        var setup = scenario.setup(invocationsPerDay: rate, durationSeconds: wallSeconds * speed,
                                   faultStartSeconds: options.faultStartSeconds, faultDurationSeconds: options.faultDurationSeconds)
        if let h = options.startHour { setup.workload.startHour = h }
        if options.flatProfile { setup.workload.hourlyProfile = Array(repeating: 1, count: 24) }
        if let x = options.latencyScale { setup.world.latencyScale = x }
        if let m = options.llmModel { setup.world.llm.model = m }
        setup.pricing = try options.pricing()
        for name in options.naive { _ = setup.config.components.set(name, to: false) }
        for name in options.protect { _ = setup.config.components.set(name, to: true) }

        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let servers = LiveServers()
        defer { servers.stopAll() }
        // A store command's timeout: the scenario's write timeout ÷ K, but never under 1 s —
        // a real server's latency does not shrink with K, and a reply lost to a timeout
        // leaves the outcome of a write unknown to the orchestrator (though not to the store).
        let timeoutMs = max(1_000, Int(setup.config.writeTimeoutSeconds / speed * 1_000))
        let made = Result { () throws(LiveError) -> any LiveStateStore in
            let store = try makeStore(options, setup: setup, scratch: scratch, servers: servers, timeoutMs: timeoutMs)
            try store.reset()
            return store
        }
        let store: any LiveStateStore
        switch made {
        case .success(let s): store = s
        case .failure(let e): throw e.code == .usage ? ReferenceError(.usage, e.message) : e
        }

        // guide:begin live-open-log
        let sourceName = options.source ?? scenario.name
        var log: EventLog?
        if !options.noLog, let out = options.out {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw ReferenceError(.failure, "cannot create \(out): \(error.localizedDescription)")
            }
            log = try EventLog(directory: out + "/" + sourceName)
        }
        // guide:end live-open-log
        var toolURL = options.toolURL, llmURL = options.llmURL
        if toolURL == nil || llmURL == nil {
            let backends = try ManagedBackends(directory: scratch, speed: speed, seed: options.seed &+ 0x2222, world: setup.world)
            servers.add { backends.stop() }
            toolURL = toolURL ?? backends.url
            llmURL = llmURL ?? backends.url + "/v1"
        }
        let llmKeys = options.llmKeys.isEmpty ? setup.world.llm.keys.map(\.alias) : options.llmKeys
        let orchestrator = LiveOrchestrator(setup: setup, store: store, speed: speed, seed: options.seed, log: log, toolURL: toolURL,
                                            llmURL: llmURL, llmKeys: llmKeys)
        let threads = max(1, setup.config.poolSize) + max(1, setup.config.shards) + 4
        let executor = ThreadPoolExecutor(threads: threads, name: "agent")
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let completed = blockingAwait {
            await orchestrator.run(wallSeconds: wallSeconds, executor: executor, shouldStop: shouldStop)
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        executor.shutdown()
        let truth = try store.totalTruth()
        // guide:begin live-close-log
        log?.close()  // flushes what is buffered and syncs
        if let stats = log?.stats, stats.dropped > 0 {
            FileHandle.standardError.write(Data("reference-orchestrator: warning: the event log dropped \(stats.dropped) events (\(stats.lastError ?? "buffer full"))\n".utf8))
        }
        // guide:end live-close-log
        var summary = LiveSummary.make(orchestrator, truth: truth, wallSeconds: wall, interrupted: !completed)
        summary.scenario = scenario.name
        summary.source = options.noLog ? "" : sourceName
        summary.seed = options.seed
        summary.invocationsPerDay = rate
        summary.events = log?.stats.nextSequence ?? 0
        return summary
    }

    private static func makeStore(_ options: RunOptions, setup: RunSetup, scratch: String, servers: LiveServers,
                                  timeoutMs: Int) throws(LiveError) -> any LiveStateStore {
        if options.stateStore == "postgres" {
            let dsn: String
            if let given = options.postgresDSN {
                dsn = given
            } else {
                let cluster = try ManagedPostgres(directory: scratch + "/postgres")
                servers.add { cluster.stop() }
                dsn = cluster.dsn
            }
            return try PostgresStateStore(dsn: dsn, statementTimeoutMs: timeoutMs)
        }
        var endpoints = try options.redisURLs.map { url throws(LiveError) in try RedisEndpoint(url: url) }
        if endpoints.isEmpty {
            // One server per shard of the write-back cache (one without it).
            let count = setup.config.components.writeBackCache ? max(1, setup.config.shards) : 1
            for i in 0..<count {
                let server = try ManagedRedis(directory: scratch + "/redis-\(i)")
                servers.add { server.stop() }
                endpoints.append(server.endpoint)
            }
        }
        return try RedisStateStore(endpoints: endpoints, timeoutMs: timeoutMs)
    }

    /// A fresh directory for throwaway servers (searchable by the unprivileged user
    /// PostgreSQL runs as).
    private static func scratchDirectory() throws(LiveError) -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/orchlive-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LiveError(.process, "cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }

    /// Runs `body` to completion from synchronous code (the CLI's thread waits).
    private static func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}

/// Servers a live run started, stopped at its end in reverse order.
final class LiveServers: Sendable {
    private let stops = Mutex<[@Sendable () -> Void]>([])

    func add(_ stop: @escaping @Sendable () -> Void) { stops.withLock { $0.append(stop) } }

    func stopAll() {
        let all = stops.withLock { s in defer { s.removeAll() }; return s }
        for stop in all.reversed() { stop() }
    }
}
