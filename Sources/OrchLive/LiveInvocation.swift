import OrchReference

/// A concrete step of one live invocation (drawn from its agent type's plan at arrival).
enum LiveStep: Sendable {
    case read(StateSlot)
    case write(StateSlot)
    case llm(count: Int, input: Int, output: Int)
    case tool(Int)
}

/// One agent invocation of a live run: what it will do, and its caller's bookkeeping.
struct LiveInvocation: Sendable {
    let id: UInt64
    let agent: Int
    let plan: [LiveStep]
    let account: Int
    /// Wall-clock ns of its first arrival.
    let arrivedAt: UInt64
    /// Submissions to the request queue so far (1 + retries after rejections).
    var submissions = 0
    /// Resubmissions its caller will still make if it fails.
    var resubmissionsLeft = 0
    /// Wall-clock ns it entered the queue.
    var enqueuedAt: UInt64 = 0

    /// An invocation of agent type `agent` drawn from `workload`, as the simulated
    /// orchestrator draws them (LLM fan-out and token counts, optional tool calls, a Zipf
    /// popular account; `hotAccount` makes it touch account 0).
    static func draw(id: UInt64, workload: Workload, toolIndex: (String) -> Int?, popularity: ZipfDistribution,
                     hotAccountShare: Double, at t: UInt64, rng: inout RandomSource) -> LiveInvocation {
        let total = workload.agents.reduce(0) { $0 + $1.weight }
        var pick = rng.uniform() * total
        var agent = 0
        for (i, a) in workload.agents.enumerated() {
            pick -= a.weight
            if pick < 0 { agent = i; break }
        }
        var plan: [LiveStep] = []
        for step in workload.agents[agent].steps {
            switch step {
            case .read(let s): plan.append(.read(s))
            case .write(let s): plan.append(.write(s))
            case let .llm(calls, input, output):
                let n = rng.int(in: calls)
                plan.append(.llm(count: n, input: Int(Double(input) * (0.7 + 0.6 * rng.uniform())),
                                 output: Int(Double(output) * (0.7 + 0.6 * rng.uniform()))))
            case let .tool(name, p):
                if let i = toolIndex(name), rng.chance(p) { plan.append(.tool(i)) }
            }
        }
        var account = popularity.sample(&rng)
        if hotAccountShare > 0 && rng.chance(hotAccountShare) { account = 0 }
        return LiveInvocation(id: id, agent: agent, plan: plan, account: account, arrivedAt: t)
    }
}
