/// A concrete step of one invocation (drawn from its agent type's plan at arrival).
package enum PlanStep: Sendable {
    case read(StateSlot)
    case write(StateSlot)
    case llm(count: Int, input: Int, output: Int)
    case tool(Int)
}

extension Workload {
    /// Draws one invocation's agent type (by weight) and its concrete steps: LLM fan-out and
    /// token counts (±30%), each optional tool call with its probability. Shared by the
    /// simulated and the live orchestrator, so both draw the same invocations from a seed.
    package func drawPlan(toolIndex: (String) -> Int?, rng: inout RandomSource) -> (agent: Int, plan: [PlanStep]) {
        let total = agents.reduce(0) { $0 + $1.weight }
        var pick = rng.uniform() * total
        var agent = 0
        for (i, a) in agents.enumerated() {
            pick -= a.weight
            if pick < 0 { agent = i; break }
        }
        var plan: [PlanStep] = []
        for step in agents[agent].steps {
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
        return (agent, plan)
    }
}

/// One agent invocation as it moves through the system: queued (perhaps after rejections),
/// run by an agent instance step by step, finished with an outcome.
final class Invocation {
    let id: UInt64
    let agent: Int
    let plan: [PlanStep]
    let account: Int
    let arrivedAt: UInt64
    /// Submissions to the request queue so far (1 + retries after rejections).
    var submissions = 0
    /// Whether it got into the queue.
    var enqueued = false
    /// Resubmissions the caller will still make if this one fails.
    var resubmissionsLeft = 0
    var enqueuedAt: UInt64 = 0
    var startedAt: UInt64 = 0
    /// The agent instance running it (-1: not started).
    var instance = -1
    var step = 0
    /// Versions read, for the read-modify-writes.
    var accountVersion: UInt64 = 0
    var memoryVersion: UInt64 = 0
    var finished = false

    init(id: UInt64, agent: Int, plan: [PlanStep], account: Int, arrivedAt: UInt64) {
        self.id = id
        self.agent = agent
        self.plan = plan
        self.account = account
        self.arrivedAt = arrivedAt
    }

    func version(_ slot: StateSlot) -> UInt64 {
        slot == .account ? accountVersion : memoryVersion
    }

    func setVersion(_ slot: StateSlot, _ v: UInt64) {
        if slot == .account { accountVersion = v } else { memoryVersion = v }
    }
}
