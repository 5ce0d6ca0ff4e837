/// Simulated tools: each a first-come-first-served service with a number of servers, a
/// latency distribution, an error rate and scripted outages (down, hanging, slow).
public final class SimulatedTools: ToolBackend {
    public let configs: [ToolConfig]
    public let toolNames: [String]
    private let scheduler: Scheduler
    private var rng: RandomSource
    private var queues: [ServerQueue]
    private let faults: [Fault]
    /// Calls that hung (never answered) so far.
    private(set) var hung = 0
    private let latencyScale: Double

    init(configs: [ToolConfig], faults: [Fault], scheduler: Scheduler, seed: UInt64, latencyScale: Double = 1) {
        self.configs = configs
        toolNames = configs.map(\.name)
        self.scheduler = scheduler
        rng = RandomSource(seed: seed)
        queues = configs.map { ServerQueue(servers: $0.servers) }
        self.faults = faults
        self.latencyScale = latencyScale
    }

    public func call(tool: Int, reply: @escaping (ToolReply) -> Void) {
        let now = scheduler.now
        let name = configs[tool].name
        var slow = 1.0
        for fault in faults where fault.active(at: now) {
            switch fault.kind {
            case .toolDown(name):
                scheduler.schedule(after: UInt64(0.05 * latencyScale * 1e9)) { reply(.error) }
                return
            case .toolHang(name):
                hung += 1
                return
            case let .toolSlow(name2, factor) where name2 == name:
                slow *= factor
            default:
                break
            }
        }
        let service = UInt64(Double(rng.latency(configs[tool].latency)) * slow * latencyScale)
        let failed = rng.chance(configs[tool].errorRate)
        guard let slot = queues[tool].admit(now: now, service: service) else { return }
        scheduler.schedule(at: slot.end) { reply(failed ? .error : .success) }
    }
}
