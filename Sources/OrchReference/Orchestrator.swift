import Foundation
import OrchLog
import OrchPricing

/// Everything a run needs: the orchestrator's configuration, the simulated world and the
/// workload.
public struct RunSetup: Sendable, Equatable {
    /// The orchestrator's components and sizing, the simulated backends, the offered load.
    public var config: OrchestratorConfig
    public var world: WorldConfig
    public var workload: Workload
    /// LLM prices for the summary's cost (`--pricing.file`; none: every token unpriced).
    public var pricing = PriceTable()

    /// A setup from its three parts.
    public init(config: OrchestratorConfig, world: WorldConfig, workload: Workload, pricing: PriceTable = PriceTable()) {
        self.config = config
        self.world = world
        self.workload = workload
        self.pricing = pricing
    }
}

/// Where a run stands, for progress display.
public struct RunProgress: Sendable {
    /// Simulated seconds done and planned.
    public var simulatedSeconds: Double
    public var totalSeconds: Double
    /// Invocations finished so far, queued now, and agent instances busy now.
    public var finished: Int
    public var queueDepth: Int
    public var busyWorkers: Int
}

/// The reference orchestrator: request queue, worker pool of agent instances, sharded
/// versioned state with a write-back cache, tools behind circuit breakers, and a
/// token-bucket LLM request queue, running against simulated backends in simulated time
/// and reporting every step to an `EventLog`.
public final class Orchestrator {
    let setup: RunSetup
    let config: OrchestratorConfig
    let scheduler = Scheduler()
    let telemetry: Telemetry
    let counters = Counters()
    let seed: UInt64
    private var rng: RandomSource

    let provider: SimulatedLLMProvider
    let tools: SimulatedTools
    let store: SimulatedBackingStore
    let state: StateLayer
    let toolClient: ToolClient
    let llm: LLMClient

    // Request queue and pool.
    var queue: [Invocation] = []
    var queueHead = 0
    var freeInstances: [Int]
    var busy = 0
    private var busySince: UInt64 = 0
    var avgServiceNs = 20e9
    private var nextID: UInt64 = 1
    private var running = 0

    // Labels.
    let queueLabel: Label
    let poolLabel: Label
    let agentLabels: [Label]
    let rejectReasons: (full: Label, backpressure: Label)
    private var keyLabels: [Label?]
    private let toolIndex: [String: Int]
    private let accountPopularity: ZipfDistribution
    private let hotKeyFaults: [Fault]
    /// Faults that reshape plans (agent loops, prompt bloat) and that stall the pool.
    private let planFaults: [Fault]
    private let stallFaults: [Fault]
    private var durationNs: UInt64 = 0
    /// Requests accepted into the queue since the last `queue_sample`.
    private var enqueuedSinceSample: UInt64 = 0

