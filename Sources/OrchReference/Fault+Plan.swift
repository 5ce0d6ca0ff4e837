extension Fault {
    /// The plan of an invocation of `agent` arriving at `t`, reshaped by the workload faults
    /// active then: an agent loop repeats a think-and-act step, a prompt bloat multiplies
    /// every prompt. Draws from `rng` only when such a fault is active, so scenarios without
    /// one draw exactly the invocations they drew before these faults existed.
    package static func shape(_ plan: [PlanStep], agent: String, at t: UInt64, faults: [Fault], toolIndex: (String) -> Int?,
                              rng: inout RandomSource) -> [PlanStep] {
        var plan = plan
        for fault in faults where fault.active(at: t) {
            switch fault.kind {
            case let .agentLoop(name, share, iterations, tool) where name == agent:
                guard rng.chance(share), let first = plan.firstIndex(where: { if case .llm = $0 { return true } else { return false } }) else { continue }
                // One short completion (the next thought) and a tool call per turn.
                var turn: [PlanStep] = [.llm(count: 1, input: 1200, output: 40)]
                if let i = toolIndex(tool) { turn.append(.tool(i)) }
                plan.insert(contentsOf: Array(repeating: turn, count: max(0, iterations)).joined(), at: first + 1)
            case let .promptBloat(name, factor) where name == agent:
                plan = plan.map { step in
                    guard case let .llm(count, input, output) = step else { return step }
                    return .llm(count: count, input: Int(Double(input) * max(0, factor)), output: output)
                }
            default:
                continue
            }
        }
        return plan
    }
}
