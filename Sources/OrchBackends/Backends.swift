import Foundation
import OrchReference
import Synchronization

/// The simulated world's LLM provider and tools served for real (`reference-backends`):
/// the same limits, latencies and error rates as the simulated backends (`WorldConfig`),
/// in wall-clock time ÷ `speed`, and faults scripted over the admin endpoint.
///
/// - `POST /v1/chat/completions` (OpenAI-compatible; `Authorization: Bearer KEY` with KEY one of
///   the provider's key aliases): per key a concurrency limit and requests- and
///   tokens-per-minute buckets; past them 429 with `Retry-After`, `retry-after-ms` and the
///   `x-ratelimit-*` headers, which every answer carries. `stream: true` answers with
///   server-sent events. Usage in every answer.
/// - `POST /tools/NAME`: the tool's latency distribution and error rate (500); an outage
///   hangs the call until the fault ends (clients time out first).
/// - `POST /admin/faults` `{"fault": "tool_hang"|"tool_down"|"tool_slow"|"llm_quota_cut"|"clear",
///   "tool": …, "fraction": …, "factor": …, "seconds": …}` (wall-clock seconds; omitted: until cleared),
///   `GET /admin/stats`: what the server saw (per key: requests, 429s, most in flight).
public final class Backends: Sendable {
    struct KeyState {
        var config: ProviderKeyConfig
        var active = 0
        var maxActive = 0
        var requests = 0
        var rateLimited = 0
        var rpm: TokenBucket
        var tpm: TokenBucket
        var fraction = 1.0
    }

    struct ActiveFault {
        var kind: String
        var tool: String?
        var value: Double
        var untilNs: UInt64?
    }

    let world: WorldConfig
    /// Time runs this many times faster than wall-clock time.
    let speed: Double
    private let keys: BlockingLock<[String: KeyState]>
    private let faults = BlockingLock<[ActiveFault]>([])
    private let rng: BlockingLock<RandomSource>

    func keysLock<R>(_ body: (inout [String: KeyState]) -> R) -> R { keys.withLock { body(&$0) } }
    func rngLock<R>(_ body: (inout RandomSource) -> R) -> R { rng.withLock { body(&$0) } }
    private let started = Backends.monotonicNs()
    private let stopping = Atomic<Bool>(false)
    private let toolCalls = BlockingLock<[String: (calls: Int, errors: Int, hung: Int)]>([:])