    /// Builds an orchestrator for `setup`. With `log == nil` nothing is recorded (the
    /// uninstrumented baseline); `epochNs` is the Unix time (ns) of simulated time 0.
    public init(setup: RunSetup, seed: UInt64, log: EventLog?, epochNs: UInt64) {
        self.setup = setup
        config = setup.config
        self.seed = seed
        rng = RandomSource(seed: seed)
        let telemetry = Telemetry(log: log, scheduler: scheduler, epochNs: epochNs)
        self.telemetry = telemetry
        let faults = setup.world.faults
        let scale = max(0, setup.world.latencyScale)
        provider = SimulatedLLMProvider(config: setup.world.llm, faults: faults, scheduler: scheduler, seed: seed &+ 0x1111, latencyScale: scale)
        tools = SimulatedTools(configs: setup.world.tools, faults: faults, scheduler: scheduler, seed: seed &+ 0x2222, latencyScale: scale)
        let shardCount = config.components.writeBackCache ? max(1, config.shards) : 1
        store = SimulatedBackingStore(config: setup.world.store, partitions: shardCount, faults: faults, scheduler: scheduler, seed: seed &+ 0x3333,
                                      latencyScale: scale)
        state = StateLayer(config: config, store: store, scheduler: scheduler, telemetry: telemetry, counters: counters)
        toolClient = ToolClient(config: config, tools: setup.world.tools, backend: tools, scheduler: scheduler, telemetry: telemetry, counters: counters)
        let llm = LLMClient(config: config, model: setup.world.llm.model, backend: provider, scheduler: scheduler, telemetry: telemetry, counters: counters,
                            pricing: setup.pricing)
        for (i, key) in setup.world.llm.keys.enumerated() {
            llm.configureKey(i, rpm: config.limiterKeyRPM ?? key.rpm, tpm: key.tpm, burstSeconds: setup.world.llm.burstSeconds)
        }
        self.llm = llm
        freeInstances = Array((0..<max(1, config.poolSize)).reversed())
        queueLabel = telemetry.label("requests")
        poolLabel = telemetry.label("agents")
        agentLabels = setup.workload.agents.map { telemetry.label($0.name) }
        rejectReasons = (telemetry.label("queue_full"), telemetry.label("llm_backpressure"))
        keyLabels = Array(repeating: nil, count: max(1, setup.workload.accounts) + max(1, config.poolSize))
        var index: [String: Int] = [:]
        for (i, t) in setup.world.tools.enumerated() { index[t.name] = i }
        toolIndex = index
        accountPopularity = ZipfDistribution(count: max(1, setup.workload.accounts), exponent: setup.workload.accountSkew)
        hotKeyFaults = faults.filter { if case .hotKey = $0.kind { return true } else { return false } }
        planFaults = faults.filter {
            switch $0.kind {
            case .agentLoop, .promptBloat: true
            default: false
            }
        }
        stallFaults = faults.filter { if case .poolStall = $0.kind { return true } else { return false } }
    }

    /// Runs `durationSeconds` of simulated time and returns what happened. Work still queued
    /// or running at the end is reported as such, not as an outcome. Call once per
    /// orchestrator. `shouldStop` (checked about every 100 ms of wall time) ends the run early.
    public func run(durationSeconds: Double, pacing: Pacing = .maxSpeed, shouldStop: () -> Bool = { false },
                    progress: (RunProgress) -> Void = { _ in }) -> RunSummary {
        let wallStart = DispatchTime.now().uptimeNanoseconds
        durationNs = UInt64(max(0, durationSeconds) * 1e9)
        scheduleArrival(after: 0)
        scheduleSample()
        // A stalled pool takes work again when the stall ends.
        for fault in stallFaults where fault.toNs < durationNs { scheduler.schedule(at: fault.toNs) { [self] in dispatch() } }
        let completed = scheduler.run(until: durationNs, pacing: pacing, shouldStop: shouldStop) { [self] now in
            progress(RunProgress(simulatedSeconds: Double(now) / 1e9, totalSeconds: durationSeconds, finished: finishedCount,
                                 queueDepth: queueDepth, busyWorkers: busy))
        }
        sample()
        accountBusy()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        return RunSummary(orchestrator: self, simulatedSeconds: Double(scheduler.now) / 1e9, wallSeconds: wall, interrupted: !completed)
    }

    var finishedCount: Int { counters.success + counters.failure + counters.rejected + counters.timeout }
    var queueDepth: Int { queue.count - queueHead }
    var runningCount: Int { running }

    // MARK: arrivals

