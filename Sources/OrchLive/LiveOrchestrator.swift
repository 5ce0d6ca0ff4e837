import Foundation
import OrchLog
import OrchReference
import Synchronization

/// The reference orchestrator, live: the simulated orchestrator's components and scenario
/// setup running for real. Arrivals follow the scenario's workload (rates × K), a request
/// queue (bounded, with retry-after, when the scenario says so) feeds a pool of agent
/// instances, each a task of a task group on a pool of real threads, whose state reads and
/// writes go to a real store (`LiveStateLayer`) and whose LLM and tool calls take the
/// world's latencies ÷ K (`TimedBackends`). Every component logs from whatever thread it
/// runs on.
final class LiveOrchestrator: Sendable {
    let setup: RunSetup
    let config: OrchestratorConfig
    let clock: LiveClock
    let log: EventLog?
    let counters: LiveCounters
    let state: LiveStateLayer
    let backends: TimedBackends
    let queue: LiveRequestQueue
    private let seed: UInt64
    private let labels = Mutex<[String: Label]>([:])
    private let agentLabels: [Label]
    private let queueLabel: Label
    private let poolLabel: Label
    private let rejectFull: Label
    private let rejectBackpressure: Label
    private let nextID = Atomic<UInt64>(1)
    private let busy = Atomic<Int>(0)
    /// Wall-clock ns the run started; nil before.
    private let startNs = Mutex<UInt64>(0)
    private let accepting = Atomic<Bool>(true)

    init(setup: RunSetup, store: any LiveStateStore, speed: Double, seed: UInt64, log: EventLog?, toolURL: String?,
         llmURL: String?, llmKeys: [String]) {
        self.setup = setup
        config = setup.config
        clock = LiveClock(speed: speed)
        self.log = log
        self.seed = seed
        counters = LiveCounters(pricing: setup.pricing)
        state = LiveStateLayer(store: store, config: setup.config, clock: clock, log: log, counters: counters)
        backends = TimedBackends(world: setup.world, config: setup.config, clock: clock, log: log, counters: counters, seed: seed &+ 0x1111,
                                 toolURL: toolURL, llmURL: llmURL, llmKeys: llmKeys)
        queue = LiveRequestQueue(capacity: setup.config.components.boundedQueue ? setup.config.queueCapacity : nil)
        // guide:begin live-labels
        func label(_ s: String) -> Label { log?.label(s) ?? Label(id: 0) }
        agentLabels = setup.workload.agents.map { label($0.name) }
        queueLabel = label("requests")
        poolLabel = label("agents")
        rejectFull = label("queue_full")
        rejectBackpressure = label("llm_backpressure")
        // guide:end live-labels
    }

    /// The label of agent `i`.
    func agentLabel(_ i: Int) -> Label { agentLabels[i] }

    // guide:begin live-key-labels
    /// The label of a state key (interned once).
    func keyLabel(_ name: String) -> Label {
        guard let log else { return Label(id: 0) }
        if let l = labels.withLock({ $0[name] }) { return l }
        let l = log.label(name)
        labels.withLock { $0[name] = l }
        return l
    }
    // guide:end live-key-labels

    /// Nanoseconds of scenario time since the run started (wall-clock × K).
    func simulatedNs() -> UInt64 {
        let start = startNs.withLock { $0 }
        return UInt64(Double(clock.nowNs() &- start) * clock.speed)
    }

    // MARK: running

