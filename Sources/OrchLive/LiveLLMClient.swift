import Foundation
import OrchLog
import OrchPricing
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
    /// Per key: when its provider limits were last emitted (wall ns).
    private let limitsEmittedAt: Locked<[UInt64]>

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
        limitsEmittedAt = Locked(Array(repeating: 0, count: states.count))
        func label(_ s: String) -> Label { log?.label(s) ?? Label(id: 0) }
        keyLabels = aliases.indices.map { label(world.llm.keys[min($0, world.llm.keys.count - 1)].alias) }
        provider = label(world.llm.provider)
        model = label(world.llm.model)
        rotationReason = label("rate_limited")
        limiterLabel = label("llm")
    }

    /// Whether key `k`'s provider limits are due to be emitted (a second since the last), and
    /// if so marks them emitted.
    private func limitsDue(_ k: Int, now: UInt64) -> Bool {
        limitsEmittedAt.withLock { at in
            guard k < at.count, at[k] == 0 || now &- at[k] >= 1_000_000_000 else { return false }
            at[k] = now
            return true
        }
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
    func request(input: Int, output: Int, caller: LiveCaller = .none) async -> LLMOutcome? {
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
            let answer = send(key: key, input: input, output: output)
            inflight.wrappingSubtract(1, ordering: .relaxed)
            let outcome = answer.outcome
            last = outcome
            if limited {
                release(key, coolForNs: outcome == .rateLimited ? UInt64(Double(answer.retryAfterNs ?? 1_000_000_000) * clock.speed) : nil, limits: answer.limits)
            }
            emit(key, answer, waitNs, caller)
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

    /// What one attempt got: the outcome, the retry-after of a 429 (wall ns), usage by type,
    /// latency, a streamed response's time to its first chunk, the limits the headers gave.
    struct Answer {
        var outcome: LLMOutcome
        var retryAfterNs: UInt64?
        var usage = TokenUsage(input: 0, output: 0)
        var reasoning: UInt64 = 0
        var latency: UInt64 = 0
        var firstChunkNs: UInt64 = 0
        var limitType = RateLimitType.unspecified
        /// x-ratelimit-limit-*: the key's quota per minute now.
        var limits: (rpm: Double, tpm: Double)?
        /// x-ratelimit-remaining-* and -reset-*.
        var remaining: ProviderLimits?
    }

    /// Sends one attempt on key `i` (streamed when the world's provider streams).
    private func send(key i: Int, input: Int, output: Int) -> Answer {
        let streamed = world.llm.streamed
        let body = requestBody(promptWords: max(1, input * 4 / 5), maxTokens: output, stream: streamed)
        let timeoutMs = max(1, Int(config.llmTimeoutSeconds / clock.speed * 1000))
        let start = clock.nowNs()
        let (result, firstByte) = http.postTimed(url + "/chat/completions", headers: ["Authorization: Bearer \(aliases[i])"], body: body,
                                                 connectTimeoutMs: timeoutMs, timeoutMs: timeoutMs)
        var a = Answer(outcome: .error, latency: clock.nowNs() &- start)
        if case let .response(_, headers, _) = result {
            if let r = headers["x-ratelimit-limit-requests"].flatMap(Double.init), let t = headers["x-ratelimit-limit-tokens"].flatMap(Double.init), r > 0, t > 0 {
                a.limits = (r, t)
            }
            if let r = headers["x-ratelimit-remaining-requests"].flatMap(UInt64.init), let t = headers["x-ratelimit-remaining-tokens"].flatMap(UInt64.init) {
                a.remaining = ProviderLimits(remainingRequests: r, remainingTokens: t,
                                             resetRequestsNs: headers["x-ratelimit-reset-requests"].flatMap(Self.goDurationNs) ?? 0,
                                             resetTokensNs: headers["x-ratelimit-reset-tokens"].flatMap(Self.goDurationNs) ?? 0)
            }
        }
        switch result {
        case let .response(status, headers, body) where status == 200:
            // OpenAI's usage: prompt_tokens include the cached ones (and a gateway's cache
            // writes); input_tokens are the rest.
            let prompt = Self.integer(of: Self.promptTokensKey, in: body) ?? input
            let cached = Self.integer(of: Self.cachedTokensKey, in: body) ?? 0
            let written = Self.integer(of: Self.cacheCreationKey, in: body) ?? 0
            a.outcome = .success
            a.usage = TokenUsage(input: UInt64(max(0, prompt - cached - written)), output: UInt64(Self.integer(of: Self.completionTokensKey, in: body) ?? output),
                                 cacheRead: UInt64(cached), cacheWrite: UInt64(written))
            a.reasoning = UInt64(Self.integer(of: Self.reasoningTokensKey, in: body) ?? 0)
            if streamed, headers["content-type"]?.hasPrefix("text/event-stream") == true, let firstByte { a.firstChunkNs = max(1, firstByte) }
        case let .response(status, headers, body) where status == 429:
            let ms = headers["retry-after-ms"].flatMap(Double.init) ?? headers["retry-after"].flatMap(Double.init).map { $0 * 1000 } ?? 1000
            a.outcome = .rateLimited
            a.retryAfterNs = UInt64(ms * 1e6)
            a.limitType = Self.limitType(body)
        case .response:
            a.outcome = .error
        case .timeout:
            a.outcome = .timeout
            a.limits = nil
        case .failed:
            a.outcome = .error
        }
        return a
    }

    /// The limit a 429's body names: OpenAI's `"type":"requests"`/`"tokens"`, reference-backends'
    /// `concurrency` and `quota` (`insufficient_quota` too).
    static func limitType(_ body: [UInt8]) -> RateLimitType {
        let text = String(decoding: body.prefix(2_048), as: UTF8.self)
        if text.contains("insufficient_quota") || text.contains(#""type":"quota""#) { return .quota }
        if text.contains(#""type":"concurrency""#) { return .concurrency }
        if text.contains(#""type":"tokens""#) { return .tokens }
        if text.contains(#""type":"requests""#) { return .requests }
        return .unspecified
    }

    /// A Go duration as OpenAI's `x-ratelimit-reset-*` give it ("1s", "6m0s", "250ms", "1h2m3.5s") in ns.
    static func goDurationNs(_ text: String) -> UInt64? {
        var total = 0.0
        var number = ""
        var chars = Array(text)
        var i = 0
        var any = false
        while i < chars.count {
            let c = chars[i]
            if c.isNumber || c == "." {
                number.append(c)
                i += 1
                continue
            }
            var unit = String(c)
            if i + 1 < chars.count, chars[i + 1] == "s", c != "s" { unit.append("s"); i += 1 }
            i += 1
            guard let v = Double(number) else { return nil }
            let scale: Double
            switch unit {
            case "h": scale = 3_600e9
            case "m": scale = 60e9
            case "s": scale = 1e9
            case "ms": scale = 1e6
            case "us", "µs": scale = 1e3
            case "ns": scale = 1
            default: return nil
            }
            total += v * scale
            number = ""
            any = true
        }
        chars.removeAll()
        guard any, number.isEmpty, total.isFinite, total >= 0, total < 1.8e19 else { return nil }
        return UInt64(total.rounded())
    }

    // MARK: request and response bytes

    /// Five bytes a word ("word "), 1,024 of them: prompts are cut from it.
    private static let wordBlock = Array(String(repeating: "word ", count: 1_024).utf8)
    private static let promptTokensKey = Array(#""prompt_tokens""#.utf8)
    private static let completionTokensKey = Array(#""completion_tokens""#.utf8)
    private static let cachedTokensKey = Array(#""cached_tokens""#.utf8)
    private static let cacheCreationKey = Array(#""cache_creation_input_tokens""#.utf8)
    private static let reasoningTokensKey = Array(#""reasoning_tokens""#.utf8)

    /// The chat-completions request: one user message of `promptWords` words (what the
    /// server counts the input tokens from), built as bytes without an intermediate string.
    private func requestBody(promptWords: Int, maxTokens: Int, stream: Bool) -> [UInt8] {
        let head = Array(#"{"model":"\#(world.llm.model)","messages":[{"role":"user","content":""#.utf8)
        let streaming = stream ? #","stream":true,"stream_options":{"include_usage":true}"# : ""
        let tail = Array(#""}],"max_tokens":\#(maxTokens)\#(streaming)}"#.utf8)
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
    private func emit(_ key: Int, _ a: Answer, _ waitNs: UInt64, _ caller: LiveCaller) {
        counters.update {
            $0.llmRequests += 1
            $0.rateLimitWaitTotalNs &+= waitNs
            switch a.outcome {
            case .success: $0.tokensInput += Int(a.usage.input); $0.tokensOutput += Int(a.usage.output)
            case .rateLimited: $0.llmRateLimited += 1
            case .error: $0.llmErrors += 1
            case .timeout: $0.llmTimeouts += 1
            }
        }
        counters.countLLM(provider: world.llm.provider, model: world.llm.model, a.usage, reasoning: a.reasoning, invocation: caller.invocation)
        let now = clock.nowNs()
        log?.emit(.llmRequest(provider: provider, model: model, key: keyLabels[key], outcome: a.outcome, inputTokens: a.usage.input,
                              outputTokens: a.usage.output, latencyNs: a.latency, rateLimitWaitNs: waitNs,
                              invocationID: caller.invocation, agent: caller.agent, cacheReadTokens: a.usage.cacheRead,
                              cacheWriteTokens: a.usage.cacheWrite, reasoningTokens: a.reasoning, streamed: a.firstChunkNs > 0,
                              timeToFirstChunkNs: a.firstChunkNs, rateLimitType: a.limitType,
                              origin: a.outcome == .rateLimited ? .provider : .unspecified), at: now)
        // What the provider's headers said: every 429's, else at most one a second per key.
        if let r = a.remaining, a.outcome == .rateLimited || limitsDue(key, now: now) {
            counters.update { $0.providerLimitEvents += 1 }
            log?.emit(.llmProviderLimits(provider: provider, model: model, key: keyLabels[key], remainingRequests: r.remainingRequests,
                                         remainingTokens: r.remainingTokens, resetRequestsNs: r.resetRequestsNs, resetTokensNs: r.resetTokensNs), at: now)
        }
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
