import Foundation
import OrchLog
import OrchReference
import Synchronization

/// The live LLM client: OpenAI-compatible `POST {url}/chat/completions` over libcurl with
/// the request timeout ÷ K.
///
/// With the rate limiter on (the hardened orchestrator): requests/tokens-per-minute buckets
/// per key at `limiterHeadroom` of the provider's limits and its concurrency limit, on
/// scenario time; a request takes the first key with room, starting from the current one
/// (moving on is a key rotation), waits while none has room, and on a 429 honours the
/// server's `retry-after-ms`/`Retry-After` for that key and rotates; 5xx and timeouts back
/// off and retry. Without it (naive): one key, every request sent at once, a 429 retried
/// after a fixed delay, up to `naiveRetries` times.
final class LiveLLMClient: Sendable {
    struct KeyState {
        var rpm: TokenBucket
        var tpm: TokenBucket
        var inflight = 0
        var limit: Int
        var coolUntil: UInt64 = 0
    }

    private let url: String
    private let aliases: [String]
    private let world: WorldConfig
    private let config: OrchestratorConfig
    private let clock: LiveClock
    private let log: EventLog?
    private let counters: LiveCounters
    private let http = HTTPClient()
    private let keys: Locked<(states: [KeyState], current: Int)>
    private let keyLabels: [Label]
    private let provider, model, rotationReason, limiterLabel: Label
    private let origin: UInt64
    let waiting = Atomic<Int>(0)
    private let inflight = Atomic<Int>(0)

    init(url: String, apiKeys: [String], world: WorldConfig, config: OrchestratorConfig, clock: LiveClock, log: EventLog?, counters: LiveCounters) {
        self.url = url
        self.world = world
        self.config = config
        self.clock = clock
        self.log = log
        self.counters = counters
        origin = clock.nowNs()
        let count = config.components.rateLimiter ? max(1, min(config.llmKeys, apiKeys.count)) : 1
        aliases = Array(apiKeys.prefix(count))
        let h = config.limiterHeadroom
        let states = aliases.indices.map { i -> KeyState in
            let p = world.llm.keys[min(i, world.llm.keys.count - 1)]
            return KeyState(rpm: .perMinute(p.rpm * h, burstSeconds: world.llm.burstSeconds),
                            tpm: .perMinute(p.tpm * h, burstSeconds: world.llm.burstSeconds), limit: p.concurrency)
        }
        keys = Locked((states, 0))
        func label(_ s: String) -> Label { log?.label(s) ?? Label(id: 0) }
        keyLabels = aliases.indices.map { label(world.llm.keys[min($0, world.llm.keys.count - 1)].alias) }
        provider = label(world.llm.provider)
        model = label(world.llm.model)
        rotationReason = label("rate_limited")
        limiterLabel = label("llm")
    }

    /// Concurrency limit of the keys in use.
    var concurrencyLimit: Int { keys.withLock { $0.states.reduce(0) { $0 + $1.limit } } }

    private func scenarioNow() -> UInt64 { UInt64(Double(clock.nowNs() &- origin) * clock.speed) }

    /// Takes a key with room for `tokens` (the limiter), or nil when none has room now.
    private func acquire(tokens: Double) -> Int? {
        let now = scenarioNow()
        let (picked, rotation) = keys.withLock { k -> (Int?, (Int, Int)?) in
            let n = k.states.count
            for step in 0..<n {
                let i = (k.current + step) % n
                var s = k.states[i]
                guard s.coolUntil <= now, s.inflight < s.limit, s.rpm.canTake(1, now: now), s.tpm.canTake(tokens, now: now) else { continue }
                _ = s.rpm.take(1, now: now)
                _ = s.tpm.take(tokens, now: now)
                s.inflight += 1
                k.states[i] = s
                let from = k.current
                k.current = i
                return (i, step == 0 ? nil : (from, i))
            }
            return (nil, nil)
        }
        if let (from, to) = rotation { rotate(from, to) }
        return picked
    }

    // guide:begin live-rotation
    private func rotate(_ from: Int, _ to: Int) {
        counters.update { $0.keyRotations += 1 }
        log?.emit(.keyRotation(provider: provider, from: keyLabels[from], to: keyLabels[to], reason: rotationReason), at: clock.nowNs())
    }
    // guide:end live-rotation

