/// A concrete step of one invocation (drawn from its agent type's plan at arrival).
enum PlanStep {
    case read(StateSlot)
    case write(StateSlot)
    case llm(count: Int, input: Int, output: Int)
    case tool(Int)
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
