import OrchLog
import OrchPricing

/// How an LLM call ended for the agent (after the client's retries).
enum LLMResult {
    case ok
    case failed(LLMOutcome)
}

/// The LLM request queue.
///
/// With the limiter on: requests wait in one first-come-first-served queue; the head is
/// admitted on the current API key when that key's requests-per-minute and
/// tokens-per-minute buckets hold enough and its in-flight count is under the concurrency
/// limit, else on the next key that can take it (rotating the current key away from one that
/// is exhausted or was answered 429). A 429 suspends the key for its `retry-after`, halves
/// the share of the key's concurrency limit the client uses (grown back one success at a
/// time) and puts the request back at the head; errors back off exponentially. The queue's length is the
/// backpressure signal the request queue reads.
///
/// With it off: one key, every request sent at once, a 429 retried after a fixed short
/// delay whatever the `retry-after` said.
final class LLMClient {
    private struct Request {
        let input: Int
        let output: Int
        /// The invocation that asked, and its agent (tied to its events).
        let invocation: UInt64
        let agent: Label
        var attempt: Int
        var enqueuedAt: UInt64
        let done: (LLMResult) -> Void
    }

    private struct Key {
        let index: Int
        let label: Label
        var rpm: TokenBucket
        var tpm: TokenBucket
        let limit: Int
        var inflight = 0
        var suspendedUntil: UInt64 = 0
        /// Additive-increase/multiplicative-decrease share of `limit` the client uses: halved
        /// on a 429, grown back on successes, so a key whose quota was cut stops being hammered.
        var scale = 1.0
        /// When the key's provider limits were last emitted (at most one a second, and every 429).
        var limitsEmittedAt: UInt64 = 0

        var effectiveLimit: Int { max(1, Int(Double(limit) * scale)) }
    }

    private enum Blocker { case none, suspended, rpm, tpm, concurrency }

    private let config: OrchestratorConfig
    private let backend: LLMBackend
    private let scheduler: Scheduler
    private let telemetry: Telemetry
    private let counters: Counters
    private let limited: Bool
    private var keys: [Key]
    private var current = 0
    private var waiting: [Request] = []
    private var head = 0
    private var wakeAt: UInt64 = .max
    private let providerLabel: Label
    private let modelLabel: Label
    private let timeoutNs: UInt64
    /// Requests past the limiter (with it off: every outstanding request, retries included).
    private(set) var inflight = 0
    private var rateLimitedReasons: [Label]
    private let model: String
    private let pricing: PriceTable

    init(config: OrchestratorConfig, model: String, backend: LLMBackend, scheduler: Scheduler, telemetry: Telemetry, counters: Counters,
         pricing: PriceTable = PriceTable()) {
        self.config = config
        self.model = model
        self.pricing = pricing
        self.backend = backend
        self.scheduler = scheduler
        self.telemetry = telemetry
        self.counters = counters
        limited = config.components.rateLimiter
        let count = limited ? max(1, min(config.llmKeys, backend.keyAliases.count)) : 1
        keys = []
        // Without provider limits to read, the client is configured from the provider's
        // documented tier (ProviderKeyConfig) scaled by the headroom.
        for i in 0..<count {
            keys.append(Key(index: i, label: telemetry.label(backend.keyAliases[i]), rpm: TokenBucket(capacity: 0, ratePerSecond: 0),
                            tpm: TokenBucket(capacity: 0, ratePerSecond: 0), limit: backend.concurrencyLimit(key: i)))
        }
        providerLabel = telemetry.label(backend.provider)
        modelLabel = telemetry.label(model)
        timeoutNs = UInt64(config.llmTimeoutSeconds * 1e9)
        rateLimitedReasons = ["rate_limited", "rpm_exhausted", "tpm_exhausted"].map { telemetry.label($0) }
    }

    /// Sets the client-side buckets of key `i` from the tier's per-minute limits.
    func configureKey(_ i: Int, rpm: Double, tpm: Double, burstSeconds: Double) {
        guard i < keys.count else { return }
        let h = config.limiterHeadroom
        keys[i].rpm = .perMinute(rpm * h, burstSeconds: burstSeconds, now: scheduler.now)
        keys[i].tpm = .perMinute(tpm * h, burstSeconds: burstSeconds, now: scheduler.now)
    }

    /// Requests waiting in the limiter.
    var waitingCount: Int { waiting.count - head }

    /// The sum of the keys' concurrency limits in use.
    var concurrencyLimit: Int { keys.reduce(0) { $0 + $1.limit } }

    /// Requests one completion of `input` prompt tokens and `output` generated tokens for
    /// invocation `invocation` of `agent`.
    func request(input: Int, output: Int, invocation: UInt64 = 0, agent: Label = .none, done: @escaping (LLMResult) -> Void) {
        let r = Request(input: input, output: output, invocation: invocation, agent: agent, attempt: 1, enqueuedAt: scheduler.now, done: done)
        if limited {
            waiting.append(r)
            pump()
            counters.maxWaiting = max(counters.maxWaiting, waitingCount)
        } else {
            inflight += 1
            counters.maxInflight = max(counters.maxInflight, inflight)
            sendNaive(r)
        }
    }