    private func release(_ i: Int, coolForNs: UInt64?, limits: (rpm: Double, tpm: Double)?) {
        let now = scenarioNow()
        let h = config.limiterHeadroom, burst = world.llm.burstSeconds
        keys.withLock { k in
            k.states[i].inflight -= 1
            if let c = coolForNs { k.states[i].coolUntil = max(k.states[i].coolUntil, now + c) }
            // The server's x-ratelimit-limit-* say what the key's quota is now (a quota cut
            // shows there first): the key's buckets follow it, at the headroom.
            if let l = limits {
                if abs(k.states[i].rpm.ratePerSecond - l.rpm * h / 60) > 1e-9 {
                    k.states[i].rpm.reconfigure(capacity: max(1, l.rpm * h * burst / 60), ratePerSecond: l.rpm * h / 60, now: now)
                }
                if abs(k.states[i].tpm.ratePerSecond - l.tpm * h / 60) > 1e-9 {
                    k.states[i].tpm.reconfigure(capacity: max(1, l.tpm * h * burst / 60), ratePerSecond: l.tpm * h / 60, now: now)
                }
            }
        }
    }

    /// One LLM request of the plan: nil when it got an answer, else the last attempt's outcome.
    func request(input: Int, output: Int) async -> LLMOutcome? {
        var last: LLMOutcome = .error
        let limited = config.components.rateLimiter
        var waitNs: UInt64 = 0
        let attempts = limited ? max(1, config.limiterAttempts) : 1 + max(0, config.naiveRetries)
        var errors = 0
        for _ in 0..<attempts {
            var key = 0
            if limited {
                let startWait = clock.nowNs()
                var counted = false
                while true {
                    if let k = acquire(tokens: Double(input + output)) { key = k; break }
                    if !counted { waiting.wrappingAdd(1, ordering: .relaxed); counted = true }
                    let w = waiting.load(ordering: .relaxed)
                    counters.update { $0.maxWaiting = max($0.maxWaiting, w) }
                    try? await Task.sleep(nanoseconds: 2_000_000)
                }
                if counted { waiting.wrappingSubtract(1, ordering: .relaxed) }
                waitNs &+= clock.nowNs() &- startWait
            }
            let n = inflight.wrappingAdd(1, ordering: .relaxed).newValue
            counters.update { $0.maxInflight = max($0.maxInflight, n) }
            let (outcome, retryAfterNs, usage, latency, limits) = send(key: key, input: input, output: output)
            inflight.wrappingSubtract(1, ordering: .relaxed)
            last = outcome
            if limited {
                release(key, coolForNs: outcome == .rateLimited ? UInt64(Double(retryAfterNs ?? 1_000_000_000) * clock.speed) : nil, limits: limits)
            }
            emit(key, outcome, usage, latency, waitNs)
            switch outcome {
            case .success:
                return nil
            case .rateLimited:
                if limited { continue }  // another key, or this one after its retry-after
                await clock.sleep(simulatedSeconds: config.naiveRetryDelaySeconds)
            case .error, .timeout:
                errors += 1
                guard limited, errors < 3 else { return outcome }
                await clock.sleep(simulatedSeconds: 0.5 * Double(1 << (errors - 1)))
            }
        }
        return last
    }

    /// Sends one attempt on key `i`: outcome, the retry-after of a 429 (wall ns), usage, latency.
    private func send(key i: Int, input: Int, output: Int) -> (LLMOutcome, UInt64?, (Int, Int), UInt64, (rpm: Double, tpm: Double)?) {
        let body = requestBody(promptWords: max(1, input * 4 / 5), maxTokens: output)
        let timeoutMs = max(1, Int(config.llmTimeoutSeconds / clock.speed * 1000))
        let start = clock.nowNs()
        let result = http.post(url + "/chat/completions", headers: ["Authorization: Bearer \(aliases[i])"], body: body,
                               connectTimeoutMs: timeoutMs, timeoutMs: timeoutMs)
        let latency = clock.nowNs() &- start
        var limits: (rpm: Double, tpm: Double)?
        if case let .response(_, headers, _) = result, let r = headers["x-ratelimit-limit-requests"].flatMap(Double.init),
           let t = headers["x-ratelimit-limit-tokens"].flatMap(Double.init), r > 0, t > 0 {
            limits = (r, t)
        }
        switch result {
        case let .response(status, _, body) where status == 200:
            let usage = (Self.integer(of: Self.promptTokensKey, in: body) ?? input, Self.integer(of: Self.completionTokensKey, in: body) ?? output)
            return (.success, nil, usage, latency, limits)
        case let .response(status, headers, _) where status == 429:
            let ms = headers["retry-after-ms"].flatMap(Double.init) ?? headers["retry-after"].flatMap(Double.init).map { $0 * 1000 } ?? 1000
            return (.rateLimited, UInt64(ms * 1e6), (0, 0), latency, limits)
        case .response:
            return (.error, nil, (0, 0), latency, limits)
        case .timeout:
            return (.timeout, nil, (0, 0), latency, nil)
        case .failed:
            return (.error, nil, (0, 0), latency, nil)
        }
    }

