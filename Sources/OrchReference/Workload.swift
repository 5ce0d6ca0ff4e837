/// A record an agent reads and writes.
public enum StateSlot: Sendable, Equatable {
    /// The customer account the invocation is about: shared, with a few hot accounts.
    case account
    /// The agent instance's own memory (conversation history, scratchpad).
    case memory
}

/// One step of an agent type's plan.
public enum AgentStep: Sendable, Equatable {
    case read(StateSlot)
    /// Read-modify-write of a record read earlier in the plan.
    case write(StateSlot)
    /// `calls` parallel LLM requests (a fan-out), each with about these token counts.
    case llm(calls: ClosedRange<Int>, input: Int, output: Int)
    /// A call to the named tool, made with the given probability.
    case tool(String, probability: Double)
}

/// An agent type: a name, its share of the traffic and its plan.
public struct AgentKind: Sendable, Equatable {
    public var name: String
    public var weight: Double
    public var steps: [AgentStep]

    public init(name: String, weight: Double, steps: [AgentStep]) {
        self.name = name
        self.weight = weight
        self.steps = steps
    }

    /// A support agent, a billing agent and a research agent. Each fans LLM calls out
    /// (up to four in parallel), calls one to three tools, reads the account and the
    /// instance's memory, appends to its memory after each step and updates the account
    /// (a read-modify-write of a record other invocations share).
    public static let standard: [AgentKind] = [
        AgentKind(name: "support", weight: 0.55, steps: [
            .read(.account), .read(.memory),
            .llm(calls: 1...1, input: 900, output: 80),
            .tool("crm", probability: 1),
            .write(.memory),
            .llm(calls: 4...4, input: 1600, output: 340),
            .write(.memory),
            .tool("ticketing", probability: 0.5),
            .llm(calls: 2...2, input: 2200, output: 300),
            .write(.memory),
            .write(.account),
        ]),
        AgentKind(name: "billing", weight: 0.30, steps: [
            .read(.account), .read(.memory),
            .tool("billing", probability: 1),
            .llm(calls: 2...2, input: 1300, output: 300),
            .write(.memory),
            .llm(calls: 1...1, input: 900, output: 250),
            .write(.memory),
            .write(.account),
        ]),
        AgentKind(name: "research", weight: 0.15, steps: [
            .read(.memory),
            .tool("search", probability: 1),
            .llm(calls: 4...4, input: 2000, output: 340),
            .write(.memory),
            .tool("search", probability: 0.6),
            .llm(calls: 3...4, input: 3000, output: 400),
            .write(.memory),
        ]),
    ]
}

/// The offered load: how many invocations, how they arrive over the day, what they touch.
public struct Workload: Sendable, Equatable {
    /// Mean arrivals per day.
    public var invocationsPerDay: Double
    /// Hour of day (0–24) at which the simulation starts.
    public var startHour = 8.0
    public var agents = AgentKind.standard
    /// Distinct customer accounts (a bounded key space).
    public var accounts = 3_000
    /// Zipf exponent of account popularity (hot accounts are shared by many invocations).
    public var accountSkew = 1.05
    /// Mean arrivals per burst (arrivals come in bursts, spread over `burstSpreadSeconds`).
    public var meanBurst = 1.6
    public var burstSpreadSeconds = 5.0
    /// Relative arrival rate for each hour of the day (working hours ≈ 3× the mean).
    public var hourlyProfile: [Double] = [0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.5, 3.0, 3.3, 3.0,
                                          2.7, 2.9, 3.3, 2.8, 1.8, 1.0, 0.5, 0.35, 0.3, 0.25, 0.2, 0.15]

    public init(invocationsPerDay: Double) {
        self.invocationsPerDay = invocationsPerDay
    }

    /// The arrival rate (per second) at `seconds` after midnight, interpolated between hours
    /// and normalised so the daily mean is `invocationsPerDay / 86400`.
    public func rate(atSecondOfDay seconds: Double) -> Double {
        let mean = hourlyProfile.reduce(0, +) / Double(hourlyProfile.count)
        let h = (seconds / 3600).truncatingRemainder(dividingBy: 24)
        let i = Int(h) % 24
        let f = h - Double(Int(h))
        let w = hourlyProfile[i] * (1 - f) + hourlyProfile[(i + 1) % 24] * f
        return invocationsPerDay / 86_400 * w / mean
    }

    /// The highest rate over the day (per second).
    public var peakRate: Double {
        let mean = hourlyProfile.reduce(0, +) / Double(hourlyProfile.count)
        return invocationsPerDay / 86_400 * (hourlyProfile.max() ?? 1) / mean
    }
}