    /// Emits a `rate_limiter_sample`.
    func sample() {
        let now = scheduler.now
        if limited {
            let available = keys.reduce(0.0) { $0 + $1.rpm.available(now: now) }
            let capacity = keys.reduce(0.0) { $0 + $1.rpm.capacity }
            telemetry.emit(.rateLimiterSample(limiter: providerLabel, available: UInt64(available), capacity: UInt64(capacity),
                                              waiting: UInt64(waitingCount), inflight: UInt64(inflight), concurrencyLimit: UInt64(concurrencyLimit)))
        } else {
            telemetry.emit(.rateLimiterSample(limiter: providerLabel, available: 0, capacity: 0, waiting: 0,
                                              inflight: UInt64(inflight), concurrencyLimit: UInt64(concurrencyLimit)))
        }
    }

    // MARK: naive

    private func sendNaive(_ r: Request) {
        let sent = scheduler.now
        send(key: 0, r) { [self] outcome, retryAfter, reply in
            emitRequest(key: 0, r, outcome, reply, sent: sent, wait: 0)
            if outcome == .success {
                inflight -= 1
                r.done(.ok)
                return
            }
            guard r.attempt <= config.naiveRetries else {
                inflight -= 1
                r.done(.failed(outcome))
                return
            }
            var next = r
            next.attempt += 1
            if outcome == .rateLimited {
                scheduler.schedule(after: UInt64(config.naiveRetryDelaySeconds * 1e9)) { self.sendNaive(next) }
            } else {
                sendNaive(next)
            }
        }
    }

    // MARK: limiter

    private func blocker(_ k: Int, tokens: Double, now: UInt64) -> Blocker {
        if keys[k].suspendedUntil > now { return .suspended }
        if keys[k].inflight >= keys[k].effectiveLimit { return .concurrency }
        if !keys[k].rpm.canTake(1, now: now) { return .rpm }
        if !keys[k].tpm.canTake(tokens, now: now) { return .tpm }
        return .none
    }

    /// Admits waiting requests in order while a key can take the head.
    private func pump() {
        let now = scheduler.now
        while head < waiting.count {
            let r = waiting[head]
            let tokens = Double(r.input + r.output)
            let currentBlocker = blocker(current, tokens: tokens, now: now)
            var chosen: Int? = currentBlocker == .none ? current : nil
            if chosen == nil {
                for step in 1..<max(2, keys.count + 1) where keys.count > 1 {
                    let k = (current + step) % keys.count
                    if blocker(k, tokens: tokens, now: now) == .none { chosen = k; break }
                }
            }
            guard let k = chosen else {
                scheduleWake(tokens: tokens, now: now)
                break
            }
            if k != current && currentBlocker != .concurrency {
                // The current key is exhausted or rate limited: rotate to the one that can serve.
                let reason: Label
                switch currentBlocker {
                case .suspended: reason = rateLimitedReasons[0]
                case .rpm: reason = rateLimitedReasons[1]
                default: reason = rateLimitedReasons[2]
                }
                counters.keyRotations += 1
                telemetry.emit(.keyRotation(provider: providerLabel, from: keys[current].label, to: keys[k].label, reason: reason))
                current = k
            }
            head += 1
            dispatch(r, key: k, now: now)
        }
        if head > 1024 && head * 2 > waiting.count {
            waiting.removeFirst(head)
            head = 0
        }
    }

    /// Arranges a pump when the earliest key could take `tokens` (a completion pumps too).
    private func scheduleWake(tokens: Double, now: UInt64) {
        var earliest = UInt64.max
        for k in keys.indices where keys[k].inflight < keys[k].effectiveLimit {
            let bucket = max(keys[k].rpm.waitTime(1, now: now), keys[k].tpm.waitTime(tokens, now: now))
            guard bucket != .max else { continue }
            earliest = min(earliest, max(keys[k].suspendedUntil, now &+ bucket))
        }
        guard earliest != .max, earliest < wakeAt || wakeAt <= now else { return }
        wakeAt = max(earliest, now + 1)
        scheduler.schedule(at: wakeAt) { [self] in
            if scheduler.now >= wakeAt { wakeAt = .max }
            pump()
        }
    }

