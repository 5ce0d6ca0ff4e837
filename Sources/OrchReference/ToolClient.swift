import OrchLog

/// How a tool call ended for the agent.
enum ToolResult {
    /// The tool answered.
    case ok
    /// The tool failed or was short-circuited, and its fallback answered.
    case fallback
    /// The tool failed and there is no fallback: the agent cannot go on.
    case failed(ToolOutcome)
}

/// Calls tools with a timeout; with breakers on, each tool has a circuit breaker, a short
/// timeout and a fallback (a cached profile, a static FAQ, a deferred outbox entry…).
final class ToolClient {
    private let backend: ToolBackend
    private let scheduler: Scheduler
    private let telemetry: Telemetry
    private let counters: Counters
    private let protected: Bool
    private let timeoutNs: UInt64
    private let fallbackNs: [UInt64]
    private(set) var breakers: [CircuitBreaker]
    private let labels: [Label]

    init(config: OrchestratorConfig, tools: [ToolConfig], backend: ToolBackend, scheduler: Scheduler, telemetry: Telemetry, counters: Counters) {
        self.backend = backend
        self.scheduler = scheduler
        self.telemetry = telemetry
        self.counters = counters
        protected = config.components.circuitBreakers
        timeoutNs = UInt64((protected ? config.toolTimeoutSeconds : config.naiveToolTimeoutSeconds) * 1e9)
        fallbackNs = tools.map { UInt64($0.fallbackSeconds * 1e9) }
        breakers = tools.map { _ in CircuitBreaker(config: config.breaker) }
        labels = tools.map { telemetry.label($0.name) }
    }

    /// The breaker state of each tool.
    var states: [BreakerState] { breakers.map(\.state) }

    func call(_ tool: Int, invocation: UInt64 = 0, agent: Label = .none, done: @escaping (ToolResult) -> Void) {
        let start = scheduler.now
        let caller = Caller(invocation: invocation, agent: agent)
        var permit = BreakerPermit.normal
        if protected {
            let (p, change) = breakers[tool].acquire(now: start)
            if let change { transition(tool, change) }
            guard let p else {
                // Short-circuited: the fallback answers without touching the tool.
                counters.toolCalls += 1
                counters.toolShortCircuited += 1
                counters.toolFallbacks += 1
                counters.book.tool(invocation)
                telemetry.emit(.toolCall(tool: labels[tool], outcome: .shortCircuited, latencyNs: 0, fallbackUsed: true, invocationID: invocation, agent: agent))
                scheduler.schedule(after: fallbackNs[tool]) { done(.fallback) }
                return
            }
            permit = p
        }
        let once = Once()
        backend.call(tool: tool) { [self] reply in
            guard once.claim() else { return }
            finish(tool, permit, reply == .success ? .success : .error, start, caller, done)
        }
        scheduler.schedule(after: timeoutNs) { [self] in
            guard once.claim() else { return }
            finish(tool, permit, .timeout, start, caller, done)
        }
    }

    /// Who made a call (its events carry them).
    private struct Caller {
        let invocation: UInt64
        let agent: Label
    }

    private func finish(_ tool: Int, _ permit: BreakerPermit, _ outcome: ToolOutcome, _ start: UInt64, _ caller: Caller, _ done: @escaping (ToolResult) -> Void) {
        let now = scheduler.now
        counters.toolCalls += 1
        if outcome == .timeout { counters.toolTimeouts += 1 }
        if outcome == .error { counters.toolErrors += 1 }
        let useFallback = protected && outcome != .success
        if useFallback { counters.toolFallbacks += 1 }
        counters.book.tool(caller.invocation)
        telemetry.emit(.toolCall(tool: labels[tool], outcome: outcome, latencyNs: now - start, fallbackUsed: useFallback,
                                 invocationID: caller.invocation, agent: caller.agent))
        if protected, let change = breakers[tool].record(permit, success: outcome == .success, now: now) {
            transition(tool, change)
        }
        if outcome == .success {
            done(.ok)
        } else if useFallback {
            scheduler.schedule(after: fallbackNs[tool]) { done(.fallback) }
        } else {
            done(.failed(outcome))
        }
    }

    private func transition(_ tool: Int, _ change: BreakerChange) {
        counters.breakerTransitions += 1
        if change.to == .open { counters.breakerOpens += 1 }
        telemetry.emit(.breakerTransition(tool: labels[tool], from: change.from, to: change.to))
    }
}