    /// Runs for `wallSeconds` of wall-clock time (or until `shouldStop`), then lets the
    /// running invocations finish (up to their deadline), flushes the write-back cache and
    /// returns whether it ran to the end. `executor` runs the agents and flushers.
    func run(wallSeconds: Double, executor: ThreadPoolExecutor, shouldStop: @escaping @Sendable () -> Bool) async -> Bool {
        startNs.withLock { $0 = clock.nowNs() }
        let endNs = clock.nowNs() + UInt64(wallSeconds * 1e9)
        state.start(on: executor)
        var completed = true
        await withTaskExecutorPreference(executor) {
            await withTaskGroup(of: Void.self) { group in
                for instance in 0..<max(1, config.poolSize) {
                    group.addTask { [self] in await agentLoop(instance) }
                }
                let arrivals = Task(executorPreference: executor) { [self] in await arrivalLoop() }
                let sampler = Task(executorPreference: executor) { [self] in await sampleLoop() }
                let faults = Task(executorPreference: executor) { [self] in await scriptFaults() }
                while clock.nowNs() < endNs {
                    if shouldStop() {
                        completed = false
                        break
                    }
                    try? await Task.sleep(nanoseconds: min(50_000_000, endNs &- clock.nowNs()))
                }
                accepting.store(false, ordering: .releasing)
                arrivals.cancel()
                sampler.cancel()
                faults.cancel()
                await arrivals.value
                await sampler.value
                await faults.value
                queue.close()
                await group.waitForAll()
            }
        }
        sample()
        _ = await state.finish(timeoutNs: max(clock.ns(simulatedSeconds: config.flushTimeoutSeconds) * 3, 5_000_000_000))
        return completed
    }

    private func agentLoop(_ instance: Int) async {
        while let inv = await queue.next() {
            await run(inv, instance: instance)
        }
    }

    // MARK: arrivals

    private func arrivalLoop() async {
        let w = setup.workload
        var rng = RandomSource(seed: seed)
        let popularity = ZipfDistribution(count: max(1, w.accounts), exponent: w.accountSkew)
        let peakBursts = w.peakRate / max(1, w.meanBurst)
        guard peakBursts > 0 else { return }
        let hotKeys = setup.world.faults.filter { if case .hotKey = $0.kind { return true } else { return false } }
        await withTaskGroup(of: Void.self) { bursts in
            var t = 0.0  // scenario seconds since the start
            while !Task.isCancelled {
                // Thinning: candidates at the peak rate, accepted in proportion to the current rate.
                t += rng.exponential(mean: 1 / peakBursts)
                let rate = w.rate(atSecondOfDay: w.startHour * 3600 + t) / max(1, w.meanBurst)
                guard rng.chance(rate / peakBursts) else { continue }
                let wait = Double(UInt64(t * 1e9) &- min(UInt64(t * 1e9), simulatedNs())) / 1e9
                await clock.sleep(simulatedSeconds: wait)
                if Task.isCancelled { break }
                var size = 1
                while rng.chance(1 - 1 / max(1, w.meanBurst)) && size < 50 { size += 1 }
                let now = simulatedNs()
                var share = 0.0
                for f in hotKeys where f.active(at: now) { if case .hotKey(let s) = f.kind { share = max(share, s) } }
                for _ in 0..<size {
                    let offset = rng.uniform() * w.burstSpreadSeconds
                    var inv = LiveInvocation.draw(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, workload: w,
                                                  toolIndex: backends.toolIndex, popularity: popularity, hotAccountShare: share,
                                                  at: clock.nowNs(), rng: &rng)
                    inv.resubmissionsLeft = config.callerResubmissions
                    bursts.addTask { [self] in
                        await clock.sleep(simulatedSeconds: offset)
                        guard accepting.load(ordering: .acquiring) else { return }
                        counters.update { $0.arrived += 1 }
                        await submit(inv)
                    }
                }
            }
            bursts.cancelAll()
        }
    }

    /// Offers `inv` to the queue; a refused caller retries after the retry-after it was
    /// given, up to `callerAttempts` submissions.
    private func submit(_ first: LiveInvocation) async {
        var inv = first
        while accepting.load(ordering: .acquiring) {
            inv.submissions += 1
            inv.enqueuedAt = clock.nowNs()
            let backpressure = config.components.rateLimiter
                && (backends.httpLLM?.waiting.load(ordering: .relaxed) ?? 0) >= config.limiterBackpressureWaiting
            if !backpressure && queue.offer(inv) {
                let depth = queue.depth
                counters.update { $0.maxQueueDepth = max($0.maxQueueDepth, depth) }
                return
            }
            let drain = Double(queue.depth + 1) * 20 / Double(max(1, config.poolSize))
            let retryAfter = min(max(drain, config.minRetryAfterSeconds), config.maxRetryAfterSeconds)
            // guide:begin live-rejection
            let now = clock.nowNs()
            counters.update { $0.queueRejections += 1 }
            log?.emit(.queueRejection(queue: queueLabel, reason: backpressure ? rejectBackpressure : rejectFull, retryAfterNs: clock.ns(simulatedSeconds: retryAfter)), at: now)
            // guide:end live-rejection
            if inv.submissions >= config.callerAttempts {
                finish(inv, .rejected, reason: "rejected", startedAt: nil)
                return
            }
            await clock.sleep(simulatedSeconds: retryAfter)
            if Task.isCancelled { return }
        }
    }