    public init(world: WorldConfig = WorldConfig(), speed: Double = 1, seed: UInt64 = 1) {
        self.world = world
        self.speed = max(1e-6, speed)
        var k: [String: KeyState] = [:]
        for key in world.llm.keys {
            k[key.alias] = KeyState(config: key, rpm: .perMinute(key.rpm, burstSeconds: world.llm.burstSeconds),
                                    tpm: .perMinute(key.tpm, burstSeconds: world.llm.burstSeconds))
        }
        keys = BlockingLock(k)
        rng = BlockingLock(RandomSource(seed: seed))
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Scenario time now (ns since start, × speed): what the buckets run on.
    func scenarioNs() -> UInt64 { UInt64(Double(Self.monotonicNs() &- started) * speed) }

    /// Sleeps `seconds` of scenario time.
    func sleep(scenarioSeconds seconds: Double) {
        let us = seconds / speed * 1e6
        if us >= 1 { usleep(UInt32(min(us, 4e9))) }
    }

    /// Ends every hang at once (before the server stops: it waits for its handlers).
    public func shutdown() { stopping.store(true, ordering: .relaxed) }

    /// Answers one request.
    public func handle(_ r: BackendRequest) -> BackendResponse {
        switch (r.method, r.path) {
        case ("POST", "/v1/chat/completions"): return chatCompletion(r)
        case ("POST", let p) where p.hasPrefix("/tools/"): return tool(String(p.dropFirst("/tools/".count)))
        case ("POST", "/admin/faults"): return setFault(r.body)
        case ("GET", "/admin/stats"): return stats()
        case ("GET", "/-/healthy"): return .json(200, #"{"status":"ok"}"#)
        default: return .json(404, #"{"error":{"message":"no such endpoint","type":"invalid_request_error"}}"#)
        }
    }

    // MARK: faults

    func activeFaults() -> [ActiveFault] {
        let now = Self.monotonicNs()
        return faults.withLock { f in
            f.removeAll { $0.untilNs.map { $0 <= now } ?? false }
            return f
        }
    }

    private func setFault(_ body: [UInt8]) -> BackendResponse {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let kind = o["fault"] as? String else {
            return .json(400, #"{"error":{"message":"give {\"fault\": …}"}}"#)
        }
        let tool = o["tool"] as? String
        let known = ["tool_hang", "tool_down", "tool_slow", "llm_quota_cut", "clear"]
        guard known.contains(kind) else { return .json(400, #"{"error":{"message":"unknown fault"}}"#) }
        if kind.hasPrefix("tool_") && (tool == nil || !world.tools.contains { $0.name == tool }) {
            return .json(400, #"{"error":{"message":"tool faults need a known \"tool\""}}"#)
        }
        let seconds = o["seconds"] as? Double
        let value = (o["fraction"] as? Double) ?? (o["factor"] as? Double) ?? 1
        let until = seconds.map { Self.monotonicNs() + UInt64(max(0, $0) * 1e9) }
        faults.withLock { f in
            if kind == "clear" { f.removeAll() } else { f.append(ActiveFault(kind: kind, tool: tool, value: value, untilNs: until)) }
        }
        return .json(200, #"{"ok":true}"#)
    }

    private func stats() -> BackendResponse {
        let k = keys.withLock { $0 }
        var keyStats: [String: Any] = [:]
        for (alias, s) in k {
            keyStats[alias] = ["requests": s.requests, "rate_limited": s.rateLimited, "max_in_flight": s.maxActive,
                               "concurrency_limit": s.config.concurrency]
        }
        let t = toolCalls.withLock { $0 }
        var toolStats: [String: Any] = [:]
        for (name, s) in t { toolStats[name] = ["calls": s.calls, "errors": s.errors, "hung": s.hung] }
        let data = (try? JSONSerialization.data(withJSONObject: ["keys": keyStats, "tools": toolStats], options: [.sortedKeys])) ?? Data()
        return BackendResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    // MARK: tools

    private func tool(_ name: String) -> BackendResponse {
        guard let config = world.tools.first(where: { $0.name == name }) else {
            return .json(404, #"{"error":"no such tool"}"#)
        }
        var slow = 1.0
        for f in activeFaults() where f.tool == name {
            switch f.kind {
            case "tool_down":
                toolCalls.withLock { $0[name, default: (0, 0, 0)].calls += 1; $0[name, default: (0, 0, 0)].errors += 1 }
                sleep(scenarioSeconds: 0.05)
                return .json(503, #"{"error":"tool down"}"#)
            case "tool_hang":
                toolCalls.withLock { $0[name, default: (0, 0, 0)].calls += 1; $0[name, default: (0, 0, 0)].hung += 1 }
                // Never answer while the outage lasts (the client's timeout ends the call).
                while !stopping.load(ordering: .relaxed), activeFaults().contains(where: { $0.kind == "tool_hang" && $0.tool == name }) {
                    usleep(20_000)
                }
                return .json(504, #"{"error":"tool hung"}"#)
            case "tool_slow":
                slow *= f.value
            default:
                break
            }
        }
        let (latency, failed) = rng.withLock { r in (r.latency(config.latency.scaled(world.latencyScale)), r.chance(config.errorRate)) }
        sleep(scenarioSeconds: Double(latency) / 1e9 * slow)
        toolCalls.withLock { $0[name, default: (0, 0, 0)].calls += 1; if failed { $0[name, default: (0, 0, 0)].errors += 1 } }
        return failed ? .json(500, #"{"error":"tool error"}"#) : .json(200, #"{"ok":true,"tool":"\#(name)"}"#)
    }
}