    private func scheduleArrival(after delay: UInt64) {
        let w = setup.workload
        let peakBursts = w.peakRate / max(1, w.meanBurst)
        guard peakBursts > 0 else { return }
        // Thinning: candidates at the peak rate, accepted in proportion to the current rate.
        var t = scheduler.now &+ delay
        while true {
            t &+= UInt64(rng.exponential(mean: 1 / peakBursts) * 1e9)
            if t >= durationNs { return }
            let rate = w.rate(atSecondOfDay: w.startHour * 3600 + Double(t) / 1e9) / max(1, w.meanBurst)
            if rng.chance(rate / peakBursts) { break }
        }
        scheduler.schedule(at: t) { [self] in
            var size = 1
            while rng.chance(1 - 1 / max(1, w.meanBurst)) && size < 50 { size += 1 }
            for _ in 0..<size {
                let offset = UInt64(rng.uniform() * w.burstSpreadSeconds * 1e9)
                let inv = makeInvocation(at: scheduler.now + offset)
                scheduler.schedule(at: inv.arrivedAt) { [self] in
                    guard inv.arrivedAt < durationNs else { return }
                    counters.arrived += 1
                    submit(inv)
                }
            }
            scheduleArrival(after: 0)
        }
    }

    private func makeInvocation(at t: UInt64) -> Invocation {
        var (agent, plan) = setup.workload.drawPlan(toolIndex: { toolIndex[$0] }, rng: &rng)
        if !planFaults.isEmpty {
            plan = Fault.shape(plan, agent: setup.workload.agents[agent].name, at: t, faults: planFaults, toolIndex: { toolIndex[$0] }, rng: &rng)
        }
        var account = accountPopularity.sample(&rng)
        for fault in hotKeyFaults where fault.active(at: t) {
            if case .hotKey(let share) = fault.kind, rng.chance(share) { account = 0 }
        }
        let inv = Invocation(id: nextID, agent: agent, plan: plan, account: account, arrivedAt: t)
        inv.resubmissionsLeft = config.callerResubmissions
        nextID += 1
        return inv
    }

    // MARK: request queue

    func submit(_ inv: Invocation) {
        inv.submissions += 1
        let now = scheduler.now
        var reason: Label?
        if config.components.boundedQueue && queueDepth >= config.queueCapacity {
            reason = rejectReasons.full
        } else if config.components.rateLimiter && llm.waitingCount >= config.limiterBackpressureWaiting {
            reason = rejectReasons.backpressure
        }
        if let reason {
            let drain = Double(queueDepth + 1) * avgServiceNs / Double(max(1, config.poolSize))
            let retryAfter = UInt64(min(max(drain, config.minRetryAfterSeconds * 1e9), config.maxRetryAfterSeconds * 1e9))
            counters.queueRejections += 1
            telemetry.emit(.queueRejection(queue: queueLabel, reason: reason, retryAfterNs: retryAfter))
            if inv.submissions >= config.callerAttempts {
                finish(inv, .rejected, reason: "rejected")
            } else {
                scheduler.schedule(after: retryAfter) { [self] in submit(inv) }
            }
            return
        }
        inv.enqueuedAt = now
        inv.enqueued = true
        enqueuedSinceSample += 1
        queue.append(inv)
        counters.maxQueueDepth = max(counters.maxQueueDepth, queueDepth)
        dispatch()
    }

    /// The caller sends a failed invocation again (a new invocation with the same work).
    private func resubmit(_ inv: Invocation) {
        scheduler.schedule(after: UInt64(config.callerRetryDelaySeconds * 1e9)) { [self] in
            let again = Invocation(id: nextID, agent: inv.agent, plan: inv.plan, account: inv.account, arrivedAt: scheduler.now)
            nextID += 1
            again.resubmissionsLeft = inv.resubmissionsLeft - 1
            counters.resubmitted += 1
            submit(again)
        }
    }

