import OrchLog

/// The agent instances' work: each invocation's plan, step by step.
extension Orchestrator {
    /// Runs the invocation's next step, or finishes it.
    func advance(_ inv: Invocation) {
        guard !inv.finished else { return }
        if scheduler.now - inv.startedAt > UInt64(config.invocationDeadlineSeconds * 1e9) {
            finish(inv, .timeout, reason: "deadline")
            return
        }
        guard inv.step < inv.plan.count else {
            finish(inv, .success, reason: "")
            return
        }
        let step = inv.plan[inv.step]
        inv.step += 1
        switch step {
        case .read(let slot):
            read(inv, slot, retries: 1)
        case .write(let slot):
            write(inv, slot, attempt: 1, failureRetries: 1)
        case let .llm(count, input, output):
            var remaining = count
            var failure: LLMOutcome?
            for _ in 0..<count {
                llm.request(input: input, output: output, invocation: inv.id, agent: agentLabels[inv.agent]) { [self] result in
                    if case .failed(let outcome) = result, failure == nil { failure = outcome }
                    remaining -= 1
                    guard remaining == 0 else { return }
                    if let failure {
                        finish(inv, .failure, reason: "llm_\(failure.name)")
                    } else {
                        advance(inv)
                    }
                }
            }
        case .tool(let tool):
            toolClient.call(tool, invocation: inv.id, agent: agentLabels[inv.agent]) { [self] result in
                switch result {
                case .ok:
                    advance(inv)
                case .fallback:
                    counters.fallbackServed += 1
                    advance(inv)
                case .failed(let outcome):
                    finish(inv, .failure, reason: "tool_\(outcome.name)")
                }
            }
        }
    }

    private func read(_ inv: Invocation, _ slot: StateSlot, retries: Int) {
        state.read(stateKey(slot, inv), instance: inv.instance) { [self] result in
            switch result {
            case .ok(let version):
                inv.setVersion(slot, version)
                advance(inv)
            case .failed:
                if retries > 0 {
                    read(inv, slot, retries: retries - 1)
                } else {
                    finish(inv, .failure, reason: "state_read")
                }
            }
        }
    }

    /// A read-modify-write from the version read earlier. Conflicts (OCC) re-read and retry
    /// with the fresh version; a timeout or error is retried `failureRetries` times.
    private func write(_ inv: Invocation, _ slot: StateSlot, attempt: Int, failureRetries: Int) {
        let key = stateKey(slot, inv)
        state.write(key, base: inv.version(slot), attempt: attempt, instance: inv.instance) { [self] result in
            switch result {
            case .committed(let v):
                inv.setVersion(slot, v)
                advance(inv)
            case .conflict:
                guard attempt < config.writeAttempts else {
                    finish(inv, .failure, reason: "state_conflict")
                    return
                }
                state.read(key, instance: inv.instance) { [self] r in
                    guard case .ok(let fresh) = r else {
                        finish(inv, .failure, reason: "state_read")
                        return
                    }
                    inv.setVersion(slot, fresh)
                    write(inv, slot, attempt: attempt + 1, failureRetries: failureRetries)
                }
            case .timeout, .error:
                guard failureRetries > 0 else {
                    finish(inv, .failure, reason: result.isTimeout ? "state_write_timeout" : "state_write_error")
                    return
                }
                write(inv, slot, attempt: attempt + 1, failureRetries: failureRetries - 1)
            }
        }
    }
}
