import OrchLog
import OrchReference
import Synchronization

/// The live tool client: each tool over real HTTP (`POST {url}/tools/NAME`, libcurl) with a
/// real timeout — short behind a circuit breaker with a fallback when breakers are on, the
/// long naive one without. The breakers are the simulated orchestrator's (`CircuitBreaker`),
/// run on scenario time (wall-clock × K), one per tool, shared by every agent thread.
final class LiveToolClient: Sendable {
    private let baseURL: String
    private let tools: [ToolConfig]
    private let config: OrchestratorConfig
    private let clock: LiveClock
    private let log: EventLog?
    private let counters: LiveCounters
    private let http = HTTPClient()
    private let breakers: [Locked<CircuitBreaker>]
    private let labels: [Label]
    private let origin: UInt64

    init(baseURL: String, tools: [ToolConfig], config: OrchestratorConfig, clock: LiveClock, log: EventLog?, counters: LiveCounters) {
        self.baseURL = baseURL
        self.tools = tools
        self.config = config
        self.clock = clock
        self.log = log
        self.counters = counters
        origin = clock.nowNs()
        breakers = tools.map { _ in Locked(CircuitBreaker(config: config.breaker)) }
        labels = tools.map { log?.label($0.name) ?? Label(id: 0) }
    }

    /// Scenario time (ns since the client was made, × K): what the breakers run on.
    private func scenarioNow() -> UInt64 { UInt64(Double(clock.nowNs() &- origin) * clock.speed) }

    // guide:begin live-breaker
    private func transition(_ i: Int, _ change: BreakerChange?) {
        guard let change else { return }
        counters.update {
            $0.breakerTransitions += 1
            if change.to == .open { $0.breakerOpens += 1 }
        }
        log?.emit(.breakerTransition(tool: labels[i], from: change.from, to: change.to), at: clock.nowNs())
    }
    // guide:end live-breaker

    // guide:begin live-tool-call
    /// One call of tool `i`.
    func call(_ i: Int, caller: LiveCaller = .none) async -> TimedBackends.ToolResult {
        let protected = config.components.circuitBreakers
        let start = clock.nowNs()
        var permit: BreakerPermit = .normal
        if protected {
            let (p, change) = breakers[i].withLock { $0.acquire(now: scenarioNow()) }
            transition(i, change)
            guard let p else {
                emit(i, .shortCircuited, start, fallback: true, caller)
                await clock.sleep(simulatedSeconds: tools[i].fallbackSeconds)
                return .fallback
            }
            permit = p
        }
        let timeout = protected ? config.toolTimeoutSeconds : config.naiveToolTimeoutSeconds
        let timeoutMs = max(1, Int(timeout / clock.speed * 1000))
        let result = http.post(baseURL + "/tools/" + tools[i].name, body: Array(#"{"query":"account"}"#.utf8),
                               connectTimeoutMs: timeoutMs, timeoutMs: timeoutMs)
        let outcome: ToolOutcome
        switch result {
        case .response(let status, _, _): outcome = (200..<300).contains(status) ? .success : .error
        case .timeout: outcome = .timeout
        case .failed: outcome = .error
        }
        if protected {
            let change = breakers[i].withLock { $0.record(permit, success: outcome == .success, now: scenarioNow()) }
            transition(i, change)
        }
        let fallback = protected && outcome != .success
        emit(i, outcome, start, fallback: fallback, caller)
        if fallback { await clock.sleep(simulatedSeconds: tools[i].fallbackSeconds) }
        return outcome == .success ? .ok : (fallback ? .fallback : .failed)
    }
    // guide:end live-tool-call

    private func emit(_ i: Int, _ outcome: ToolOutcome, _ start: UInt64, fallback: Bool, _ caller: LiveCaller) {
        let now = clock.nowNs()
        counters.update {
            $0.toolCalls += 1
            switch outcome {
            case .success: break
            case .error: $0.toolErrors += 1
            case .timeout: $0.toolTimeouts += 1
            case .shortCircuited: $0.toolShortCircuited += 1
            }
            if fallback { $0.toolFallbacks += 1 }
            $0.book.tool(caller.invocation)
        }
        log?.emit(.toolCall(tool: labels[i], outcome: outcome, latencyNs: now - start, fallbackUsed: fallback,
                            invocationID: caller.invocation, agent: caller.agent), at: now)
    }

    /// Scripts a fault on the backends' admin endpoint (`POST /admin/faults`).
    func postFault(_ json: String) -> Bool {
        if case .response(200, _, _) = http.post(baseURL + "/admin/faults", body: Array(json.utf8), connectTimeoutMs: 2_000, timeoutMs: 5_000) {
            return true
        }
        return false
    }
}
