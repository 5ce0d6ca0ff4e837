// Guide section "The LLM client" (docs/instrumenting.md).
import Glibc
import OrchLog
import Synchronization

// guide:begin llm
/// What the provider's API answered.
enum LLMResponse: Sendable {
    case completion(text: String, inputTokens: UInt64, outputTokens: UInt64)
    case rateLimited  // HTTP 429
    case failed
}

/// An LLM client behind a client-side concurrency limit, rotating API keys on 429.
final class LLMClient: Sendable {
    typealias Send = @Sendable (_ keyIndex: Int, _ prompt: String) -> LLMResponse
    private let log: EventLog
    private let provider: Label, model: Label, limiter: Label, rateLimited: Label
    private let keys: [Label]                   // key *aliases*, never the secrets
    private let concurrencyLimit: Int
    private let state = Mutex((inflight: 0, waiting: 0, keyIndex: 0))
    private let send: Send

    init(log: EventLog, provider: String, model: String, keyAliases: [String],
         concurrencyLimit: Int, send: @escaping Send) {
        self.log = log
        self.provider = log.label(provider)
        self.model = log.label(model)
        self.limiter = log.label(provider + "-concurrency")
        self.rateLimited = log.label("rate_limited")
        self.keys = keyAliases.map(log.label)
        self.concurrencyLimit = concurrencyLimit
        self.send = send
    }

    func complete(_ prompt: String) -> String? {
        let waitStart = monotonicNs()
        let key = acquire()
        let waitedNs = monotonicNs() - waitStart
        let start = monotonicNs()
        let response = send(key, prompt)
        let latencyNs = monotonicNs() - start
        release()
        switch response {
        case let .completion(text, input, output):
            log.emit(.llmRequest(provider: provider, model: model, key: keys[key], outcome: .success,
                                 inputTokens: input, outputTokens: output,
                                 latencyNs: latencyNs, rateLimitWaitNs: waitedNs))
            return text
        case .rateLimited:
            // A 429 from the provider (origin), and what its x-ratelimit-* headers said.
            log.emit(.llmRequest(provider: provider, model: model, key: keys[key], outcome: .rateLimited,
                                 inputTokens: 0, outputTokens: 0, latencyNs: latencyNs, rateLimitWaitNs: waitedNs,
                                 rateLimitType: .requests, origin: .provider))
            log.emit(.llmProviderLimits(provider: provider, model: model, key: keys[key], remainingRequests: 0,
                                        remainingTokens: 0, resetRequestsNs: 1_000_000_000, resetTokensNs: 0))
            rotateKey(from: key)
            return nil
        case .failed:
            log.emit(.llmRequest(provider: provider, model: model, key: keys[key], outcome: .error,
                                 inputTokens: 0, outputTokens: 0, latencyNs: latencyNs, rateLimitWaitNs: waitedNs))
            return nil
        }
    }

    /// Called by the sampler: in-flight requests against the limit, and who is waiting.
    func sample() {
        let s = state.withLock { $0 }
        let free = UInt64(max(0, concurrencyLimit - s.inflight))
        log.emit(.rateLimiterSample(limiter: limiter, available: free, capacity: UInt64(concurrencyLimit),
                                    waiting: UInt64(s.waiting), inflight: UInt64(s.inflight),
                                    concurrencyLimit: UInt64(concurrencyLimit)))
    }

    private func acquire() -> Int {
        state.withLock { $0.waiting += 1 }
        while true {
            let key = state.withLock { s -> Int? in
                guard s.inflight < concurrencyLimit else { return nil }
                s.inflight += 1
                s.waiting -= 1
                return s.keyIndex
            }
            if let key { return key }
            usleep(1_000)  // a real client awaits a continuation here
        }
    }

    private func release() { state.withLock { $0.inflight -= 1 } }

    private func rotateKey(from old: Int) {
        let new = state.withLock { s -> Int? in
            guard s.keyIndex == old, keys.count > 1 else { return nil }  // someone already rotated
            s.keyIndex = (old + 1) % keys.count
            return s.keyIndex
        }
        if let new {
            log.emit(.keyRotation(provider: provider, from: keys[old], to: keys[new], reason: rateLimited))
        }
    }
}
// guide:end llm