    /// The caller sends a failed invocation again, as a new invocation with the same work.
    func resubmit(_ inv: LiveInvocation) {
        guard accepting.load(ordering: .acquiring) else { return }
        var again = LiveInvocation(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, agent: inv.agent, plan: inv.plan,
                                   account: inv.account, arrivedAt: clock.nowNs())
        again.resubmissionsLeft = inv.resubmissionsLeft - 1
        Task { [self] in
            await clock.sleep(simulatedSeconds: config.callerRetryDelaySeconds)
            guard accepting.load(ordering: .acquiring) else { return }
            counters.update { $0.resubmitted += 1 }
            await submit(again)
        }
    }

    // MARK: invocations

    // guide:begin live-invocations
    func started(_ inv: LiveInvocation) -> UInt64 {
        let now = clock.nowNs()
        let n = busy.wrappingAdd(1, ordering: .relaxed).newValue
        counters.update {
            $0.started += 1
            $0.running += 1
            $0.maxBusy = max($0.maxBusy, n)
            $0.queueWaitTotalNs &+= now &- inv.enqueuedAt
        }
        if let log {
            log.emit(.invocationStarted(agent: agentLabels[inv.agent], invocationID: inv.id, traceID: TraceID.make(seed: seed, invocation: inv.id)), at: now)
        }
        counters.update { $0.book.started(inv.id) }
        return now
    }

    /// Ends an invocation with `outcome` (started at `startedAt`, nil if it never ran).
    func finish(_ inv: LiveInvocation, _ outcome: InvocationOutcome, reason: String, startedAt: UInt64?) {
        let now = clock.nowNs()
        let duration = startedAt.map { now &- $0 } ?? 0
        let wait = startedAt.map { $0 &- inv.enqueuedAt } ?? 0
        if startedAt != nil { busy.wrappingSubtract(1, ordering: .relaxed) }
        counters.update {
            switch outcome {
            case .success: $0.success += 1
            case .failure: $0.failure += 1; $0.failureReasons[reason, default: 0] += 1
            case .rejected: $0.rejected += 1
            case .timeout: $0.timeout += 1; $0.failureReasons[reason, default: 0] += 1
            }
            if startedAt != nil {
                $0.running -= 1
                $0.durationTotalNs &+= duration
                $0.busyTimeNs += Double(duration)
            }
        }
        log?.emit(.invocationFinished(agent: agentLabels[inv.agent], outcome: outcome, durationNs: duration, queueWaitNs: wait,
                                      invocationID: inv.id, queue: queueLabel), at: now)
        counters.update { $0.book.finished(inv.id, agent: setup.workload.agents[inv.agent].name) }
        if (outcome == .failure || outcome == .timeout) && inv.resubmissionsLeft > 0 { resubmit(inv) }
    }
    // guide:end live-invocations

    // MARK: faults