    // MARK: request and response bytes

    /// Five bytes a word ("word "), 1,024 of them: prompts are cut from it.
    private static let wordBlock = Array(String(repeating: "word ", count: 1_024).utf8)
    private static let promptTokensKey = Array(#""prompt_tokens""#.utf8)
    private static let completionTokensKey = Array(#""completion_tokens""#.utf8)

    /// The chat-completions request: one user message of `promptWords` words (what the
    /// server counts the input tokens from), built as bytes without an intermediate string.
    private func requestBody(promptWords: Int, maxTokens: Int) -> [UInt8] {
        let head = Array(#"{"model":"\#(world.llm.model)","messages":[{"role":"user","content":""#.utf8)
        let tail = Array(#""}],"max_tokens":\#(maxTokens)}"#.utf8)
        var body: [UInt8] = []
        body.reserveCapacity(head.count + promptWords * 5 + tail.count)
        body.append(contentsOf: head)
        var remaining = promptWords * 5
        while remaining > 0 {
            let n = min(remaining, Self.wordBlock.count)
            body.append(contentsOf: Self.wordBlock[0..<n])
            remaining -= n
        }
        body.append(contentsOf: tail)
        return body
    }

    /// The non-negative integer after `"key":` in a JSON body (the usage object's counts: the
    /// only keys of those names in a chat completion), or nil.
    static func integer(of key: [UInt8], in body: [UInt8]) -> Int? {
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
        guard !key.isEmpty, body.count > key.count else { return nil }
        var i = 0
        while i <= body.count - key.count {
            defer { i += 1 }
            guard body[i] == key[0], body[i..<(i + key.count)].elementsEqual(key) else { continue }
            var j = i + key.count
            while j < body.count && isBlank(body[j]) { j += 1 }
            guard j < body.count, body[j] == UInt8(ascii: ":") else { continue }
            j += 1
            while j < body.count && isBlank(body[j]) { j += 1 }
            var value = 0
            var digits = 0
            while j < body.count && digits < 18, let d = Self.digit(body[j]) {
                value = value * 10 + d
                j += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        return nil
    }

    private static func digit(_ b: UInt8) -> Int? { b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil }

    // guide:begin live-llm-request
    private func emit(_ key: Int, _ outcome: LLMOutcome, _ usage: (Int, Int), _ latency: UInt64, _ waitNs: UInt64) {
        counters.update {
            $0.llmRequests += 1
            $0.rateLimitWaitTotalNs &+= waitNs
            switch outcome {
            case .success: $0.tokensInput += usage.0; $0.tokensOutput += usage.1
            case .rateLimited: $0.llmRateLimited += 1
            case .error: $0.llmErrors += 1
            case .timeout: $0.llmTimeouts += 1
            }
        }
        log?.emit(.llmRequest(provider: provider, model: model, key: keyLabels[key], outcome: outcome, inputTokens: UInt64(usage.0),
                              outputTokens: UInt64(usage.1), latencyNs: latency, rateLimitWaitNs: waitNs), at: clock.nowNs())
    }
    // guide:end live-llm-request

    // guide:begin live-limiter-sample
    /// The limiter's state now, as the simulated limiter samples it.
    func sample() {
        let now = scenarioNow()
        let (available, capacity, limit) = keys.withLock { k in
            k.states.reduce((0.0, 0.0, 0)) { ($0.0 + $1.rpm.available(now: now), $0.1 + $1.rpm.capacity, $0.2 + $1.limit) }
        }
        log?.emit(.rateLimiterSample(limiter: limiterLabel, available: UInt64(max(0, available)), capacity: UInt64(capacity),
                                     waiting: UInt64(max(0, waiting.load(ordering: .relaxed))), inflight: UInt64(max(0, inflight.load(ordering: .relaxed))),
                                     concurrencyLimit: UInt64(limit)), at: clock.nowNs())
    }
    // guide:end live-limiter-sample
}