    private func dispatch(_ r: Request, key k: Int, now: UInt64) {
        keys[k].rpm.take(1, now: now)
        keys[k].tpm.take(Double(r.input + r.output), now: now)
        keys[k].inflight += 1
        inflight += 1
        counters.maxInflight = max(counters.maxInflight, inflight)
        let wait = now - r.enqueuedAt
        counters.rateLimitWaitTotalNs &+= wait
        send(key: k, r) { [self] outcome, retryAfter, reply in
            keys[k].inflight -= 1
            inflight -= 1
            emitRequest(key: k, r, outcome, reply, sent: now, wait: wait)
            switch outcome {
            case .success:
                keys[k].scale = min(1, keys[k].scale + 0.5 / Double(keys[k].limit))
                r.done(.ok)
            case .rateLimited:
                keys[k].scale = max(1 / Double(keys[k].limit), keys[k].scale * 0.5)
                keys[k].suspendedUntil = max(keys[k].suspendedUntil, scheduler.now + retryAfter)
                if r.attempt < config.limiterAttempts {
                    var again = r
                    again.attempt += 1
                    again.enqueuedAt = scheduler.now
                    // Back to the head of the queue: it has waited longest.
                    if head > 0 { head -= 1; waiting[head] = again } else { waiting.insert(again, at: 0) }
                } else {
                    r.done(.failed(.rateLimited))
                }
            case .error, .timeout:
                if r.attempt < min(3, config.limiterAttempts) {
                    var again = r
                    again.attempt += 1
                    let backoff = UInt64(500_000_000) << UInt64(r.attempt - 1)
                    scheduler.schedule(after: backoff) { [self] in
                        again.enqueuedAt = scheduler.now
                        waiting.append(again)
                        pump()
                    }
                } else {
                    r.done(.failed(outcome))
                }
            }
            pump()
        }
    }

    // MARK: common

    /// Sends one attempt, racing the request timeout; `done` gets the outcome, the
    /// retry-after of a 429 and the reply (nil on a timeout).
    private func send(key k: Int, _ r: Request, done: @escaping (LLMOutcome, UInt64, LLMReply?) -> Void) {
        let once = Once()
        backend.send(LLMCall(key: k, inputTokens: r.input, outputTokens: r.output)) { reply in
            guard once.claim() else { return }
            switch reply {
            case .success: done(.success, 0, reply)
            case .rateLimited(let after, _, _): done(.rateLimited, after, reply)
            case .error: done(.error, 0, reply)
            }
        }
        scheduler.schedule(after: timeoutNs) {
            guard once.claim() else { return }
            done(.timeout, 0, nil)
        }
    }

    private func emitRequest(key k: Int, _ r: Request, _ outcome: LLMOutcome, _ reply: LLMReply?, sent: UInt64, wait: UInt64) {
        counters.llmRequests += 1
        var usage = TokenUsage(input: 0, output: 0)
        var reasoning: UInt64 = 0, firstChunk: UInt64 = 0
        var limitType = RateLimitType.unspecified, origin = RateLimitOrigin.unspecified
        var limits: ProviderLimits?
        switch reply {
        case .success(let response)?:
            // input_tokens are the prompt tokens the cache neither served nor stored.
            let cached = min(r.input, response.cacheReadTokens + response.cacheWriteTokens)
            usage = TokenUsage(input: UInt64(r.input - cached), output: UInt64(r.output), cacheRead: UInt64(response.cacheReadTokens),
                               cacheWrite: UInt64(response.cacheWriteTokens))
            reasoning = UInt64(response.reasoningTokens)
            firstChunk = response.timeToFirstChunkNs
            limits = response.limits
        case .rateLimited(_, let type, let headers)?:
            limitType = type
            origin = .provider
            limits = headers
        default: break
        }
        switch outcome {
        case .success:
            counters.tokensInput += Int(usage.input)
            counters.tokensOutput += Int(usage.output)
        case .rateLimited: counters.llmRateLimited += 1
        case .error: counters.llmErrors += 1
        case .timeout: counters.llmTimeouts += 1
        }
        counters.tokensCacheRead += Int(usage.cacheRead)
        counters.tokensCacheWrite += Int(usage.cacheWrite)
        counters.tokensReasoning += Int(reasoning)
        let (usd, unpriced) = pricing.cost(provider: backend.provider, model: model, usage)
        counters.costUSD += usd
        counters.unpricedTokens += Int(unpriced)
        counters.book.llm(r.invocation, usage, reasoning: reasoning, usd: usd)
        telemetry.emit(.llmRequest(provider: providerLabel, model: modelLabel, key: keys[k].label, outcome: outcome,
                                   inputTokens: usage.input, outputTokens: usage.output, latencyNs: scheduler.now - sent, rateLimitWaitNs: wait,
                                   invocationID: r.invocation, agent: r.agent, cacheReadTokens: usage.cacheRead, cacheWriteTokens: usage.cacheWrite,
                                   reasoningTokens: reasoning, streamed: firstChunk > 0, timeToFirstChunkNs: firstChunk,
                                   rateLimitType: limitType, origin: origin))
        if let limits, outcome == .rateLimited || scheduler.now &- keys[k].limitsEmittedAt >= 1_000_000_000 || keys[k].limitsEmittedAt == 0 {
            keys[k].limitsEmittedAt = scheduler.now
            counters.providerLimitEvents += 1
            telemetry.emit(.llmProviderLimits(provider: providerLabel, model: modelLabel, key: keys[k].label, remainingRequests: limits.remainingRequests,
                                              remainingTokens: limits.remainingTokens, resetRequestsNs: limits.resetRequestsNs, resetTokensNs: limits.resetTokensNs))
        }
    }
}