    /// Scripts the scenario's tool faults on the real backends at their times (scenario
    /// time ÷ K); the backends end them themselves.
    private func scriptFaults() async {
        let tools = backends.httpTools
        for fault in setup.world.faults.sorted(by: { $0.fromNs < $1.fromNs }) {
            let json: String
            let seconds = Double(fault.toNs &- fault.fromNs) / 1e9 / clock.speed
            switch fault.kind {
            case .toolHang(let t): json = #"{"fault":"tool_hang","tool":"\#(t)","seconds":\#(seconds)}"#
            case .toolDown(let t): json = #"{"fault":"tool_down","tool":"\#(t)","seconds":\#(seconds)}"#
            case let .toolSlow(t, f): json = #"{"fault":"tool_slow","tool":"\#(t)","factor":\#(f),"seconds":\#(seconds)}"#
            case let .llmQuotaCut(_, f): json = #"{"fault":"llm_quota_cut","fraction":\#(f),"seconds":\#(seconds)}"#
            case .storeSlow(let f):
                let wait = Double(fault.fromNs &- min(fault.fromNs, simulatedNs())) / 1e9
                await clock.sleep(simulatedSeconds: wait)
                await slowStore(factor: f, untilScenarioNs: fault.toNs)
                continue
            default: continue
            }
            let wait = Double(fault.fromNs &- min(fault.fromNs, simulatedNs())) / 1e9
            await clock.sleep(simulatedSeconds: wait)
            if Task.isCancelled { return }
            guard let tools else { continue }
            if !tools.postFault(json) {
                FileHandle.standardError.write(Data("reference-orchestrator: warning: could not script the fault \(json)\n".utf8))
            }
        }
    }

    /// The memory slowdown on the real store, writes blocked for 1 − 1/`factor` of each
    /// period (reads go on) until the fault ends: on Redis, `CLIENT PAUSE … WRITE` on every
    /// server (100 ms periods); on PostgreSQL, a lock holder (`LOCK TABLE … IN EXCLUSIVE
    /// MODE` through `pg_sleep`) on a connection of its own (2 s periods: PostgreSQL lets
    /// every queued writer through between two holds, so holds shorter than the store's
    /// 1 s lock timeout would only delay the flushes; longer ones time some out).
    private func slowStore(factor: Double, untilScenarioNs end: UInt64) async {
        guard factor > 1 else { return }
        if let pg = state.store as? PostgresStateStore {
            let periodMs = 2_000.0
            let pauseMs = Int(periodMs * (1 - 1 / factor))
            guard let holder = try? PostgresConnection(dsn: pg.dsn) else {
                FileHandle.standardError.write(Data("reference-orchestrator: warning: no connection for the store slowdown's lock holder\n".utf8))
                return
            }
            while !Task.isCancelled && simulatedNs() < end {
                let cycle = clock.nowNs()
                try? pg.holdWriteLock(on: holder, milliseconds: pauseMs)
                let spent = clock.nowNs() &- cycle
                try? await Task.sleep(nanoseconds: UInt64(periodMs * 1e6) &- min(UInt64(periodMs * 1e6) - 1_000_000, spent))
            }
            return
        }
        guard let redis = state.store as? RedisStateStore else { return }
        let periodMs = 100.0
        let pauseMs = Int(periodMs * (1 - 1 / factor))
        let connections = redis.endpoints.compactMap { try? RedisConnection($0, timeoutMs: 2_000) }
        while !Task.isCancelled && simulatedNs() < end {
            for c in connections { _ = try? c.command(["CLIENT", "PAUSE", String(pauseMs), "WRITE"]) }
            try? await Task.sleep(nanoseconds: UInt64(periodMs * 1e6))
        }
        for c in connections { _ = try? c.command(["CLIENT", "UNPAUSE"]) }
    }

    // MARK: sampling

    private func sampleLoop() async {
        while !Task.isCancelled {
            await clock.sleep(simulatedSeconds: max(0.01, config.sampleIntervalSeconds))
            if Task.isCancelled { return }
            sample()
        }
    }

    // guide:begin live-sample
    private func sample() {
        let now = clock.nowNs()
        let (depth, oldestAt, enqueued) = queue.sampleAndReset()
        log?.emit(.queueSample(queue: queueLabel, depth: UInt64(depth), capacity: UInt64(queue.capacity ?? 0),
                               oldestAgeNs: oldestAt.map { now &- $0 } ?? 0, enqueued: UInt64(enqueued)), at: now)
        counters.update { $0.queueEnqueued += enqueued }
        backends.httpLLM?.sample()
        log?.emit(.workerPoolSample(pool: poolLabel, busy: UInt64(max(0, busy.load(ordering: .relaxed))), size: UInt64(config.poolSize)), at: now)
    }
    // guide:end live-sample
}
