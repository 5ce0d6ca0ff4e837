import OrchLog
import OrchReference

/// The agent instances' work: each invocation's plan, step by step, as the simulated
/// orchestrator's agents do it, in wall-clock time.
extension LiveOrchestrator {
    /// Runs `inv` on agent instance `instance` to its outcome.
    func run(_ inv: LiveInvocation, instance: Int) async {
        let start = started(inv)
        let deadline = start + clock.ns(simulatedSeconds: config.invocationDeadlineSeconds)
        var versions: [StateSlot: UInt64] = [:]
        let shards = state.shardCount
        let caller = LiveCaller(invocation: inv.id, agent: agentLabel(inv.agent))
        func key(_ slot: StateSlot) -> LiveKey {
            let name = slot == .account ? "account:\(inv.account)" : "memory:agent-\(instance)"
            return LiveKey(name: name, label: keyLabel(name), shard: slot == .account ? inv.account % shards : instance % shards, invocation: inv.id)
        }
        for (i, step) in inv.plan.enumerated() {
            if clock.nowNs() > deadline {
                finish(inv, .timeout, reason: "deadline", startedAt: start)
                return
            }
            switch step {
            case .read(let slot):
                guard let v = state.read(key(slot), instance: instance) ?? state.read(key(slot), instance: instance) else {
                    finish(inv, .failure, reason: "state_read", startedAt: start)
                    return
                }
                versions[slot] = v
            case .write(let slot):
                if let reason = await write(key(slot), slot, &versions, inv: inv, step: i, instance: instance) {
                    finish(inv, .failure, reason: reason, startedAt: start)
                    return
                }
            case let .llm(count, input, output):
                let failed = await withTaskGroup(of: LLMOutcome?.self) { group in
                    for _ in 0..<count { group.addTask { [self] in await backends.llm(input: input, output: output, caller: caller) } }
                    var first: LLMOutcome?
                    for await r in group where first == nil { first = r }
                    return first
                }
                if let failed {
                    let name = failed == .rateLimited ? "rate_limited" : failed == .timeout ? "timeout" : "error"
                    finish(inv, .failure, reason: "llm_\(name)", startedAt: start)
                    return
                }
            case .tool(let t):
                switch await backends.tool(t, caller: caller) {
                case .ok: break
                case .fallback: counters.update { $0.fallbackServed += 1 }
                case .failed:
                    finish(inv, .failure, reason: "tool_error", startedAt: start)
                    return
                }
            }
        }
        finish(inv, .success, reason: "", startedAt: start)
    }

    /// A read-modify-write from the version read earlier; conflicts (OCC) re-read and retry
    /// with the fresh version, a timeout or error is retried once. Nil when it committed,
    /// else the failure reason.
    private func write(_ key: LiveKey, _ slot: StateSlot, _ versions: inout [StateSlot: UInt64], inv: LiveInvocation,
                       step: Int, instance: Int) async -> String? {
        var attempt = 1
        var failureRetries = 1
        while true {
            let base = versions[slot] ?? 0
            let data = "invocation \(inv.id) agent-\(instance) step \(step) from v\(base)"
            let result = await state.write(key, base: base, attempt: attempt, instance: instance, data: data)
            switch result {
            case .committed(let v):
                versions[slot] = v
                return nil
            case .conflict:
                guard attempt < config.writeAttempts else { return "state_conflict" }
                guard let fresh = state.read(key, instance: instance) else { return "state_read" }
                versions[slot] = fresh
            case .timeout, .error:
                guard failureRetries > 0 else { return result == .timeout ? "state_write_timeout" : "state_write_error" }
                failureRetries -= 1
            }
            attempt += 1
        }
    }
}
