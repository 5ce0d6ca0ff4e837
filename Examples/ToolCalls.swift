// Guide section "Tools and circuit breakers" (docs/instrumenting.md).
import OrchLog
import Synchronization

// guide:begin breaker
/// A circuit breaker per tool: opens after `threshold` failures in a row, lets one trial
/// call through after `cooldownNs`, closes again when it succeeds. Reports every transition.
final class CircuitBreaker: Sendable {
    private struct State { var state = BreakerState.closed; var failures = 0; var openedAtNs: UInt64 = 0 }
    private let log: EventLog
    let tool: Label
    private let threshold: Int
    private let cooldownNs: UInt64
    private let state = Mutex(State())

    init(log: EventLog, tool: String, threshold: Int = 5, cooldownNs: UInt64 = 30_000_000_000) {
        self.log = log
        self.tool = log.label(tool)
        self.threshold = threshold
        self.cooldownNs = cooldownNs
    }

    /// Whether a call may go to the tool now.
    func allow() -> Bool {
        let (allowed, change) = state.withLock { s -> (Bool, (BreakerState, BreakerState)?) in
            switch s.state {
            case .closed, .disabled, .halfOpen: return (true, nil)
            case .forcedOpen: return (false, nil)
            case .open:
                guard monotonicNs() - s.openedAtNs >= cooldownNs else { return (false, nil) }
                s.state = .halfOpen
                return (true, (.open, .halfOpen))
            }
        }
        if let (from, to) = change { log.emit(.breakerTransition(tool: tool, from: from, to: to)) }
        return allowed
    }

    /// Records a call's result.
    func record(success: Bool) {
        let change = state.withLock { s -> (BreakerState, BreakerState)? in
            let before = s.state
            s.failures = success ? 0 : s.failures + 1
            if before == .halfOpen {
                s.state = success ? .closed : .open
            } else if before == .closed && s.failures >= threshold {
                s.state = .open
            }
            if s.state == .open && before != .open { s.openedAtNs = monotonicNs() }
            return s.state == before ? nil : (before, s.state)
        }
        // Emit outside the lock: emit is cheap, but the lock need not wait for it.
        if let (from, to) = change { log.emit(.breakerTransition(tool: tool, from: from, to: to)) }
    }
}
// guide:end breaker

// guide:begin tool
/// How a tool call failed.
enum ToolError: Error { case timedOut, failed }

/// Calls a tool through its breaker; answers from `fallback` when the breaker is open or the
/// call fails. One `tool_call` event per call, whatever happened.
func callTool<T>(log: EventLog, breaker: CircuitBreaker, _ call: () throws -> T, fallback: () -> T) -> T {
    guard breaker.allow() else {
        log.emit(.toolCall(tool: breaker.tool, outcome: .shortCircuited, latencyNs: 0, fallbackUsed: true))
        return fallback()
    }
    let start = monotonicNs()
    do {
        let result = try call()
        breaker.record(success: true)
        log.emit(.toolCall(tool: breaker.tool, outcome: .success, latencyNs: monotonicNs() - start, fallbackUsed: false))
        return result
    } catch {
        breaker.record(success: false)
        let outcome: ToolOutcome = (error as? ToolError) == .timedOut ? .timeout : .error
        log.emit(.toolCall(tool: breaker.tool, outcome: outcome, latencyNs: monotonicNs() - start, fallbackUsed: true))
        return fallback()
    }
}
// guide:end tool
