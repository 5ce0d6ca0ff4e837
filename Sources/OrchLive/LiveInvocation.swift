import OrchLog
import OrchReference

/// One agent invocation of a live run: what it will do, and its caller's bookkeeping.
struct LiveInvocation: Sendable {
    let id: UInt64
    let agent: Int
    let plan: [PlanStep]
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
        let (agent, plan) = workload.drawPlan(toolIndex: toolIndex, rng: &rng)
        var account = popularity.sample(&rng)
        if hotAccountShare > 0 && rng.chance(hotAccountShare) { account = 0 }
        return LiveInvocation(id: id, agent: agent, plan: plan, account: account, arrivedAt: t)
    }
}

/// Who makes a call: the invocation and its agent (their ids go on every event of the call).
struct LiveCaller: Sendable {
    let invocation: UInt64
    let agent: Label
    static let none = LiveCaller(invocation: 0, agent: .none)
}