    /// Starts queued invocations on free agent instances.
    func dispatch() {
        let limit = instanceLimit(at: scheduler.now)
        while queueHead < queue.count, !freeInstances.isEmpty, busy < limit {
            let inv = queue[queueHead]
            queueHead += 1
            let instance = freeInstances.removeLast()
            accountBusy()
            busy += 1
            counters.maxBusy = max(counters.maxBusy, busy)
            running += 1
            inv.instance = instance
            inv.startedAt = scheduler.now
            counters.started += 1
            counters.queueWaitTotalNs &+= inv.startedAt - inv.enqueuedAt
            telemetry.emit(.invocationStarted(agent: agentLabels[inv.agent], invocationID: inv.id, traceID: telemetry.traceID(seed: seed, invocation: inv.id)))
            counters.book.started(inv.id)
            advance(inv)
        }
        if queueHead > 4096 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    /// Agent instances that may run invocations at `t`: the pool, or a stall's healthy few.
    private func instanceLimit(at t: UInt64) -> Int {
        var limit = Int.max
        for fault in stallFaults where fault.active(at: t) {
            if case .poolStall(let healthy) = fault.kind { limit = min(limit, max(0, healthy)) }
        }
        return limit
    }

    private func accountBusy() {
        let now = scheduler.now
        counters.busyTimeNs += Double(busy) * Double(now - busySince)
        busySince = now
    }

    /// Ends an invocation: emits its outcome and frees its agent instance.
    func finish(_ inv: Invocation, _ outcome: InvocationOutcome, reason: String) {
        guard !inv.finished else { return }
        inv.finished = true
        let now = scheduler.now
        switch outcome {
        case .success: counters.success += 1
        case .failure: counters.failure += 1; counters.fail(reason)
        case .rejected: counters.rejected += 1
        case .timeout: counters.timeout += 1; counters.fail(reason)
        }
        let started = inv.instance >= 0
        let duration = started ? now - inv.startedAt : 0
        let wait = started ? inv.startedAt - inv.enqueuedAt : (inv.enqueued ? now - inv.enqueuedAt : 0)
        telemetry.emit(.invocationFinished(agent: agentLabels[inv.agent], outcome: outcome, durationNs: duration,
                                           queueWaitNs: wait, invocationID: inv.id, queue: queueLabel))
        counters.book.finished(inv.id, agent: setup.workload.agents[inv.agent].name)
        if (outcome == .failure || outcome == .timeout) && inv.resubmissionsLeft > 0 { resubmit(inv) }
        guard started else { return }
        avgServiceNs = avgServiceNs * 0.98 + Double(duration) * 0.02
        counters.durationTotalNs &+= duration
        accountBusy()
        busy -= 1
        running -= 1
        freeInstances.append(inv.instance)
        dispatch()
    }

    // MARK: sampling

    private func scheduleSample() {
        let interval = UInt64(max(0.01, config.sampleIntervalSeconds) * 1e9)
        scheduler.schedule(after: interval) { [self] in
            sample()
            if scheduler.now + interval <= durationNs { scheduleSample() }
        }
    }

    private func sample() {
        let oldest = queueHead < queue.count ? scheduler.now &- queue[queueHead].enqueuedAt : 0
        telemetry.emit(.queueSample(queue: queueLabel, depth: UInt64(queueDepth),
                                    capacity: config.components.boundedQueue ? UInt64(config.queueCapacity) : 0,
                                    oldestAgeNs: oldest, enqueued: enqueuedSinceSample))
        counters.queueEnqueued += Int(enqueuedSinceSample)
        enqueuedSinceSample = 0
        telemetry.emit(.workerPoolSample(pool: poolLabel, busy: UInt64(busy), size: UInt64(config.poolSize)))
        llm.sample()
    }

    // MARK: keys

    func stateKey(_ slot: StateSlot, _ inv: Invocation) -> StateKey {
        let accounts = max(1, setup.workload.accounts)
        let id = slot == .account ? inv.account : accounts + inv.instance
        let shards = state.shardCount
        let shard = slot == .account ? inv.account % shards : inv.instance % shards
        if let label = keyLabels[id] { return StateKey(id: id, label: label, shard: shard, invocation: inv.id) }
        let label = telemetry.label(slot == .account ? "account:\(inv.account)" : "memory:agent-\(inv.instance)")
        keyLabels[id] = label
        return StateKey(id: id, label: label, shard: shard, invocation: inv.id)
    }
}
