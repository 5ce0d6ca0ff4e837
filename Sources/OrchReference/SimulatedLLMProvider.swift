import OrchLog

/// A simulated LLM API: per-key concurrency, requests-per-minute and tokens-per-minute
/// limits enforced with 429 + `retry-after`, latency growing with tokens, occasional 5xx,
/// and scripted quota cuts.
public final class SimulatedLLMProvider: LLMBackend {
    private struct KeyState {
        var config: ProviderKeyConfig
        var active = 0
        var rpm: TokenBucket
        var tpm: TokenBucket
        var fraction = 1.0
        var served = 0
    }

    public let config: LLMProviderConfig
    private let scheduler: Scheduler
    private var rng: RandomSource
    private var keys: [KeyState]
    private let cuts: [Fault]
    private let slowdowns: [Fault]

    public var provider: String { config.provider }
    public let keyAliases: [String]

    private let latencyScale: Double

    init(config: LLMProviderConfig, faults: [Fault], scheduler: Scheduler, seed: UInt64, latencyScale: Double = 1) {
        self.config = config
        self.latencyScale = latencyScale
        self.scheduler = scheduler
        rng = RandomSource(seed: seed)
        keys = config.keys.map {
            KeyState(config: $0, rpm: .perMinute($0.rpm, burstSeconds: config.burstSeconds),
                     tpm: .perMinute($0.tpm, burstSeconds: config.burstSeconds))
        }
        keyAliases = config.keys.map(\.alias)
        cuts = faults.filter { if case .llmQuotaCut = $0.kind { return true } else { return false } }
        slowdowns = faults.filter { if case .llmSlow = $0.kind { return true } else { return false } }
    }

    public func concurrencyLimit(key: Int) -> Int { config.keys[key].concurrency }

    /// Requests the provider is serving now, over all keys.
    var active: Int { keys.reduce(0) { $0 + $1.active } }

    private func applyQuota(_ k: Int, now: UInt64) {
        var fraction = 1.0
        for fault in cuts where fault.active(at: now) {
            if case let .llmQuotaCut(aliases, f) = fault.kind, aliases.contains(keys[k].config.alias) { fraction = min(fraction, f) }
        }
        guard fraction != keys[k].fraction else { return }
        keys[k].fraction = fraction
        let c = keys[k].config
        keys[k].rpm.reconfigure(capacity: max(1, c.rpm * fraction * config.burstSeconds / 60), ratePerSecond: c.rpm * fraction / 60, now: now)
        keys[k].tpm.reconfigure(capacity: max(1, c.tpm * fraction * config.burstSeconds / 60), ratePerSecond: c.tpm * fraction / 60, now: now)
    }

    public func send(_ call: LLMCall, reply: @escaping (LLMReply) -> Void) {
        let now = scheduler.now
        let k = call.key
        applyQuota(k, now: now)
        let rejectNs = UInt64(config.rejectLatencySeconds * latencyScale * 1e9)
        let limit = max(1, Int((Double(keys[k].config.concurrency) * keys[k].fraction).rounded(.up)))
        if keys[k].active >= limit {
            // Rejected requests still count against the per-minute request limit (as the
            // big providers document), so resending at once only digs deeper.
            keys[k].rpm.take(1, now: now)
            let retry = UInt64(config.concurrencyRetryAfterSeconds * 1e9)
            let limits = headers(k, now: now)
            let type: RateLimitType = keys[k].fraction < 1 ? .quota : .concurrency
            scheduler.schedule(after: rejectNs) { reply(.rateLimited(retryAfterNs: retry, limit: type, limits: limits)) }
            return
        }
        let tokens = Double(call.inputTokens + call.outputTokens)
        let requestsLeft = keys[k].rpm.canTake(1, now: now)
        if !requestsLeft || !keys[k].tpm.canTake(tokens, now: now) {
            let wait = max(keys[k].rpm.waitTime(1, now: now), keys[k].tpm.waitTime(tokens, now: now))
            // retry-after is whole seconds, as the header is.
            let retry = max(1, (wait + 999_999_999) / 1_000_000_000) * 1_000_000_000
            // Under a quota cut the limit hit is the cut quota.
            let type: RateLimitType = keys[k].fraction < 1 ? .quota : (requestsLeft ? .tokens : .requests)
            let limits = headers(k, now: now)
            scheduler.schedule(after: rejectNs) { reply(.rateLimited(retryAfterNs: retry, limit: type, limits: limits)) }
            return
        }
        keys[k].rpm.take(1, now: now)
        keys[k].tpm.take(tokens, now: now)
        keys[k].active += 1
        let median = config.baseLatencySeconds + Double(call.inputTokens) * config.secondsPerInputToken
            + Double(call.outputTokens) * config.secondsPerOutputToken
        var slow = 1.0
        for fault in slowdowns where fault.active(at: now) {
            if case .llmSlow(let factor) = fault.kind { slow *= max(0, factor) }
        }
        var latency = rng.latency(LatencyDistribution(medianSeconds: median * latencyScale * slow, sigma: config.latencySigma))
        let failed = rng.chance(config.errorRate)
        if failed { latency /= 3 }
        // Usage: the cached prefix of the prompt, the reasoning part of the completion; the
        // first chunk of a stream once the prompt is processed.
        keys[k].served += 1
        let prefix = Int(Double(call.inputTokens) * config.promptCacheShare)
        let writes = config.cacheWriteEvery > 0 && keys[k].served % config.cacheWriteEvery == 1
        let prefill = config.baseLatencySeconds + Double(call.inputTokens) * config.secondsPerInputToken
        var response = LLMResponse(cacheReadTokens: writes ? 0 : prefix, cacheWriteTokens: writes ? prefix : 0,
                                   reasoningTokens: Int(Double(call.outputTokens) * config.reasoningShare),
                                   timeToFirstChunkNs: config.streamed ? max(1, UInt64(Double(latency) * min(1, prefill / median))) : 0)
        response.limits = headers(k, now: now)
        scheduler.schedule(after: latency) { [self] in
            keys[k].active -= 1
            reply(failed ? .error : .success(response))
        }
    }

    /// The `x-ratelimit-*` headers of key `k` now: what its buckets hold, and when they are full.
    private func headers(_ k: Int, now: UInt64) -> ProviderLimits {
        let rpm = keys[k].rpm, tpm = keys[k].tpm
        return ProviderLimits(remainingRequests: UInt64(max(0, rpm.available(now: now))), remainingTokens: UInt64(max(0, tpm.available(now: now))),
                              resetRequestsNs: min(rpm.waitTime(rpm.capacity, now: now), 3_600_000_000_000),
                              resetTokensNs: min(tpm.waitTime(tpm.capacity, now: now), 3_600_000_000_000))
    }
}
