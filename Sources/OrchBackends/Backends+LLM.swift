import Foundation
import OrchReference

/// `POST /v1/chat/completions`: the simulated provider's limits and latencies, for real.
extension Backends {
    /// A Go-style duration as OpenAI's `x-ratelimit-reset-*` headers give it ("1s", "6m0s", "250ms").
    static func resetText(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 1 { return "\(Int((s * 1000).rounded(.up)))ms" }
        if s < 60 { return String(format: "%.3gs", s) }
        return "\(Int(s) / 60)m\(Int(s) % 60)s"
    }

    func chatCompletion(_ r: BackendRequest) -> BackendResponse {
        let auth = r.headers["authorization"] ?? ""
        guard auth.hasPrefix("Bearer ") else {
            return .json(401, #"{"error":{"message":"missing Authorization: Bearer KEY","type":"invalid_request_error","code":"invalid_api_key"}}"#)
        }
        let key = String(auth.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard keysLock({ $0[key] != nil }) else {
            return .json(401, #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#)
        }
        guard let o = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any],
              let messages = o["messages"] as? [[String: Any]] else {
            return .json(400, #"{"error":{"message":"body must be a JSON object with messages","type":"invalid_request_error"}}"#)
        }
        let model = o["model"] as? String ?? world.llm.model
        let stream = o["stream"] as? Bool ?? false
        let chars = messages.reduce(0) { $0 + (($1["content"] as? String)?.utf8.count ?? 0) + 16 }
        let input = max(1, chars / 4)
        let output = max(1, (o["max_completion_tokens"] as? Int) ?? (o["max_tokens"] as? Int) ?? 256)
        let now = scenarioNs()
        let cut = activeFaults().filter { $0.kind == "llm_quota_cut" }.map(\.value).min() ?? 1

        enum Admission { case unknownKey, limited(retryAfter: Double, type: String, headers: [(String, String)]), admitted([(String, String)], served: Int) }
        let admission: Admission = keysLock { keys in
            guard var k = keys[key] else { return .unknownKey }
            if k.fraction != cut {
                k.fraction = cut
                let c = k.config, burst = world.llm.burstSeconds
                k.rpm.reconfigure(capacity: max(1, c.rpm * cut * burst / 60), ratePerSecond: c.rpm * cut / 60, now: now)
                k.tpm.reconfigure(capacity: max(1, c.tpm * cut * burst / 60), ratePerSecond: c.tpm * cut / 60, now: now)
            }
            k.requests += 1
            let limit = max(1, Int((Double(k.config.concurrency) * k.fraction).rounded(.up)))
            let tokens = Double(input + output)
            var retry: Double?
            var type = "requests"
            if k.active >= limit {
                // Rejected requests still count against the per-minute request limit.
                _ = k.rpm.take(1, now: now)
                retry = world.llm.concurrencyRetryAfterSeconds
                type = k.fraction < 1 ? "quota" : "concurrency"
            } else if !k.rpm.canTake(1, now: now) || !k.tpm.canTake(tokens, now: now) {
                let wait = max(k.rpm.waitTime(1, now: now), k.tpm.waitTime(tokens, now: now))
                retry = max(1, (Double(wait) / 1e9).rounded(.up))
                // The error's type names the limit hit (a cut quota under a quota cut).
                type = k.fraction < 1 ? "quota" : (k.rpm.canTake(1, now: now) ? "tokens" : "requests")
            } else {
                _ = k.rpm.take(1, now: now)
                _ = k.tpm.take(tokens, now: now)
                k.active += 1
                k.maxActive = max(k.maxActive, k.active)
            }
            if retry != nil { k.rateLimited += 1 }
            let headers = rateHeaders(k, now: now)
            keys[key] = k
            if let retry { return .limited(retryAfter: retry, type: type, headers: headers) }
            return .admitted(headers, served: k.requests)
        }
        switch admission {
        case .unknownKey:
            return .json(401, #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#)
        case let .limited(retryAfter, type, headers):
            sleep(scenarioSeconds: world.llm.rejectLatencySeconds)
            let wall = retryAfter / speed
            return .json(429, #"{"error":{"message":"Rate limit reached for \#(model) on key \#(key)","type":"\#(type)","code":"rate_limit_exceeded"}}"#,
                         headers: headers + [("Retry-After", String(Int(wall.rounded(.up)))), ("retry-after-ms", String(Int((wall * 1000).rounded(.up))))])
        case let .admitted(headers, served):
            let p = world.llm
            let median = p.baseLatencySeconds + Double(input) * p.secondsPerInputToken + Double(output) * p.secondsPerOutputToken
            let (latency, failed) = rngLock { r in
                (r.latency(LatencyDistribution(medianSeconds: median * world.latencyScale, sigma: p.latencySigma)), r.chance(p.errorRate))
            }
            // Usage as the simulated provider has it: a cached prompt prefix (written to the
            // cache every `cacheWriteEvery`-th request of a key), a reasoning share.
            let prefix = Int(Double(input) * p.promptCacheShare)
            let writes = p.cacheWriteEvery > 0 && served % p.cacheWriteEvery == 1
            let usage = Usage(prompt: input, completion: output, cached: writes ? 0 : prefix, written: writes ? prefix : 0,
                              reasoning: Int(Double(output) * p.reasoningShare))
            if failed || !stream {
                sleep(scenarioSeconds: Double(failed ? latency / 3 : latency) / 1e9)
                keysLock { $0[key]?.active -= 1 }
                if failed {
                    return .json(500, #"{"error":{"message":"The server had an error while processing your request","type":"server_error"}}"#, headers: headers)
                }
                return Self.completion(model: model, usage: usage, headers: headers)
            }
            // Streamed: the first chunk once the prompt is processed, the rest as the
            // completion is generated (the key stays busy until the last chunk is sent).
            let prefill = min(1, (p.baseLatencySeconds + Double(input) * p.secondsPerInputToken) / median)
            let firstNs = UInt64(Double(latency) * prefill)
            sleep(scenarioSeconds: Double(firstNs) / 1e9)
            let release: @Sendable () -> Void = { [self] in keysLock { $0[key]?.active -= 1 } }
            return Self.streamed(model: model, usage: usage, headers: headers, generationNs: UInt64(Double(latency - firstNs) / speed), done: release)
        }
    }

    /// The `x-ratelimit-*` headers of key state `k`: limits per minute (at the key's quota now),
    /// what remains, and when it is full again (wall-clock).
    func rateHeaders(_ k: KeyState, now: UInt64) -> [(String, String)] {
        let rpmLimit = Int(k.config.rpm * k.fraction), tpmLimit = Int(k.config.tpm * k.fraction)
        let rLevel = k.rpm.available(now: now), tLevel = k.tpm.available(now: now)
        let rReset = (k.rpm.capacity - rLevel) / max(1e-9, k.rpm.ratePerSecond) / speed
        let tReset = (k.tpm.capacity - tLevel) / max(1e-9, k.tpm.ratePerSecond) / speed
        return [("x-ratelimit-limit-requests", String(rpmLimit)), ("x-ratelimit-remaining-requests", String(max(0, Int(rLevel)))),
                ("x-ratelimit-reset-requests", Self.resetText(rReset)),
                ("x-ratelimit-limit-tokens", String(tpmLimit)), ("x-ratelimit-remaining-tokens", String(max(0, Int(tLevel)))),
                ("x-ratelimit-reset-tokens", Self.resetText(tReset))]
    }

    static func text(_ tokens: Int) -> String {
        String(repeating: "ok ", count: min(tokens, 4096)).trimmingCharacters(in: .whitespaces)
    }

    /// A completion's usage: OpenAI's (prompt tokens include the cached ones; reasoning is a
    /// part of the completion), and a gateway's `cache_creation_input_tokens`.
    struct Usage {
        let prompt, completion, cached, written, reasoning: Int

        var json: String {
            "{\"prompt_tokens\":\(prompt),\"completion_tokens\":\(completion),\"total_tokens\":\(prompt + completion),"
                + "\"prompt_tokens_details\":{\"cached_tokens\":\(cached)},\"completion_tokens_details\":{\"reasoning_tokens\":\(reasoning)},"
                + "\"cache_creation_input_tokens\":\(written)}"
        }
    }

    static func completion(model: String, usage: Usage, headers: [(String, String)]) -> BackendResponse {
        let id = "chatcmpl-\(UInt64.random(in: 1...UInt64.max))"
        let body = """
            {"id":"\(id)","object":"chat.completion","created":\(Int(Date().timeIntervalSince1970)),"model":"\(model)",\
            "choices":[{"index":0,"message":{"role":"assistant","content":"\(text(usage.completion))"},"finish_reason":"stop"}],\
            "usage":\(usage.json)}
            """
        return .json(200, body, headers: headers)
    }

    /// Server-sent events, really streamed: the role chunk at once, the content in a few
    /// chunks spread over `generationNs` (wall), then a final chunk with the finish reason and
    /// usage, then `data: [DONE]`; `done` runs when the last one is sent.
    static func streamed(model: String, usage: Usage, headers: [(String, String)], generationNs: UInt64, done: @escaping @Sendable () -> Void) -> BackendResponse {
        let id = "chatcmpl-\(UInt64.random(in: 1...UInt64.max))"
        let created = Int(Date().timeIntervalSince1970)
        func chunk(_ delta: String, finish: String?, usage u: Usage?) -> [UInt8] {
            let f = finish.map { "\"\($0)\"" } ?? "null"
            let tail = u.map { ",\"usage\":\($0.json)" } ?? ",\"usage\":null"
            return Array("data: {\"id\":\"\(id)\",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":\"\(model)\",\"choices\":[{\"index\":0,\"delta\":\(delta),\"finish_reason\":\(f)}]\(tail)}\n\n".utf8)
        }
        var chunks: [BackendResponse.Chunk] = [.init(delayNs: 0, bytes: chunk(#"{"role":"assistant","content":""}"#, finish: nil, usage: nil))]
        let output = usage.completion
        let parts = max(1, min(8, output / 16))
        for i in 0..<parts {
            let n = output / parts + (i < output % parts ? 1 : 0)
            chunks.append(.init(delayNs: generationNs / UInt64(parts), bytes: chunk("{\"content\":\"\(text(n)) \"}", finish: nil, usage: nil)))
        }
        chunks.append(.init(delayNs: 0, bytes: chunk("{}", finish: "stop", usage: usage) + Array("data: [DONE]\n\n".utf8)))
        var r = BackendResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")] + headers, body: [])
        r.stream = BackendStream(chunks: chunks, done: done)
        return r
    }
}
