import Foundation
@testable import OrchLog
import OrchTestSupport
import Testing

/// The fields and the event of issue 19 (cost, fan-out, streaming, provider limits, backlog
/// age): written by the writer, read back field by field under their schema names, and the
/// typed events come back as they were emitted.
@Suite struct CostFieldsTests {
    static func emitAll(_ log: EventLog) {
        let agent = log.label("triage"), trace = TraceID(hi: 0x4bf9_2f35_77b3_4da6, lo: 0xa3ce_929d_0e0e_4736)
        log.emit(.invocationStarted(agent: agent, invocationID: 7, traceID: trace), at: 1)
        log.emit(.llmRequest(provider: log.label("openai"), model: log.label("gpt-4o"), key: log.label("k1"), outcome: .rateLimited,
                             inputTokens: 1_000, outputTokens: 300, latencyNs: 2_000_000, rateLimitWaitNs: 5, invocationID: 7, agent: agent,
                             cacheReadTokens: 400, cacheWriteTokens: 50, reasoningTokens: 120, streamed: true, timeToFirstChunkNs: 90_000_000,
                             rateLimitType: .tokens, origin: .provider), at: 2)
        log.emit(.llmProviderLimits(provider: log.label("openai"), model: log.label("gpt-4o"), key: log.label("k1"), remainingRequests: 42,
                                    remainingTokens: 9_000, resetRequestsNs: 1_500_000_000, resetTokensNs: 6_000_000_000), at: 3)
        log.emit(.toolCall(tool: log.label("crm"), outcome: .success, latencyNs: 10, fallbackUsed: false, invocationID: 7, agent: agent), at: 4)
        log.emit(.stateRead(shard: log.label("s0"), key: log.label("acct:1"), version: 3, source: .store, latencyNs: 9, invocationID: 7), at: 5)
        log.emit(.stateWrite(shard: log.label("s0"), key: log.label("acct:1"), baseVersion: 3, newVersion: 4, outcome: .committed,
                             latencyNs: 9, attempt: 1, invocationID: 7), at: 6)
        log.emit(.queueSample(queue: log.label("requests"), depth: 12, capacity: 100, oldestAgeNs: 4_000_000_000, enqueued: 30), at: 7)
    }

    @Test func everyNewFieldIsWrittenAndReadByName() throws {
        let dir = TempDir("cost-fields")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        Self.emitAll(log)
        log.close()
        let r = try readAll(dir.sub("src"))
        try #require(r.count == 7)
        #expect(r[0].text(of: "trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736")
        let llm = r[1]
        #expect(["invocation_id", "agent", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "streamed", "time_to_first_chunk_ns",
                 "rate_limit_type", "origin"].map { llm.text(of: $0) } == ["7", "triage", "400", "50", "120", "true", "90000000", "tokens", "provider"])
        #expect(r[2].type == .llmProviderLimits)
        #expect(["provider", "model", "key", "remaining_requests", "remaining_tokens", "reset_requests_ns", "reset_tokens_ns"].map { r[2].text(of: $0) }
                == ["openai", "gpt-4o", "k1", "42", "9000", "1500000000", "6000000000"])
        #expect(r[3].text(of: "invocation_id") == "7" && r[3].text(of: "agent") == "triage")
        #expect(r[4].text(of: "invocation_id") == "7" && r[5].text(of: "invocation_id") == "7")
        #expect(r[6].text(of: "oldest_age_ns") == "4000000000" && r[6].text(of: "enqueued") == "30")
        #expect(r.allSatisfy { $0.carriedFields.count == $0.schema.fields.count }, "today's writer writes every field")
    }

    @Test func typedEventsComeBackAsEmitted() {
        let log = EventLog.inMemory()
        Self.emitAll(log)
        let events = log.recordedEvents
        #expect(events.count == 7)
        guard case let .llmRequest(_, _, _, outcome, _, _, _, _, invocation, _, cacheRead, cacheWrite, reasoning, streamed, firstChunk, type, origin) = events[1] else {
            Issue.record("not an llm_request: \(events[1])")
            return
        }
        #expect(outcome == .rateLimited && invocation == 7 && cacheRead == 400 && cacheWrite == 50 && reasoning == 120)
        #expect(streamed && firstChunk == 90_000_000 && type == .tokens && origin == .provider)
        guard case let .queueSample(_, _, _, oldest, enqueued) = events[6] else {
            Issue.record("not a queue_sample")
            return
        }
        #expect(oldest == 4_000_000_000 && enqueued == 30)
    }
}
