import Foundation
import OrchLog
import OrchMetrics
import OrchTestSupport
import Testing
@testable import OrchCollector

/// One event of every type in; the series the collector must export, written out by hand
/// (every outcome at 0 but the one seen, defaults, constants, renamed values), compared exactly.
/// Histogram bucket lines are checked by where each observation must fall.
@Suite struct GoldenExpositionTests {
    @Test func oneEventOfEveryTypeGivesExactlyTheseSeries() throws {
        let dir = TempDir("golden-exposition")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: dir.sub("golden"), options: options)
        let ms: UInt64 = 1_000_000
        var ts: UInt64 = 1_764_000_000_000_000_000
        func emit(_ e: Event) {
            ts += ms
            log.emit(e, at: ts)
        }
        let planner = log.label("planner"), requests = log.label("requests"), shard = log.label("shard-1"), key = log.label("acct:7")
        let crm = log.label("crm"), openai = log.label("openai"), model = log.label("gpt-4o"), k1 = log.label("k1"), k2 = log.label("k2")
        emit(.invocationStarted(agent: planner, invocationID: 1))
        emit(.invocationFinished(agent: planner, outcome: .failure, durationNs: 1_500 * ms, queueWaitNs: 250 * ms, invocationID: 1))
        emit(.queueSample(queue: requests, depth: 7, capacity: 100, oldestAgeNs: 4_000 * ms, enqueued: 30))
        emit(.queueRejection(queue: requests, reason: log.label("full"), retryAfterNs: 1_000 * ms))
        emit(.workerPoolSample(pool: log.label("agents"), busy: 3, size: 8))
        emit(.stateRead(shard: shard, key: key, version: 4, source: .store, latencyNs: 2 * ms))
        emit(.stateWrite(shard: shard, key: key, baseVersion: 4, newVersion: 5, outcome: .committed, latencyNs: 4 * ms, attempt: 2))
        emit(.memoryFlush(shard: shard, pending: 12, latencyNs: 500 * ms, outcome: .timeout))
        emit(.toolCall(tool: crm, outcome: .timeout, latencyNs: 30_000 * ms, fallbackUsed: true))
        emit(.breakerTransition(tool: crm, from: .closed, to: .open))
        emit(.llmRequest(provider: openai, model: model, key: k1, outcome: .rateLimited, inputTokens: 100, outputTokens: 0,
                         latencyNs: 250 * ms, rateLimitWaitNs: 125 * ms, invocationID: 1, agent: planner, cacheReadTokens: 40, cacheWriteTokens: 0,
                         reasoningTokens: 0, streamed: true, timeToFirstChunkNs: 80 * ms, rateLimitType: .tokens, origin: .provider))
        emit(.llmProviderLimits(provider: openai, model: model, key: k1, remainingRequests: 42, remainingTokens: 0, resetRequestsNs: 500 * ms,
                                resetTokensNs: 20_000 * ms))
        emit(.rateLimiterSample(limiter: openai, available: 5, capacity: 10, waiting: 2, inflight: 3, concurrencyLimit: 4))
        emit(.keyRotation(provider: openai, from: k1, to: k2, reason: log.label("rate_limited")))
        emit(.eventsDropped(count: 3, reason: .bufferFull))
        log.close()

        let registry = MetricRegistry(clock: { 1_764_000_000 })
        let aggregator = Aggregator(registry: registry, catalog: try MetricCatalog(registry: registry), trackedKeys: 100)
        let s = try aggregator.source("golden")
        let source = try #require(try LogDirectory.sources(at: dir.path).first)
        var events = 0
        try SourceReader(source: source).pollBlocks { block in
            events += block.columns.knownCount
            try aggregator.ingest(block, into: s)
        }
        #expect(events == 15)
        var bytes: [UInt8] = []
        registry.render(format: .prometheusText, into: &bytes)
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { ($0.hasPrefix("orch_") || $0.hasPrefix("gen_ai_")) }
        let scalars = lines.filter { !$0.contains("_bucket{") }.map { $0.replacingOccurrences(of: "source=\"golden\",", with: "").replacingOccurrences(of: "{source=\"golden\"}", with: "") }
        // Durations are nanoseconds × 1e-9 (30 s shows as 30.000000000000004, as every
        // Prometheus client that converts this way would show it).
        let expected = """
        orch_invocations_started_total{agent="planner"} 1
        orch_invocations_total{agent="planner",outcome="success"} 0
        orch_invocations_total{agent="planner",outcome="failure"} 1
        orch_invocations_total{agent="planner",outcome="rejected"} 0
        orch_invocations_total{agent="planner",outcome="timeout"} 0
        orch_invocation_duration_seconds_sum{agent="planner"} 1.5
        orch_invocation_duration_seconds_count{agent="planner"} 1
        orch_invocation_llm_calls_sum{agent="planner"} 0
        orch_invocation_llm_calls_count{agent="planner"} 1
        orch_invocation_tool_calls_sum{agent="planner"} 0
        orch_invocation_tool_calls_count{agent="planner"} 1
        orch_invocation_tokens_sum{agent="planner",type="input"} 0
        orch_invocation_tokens_count{agent="planner",type="input"} 1
        orch_invocation_tokens_sum{agent="planner",type="output"} 0
        orch_invocation_tokens_count{agent="planner",type="output"} 1
        orch_invocation_tokens_sum{agent="planner",type="cache_read"} 0
        orch_invocation_tokens_count{agent="planner",type="cache_read"} 1
        orch_invocation_tokens_sum{agent="planner",type="cache_write"} 0
        orch_invocation_tokens_count{agent="planner",type="cache_write"} 1
        orch_invocation_tokens_sum{agent="planner",type="reasoning"} 0
        orch_invocation_tokens_count{agent="planner",type="reasoning"} 1
        orch_invocation_cost_usd_sum{agent="planner"} 0
        orch_invocation_cost_usd_count{agent="planner"} 1
        orch_queue_wait_seconds_sum{queue="default"} 0.25
        orch_queue_wait_seconds_count{queue="default"} 1
        orch_queue_depth{queue="requests"} 7
        orch_queue_capacity{queue="requests"} 100
        orch_queue_oldest_age_seconds{queue="requests"} 4
        orch_queue_enqueued_total{queue="requests"} 30
        orch_queue_rejections_total{queue="requests",reason="full"} 1
        orch_workers_busy{pool="agents"} 3
        orch_workers{pool="agents"} 8
        orch_state_reads_total{shard="shard-1",read_source="cache"} 0
        orch_state_reads_total{shard="shard-1",read_source="store"} 1
        orch_state_read_duration_seconds_sum{shard="shard-1"} 0.002
        orch_state_read_duration_seconds_count{shard="shard-1"} 1
        orch_state_writes_total{shard="shard-1",outcome="committed"} 1
        orch_state_writes_total{shard="shard-1",outcome="conflict"} 0
        orch_state_writes_total{shard="shard-1",outcome="timeout"} 0
        orch_state_writes_total{shard="shard-1",outcome="error"} 0
        orch_state_write_duration_seconds_sum{shard="shard-1"} 0.004
        orch_state_write_duration_seconds_count{shard="shard-1"} 1
        orch_state_write_attempts_sum{shard="shard-1"} 2
        orch_state_write_attempts_count{shard="shard-1"} 1
        orch_state_write_retries_total{shard="shard-1"} 1
        orch_state_lost_updates_total{shard="shard-1"} 0
        orch_state_stale_reads_total{shard="shard-1"} 0
        orch_memory_writeback_pending{shard="shard-1"} 12
        orch_memory_flush_duration_seconds_sum{shard="shard-1"} 0.5
        orch_memory_flush_duration_seconds_count{shard="shard-1"} 1
        orch_memory_flushes_total{shard="shard-1",outcome="success"} 0
        orch_memory_flushes_total{shard="shard-1",outcome="error"} 0
        orch_memory_flushes_total{shard="shard-1",outcome="timeout"} 1
        orch_tool_calls_total{tool="crm",outcome="success"} 0
        orch_tool_calls_total{tool="crm",outcome="error"} 0
        orch_tool_calls_total{tool="crm",outcome="timeout"} 1
        orch_tool_calls_total{tool="crm",outcome="short_circuited"} 0
        orch_tool_call_duration_seconds_sum{tool="crm"} 30.000000000000004
        orch_tool_call_duration_seconds_count{tool="crm"} 1
        orch_tool_fallbacks_total{tool="crm"} 1
        orch_circuit_breaker_state{tool="crm",state="closed"} 0
        orch_circuit_breaker_state{tool="crm",state="open"} 1
        orch_circuit_breaker_state{tool="crm",state="half_open"} 0
        orch_circuit_breaker_state{tool="crm",state="forced_open"} 0
        orch_circuit_breaker_state{tool="crm",state="disabled"} 0
        orch_circuit_breaker_transitions_total{tool="crm",from="closed",to="open"} 1
        orch_llm_requests_total{provider="openai",model="gpt-4o",key="k1",outcome="success"} 0
        orch_llm_requests_total{provider="openai",model="gpt-4o",key="k1",outcome="rate_limited"} 1
        orch_llm_requests_total{provider="openai",model="gpt-4o",key="k1",outcome="error"} 0
        orch_llm_requests_total{provider="openai",model="gpt-4o",key="k1",outcome="timeout"} 0
        orch_llm_tokens_total{provider="openai",model="gpt-4o",type="input"} 100
        orch_llm_tokens_total{provider="openai",model="gpt-4o",type="output"} 0
        orch_llm_tokens_total{provider="openai",model="gpt-4o",type="cache_read"} 40
        orch_llm_tokens_total{provider="openai",model="gpt-4o",type="cache_write"} 0
        orch_llm_tokens_total{provider="openai",model="gpt-4o",type="reasoning"} 0
        orch_llm_request_duration_seconds_sum{provider="openai",model="gpt-4o"} 0.25
        orch_llm_request_duration_seconds_count{provider="openai",model="gpt-4o"} 1
        orch_llm_ratelimit_wait_seconds_sum{provider="openai",model="gpt-4o"} 0.125
        orch_llm_ratelimit_wait_seconds_count{provider="openai",model="gpt-4o"} 1
        orch_llm_inflight{limiter="openai"} 3
        orch_llm_concurrency_limit{limiter="openai"} 4
        orch_llm_ratelimit_available{limiter="openai"} 5
        orch_llm_ratelimit_capacity{limiter="openai"} 10
        orch_llm_ratelimit_waiting{limiter="openai"} 2
        orch_llm_key_rotations_total{provider="openai",reason="rate_limited"} 1
        orch_llm_rate_limited_total{provider="openai",model="gpt-4o",key="k1",rate_limit_type="unspecified",origin="provider"} 0
        orch_llm_rate_limited_total{provider="openai",model="gpt-4o",key="k1",rate_limit_type="requests",origin="provider"} 0
        orch_llm_rate_limited_total{provider="openai",model="gpt-4o",key="k1",rate_limit_type="tokens",origin="provider"} 1
        orch_llm_rate_limited_total{provider="openai",model="gpt-4o",key="k1",rate_limit_type="concurrency",origin="provider"} 0
        orch_llm_rate_limited_total{provider="openai",model="gpt-4o",key="k1",rate_limit_type="quota",origin="provider"} 0
        orch_llm_provider_remaining_requests{provider="openai",model="gpt-4o",key="k1"} 42
        orch_llm_provider_remaining_tokens{provider="openai",model="gpt-4o",key="k1"} 0
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="input"} 100
        gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="input"} 1
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="output"} 0
        gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="output"} 0
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="cache_read"} 40
        gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="cache_read"} 1
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="cache_write"} 0
        gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="cache_write"} 0
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="reasoning"} 0
        gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_token_type="reasoning"} 0
        gen_ai_client_operation_duration_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type=""} 0
        gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type=""} 0
        gen_ai_client_operation_duration_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="rate_limited"} 0.25
        gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="rate_limited"} 1
        gen_ai_client_operation_duration_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="error"} 0
        gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="error"} 0
        gen_ai_client_operation_duration_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="timeout"} 0
        gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",error_type="timeout"} 0
        gen_ai_client_operation_time_to_first_chunk_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o"} 0.08
        gen_ai_client_operation_time_to_first_chunk_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o"} 1
        orch_events_dropped_total{reason="buffer_full"} 3
        orch_events_dropped_total{reason="disk_full"} 0
        orch_events_dropped_total{reason="io_error"} 0
        orch_events_dropped_total{reason="client_dropped"} 0
        orch_events_dropped_total{reason="invalid_event"} 0
        orch_events_dropped_total{reason="source_limit"} 0
        orch_events_dropped_total{reason="unreadable_datagram"} 0
        """
        let want = expected.split(separator: "\n").map(String.init)
        #expect(scalars == want)
        if scalars != want {
            Issue.record("extra: \(scalars.filter { !want.contains($0) })\nmissing: \(want.filter { !scalars.contains($0) })")
        }

        // Buckets: each observation in the first bucket whose bound holds it (le is inclusive),
        // cumulative from there; series with no observation at 0 everywhere.
        let observed: [(String, Double)] = [
            ("orch_invocation_duration_seconds_bucket{source=\"golden\",agent=\"planner\"", 1.5),
            ("orch_invocation_llm_calls_bucket{source=\"golden\",agent=\"planner\"", 0),
            ("orch_invocation_tool_calls_bucket{source=\"golden\",agent=\"planner\"", 0),
            ("orch_invocation_cost_usd_bucket{source=\"golden\",agent=\"planner\"", 0),
            ("orch_invocation_tokens_bucket{source=\"golden\",agent=\"planner\",type=\"input\"", 0),
            ("orch_invocation_tokens_bucket{source=\"golden\",agent=\"planner\",type=\"output\"", 0),
            ("orch_invocation_tokens_bucket{source=\"golden\",agent=\"planner\",type=\"cache_read\"", 0),
            ("orch_invocation_tokens_bucket{source=\"golden\",agent=\"planner\",type=\"cache_write\"", 0),
            ("orch_invocation_tokens_bucket{source=\"golden\",agent=\"planner\",type=\"reasoning\"", 0),
            ("orch_queue_wait_seconds_bucket{source=\"golden\",queue=\"default\"", 0.25),
            ("orch_state_read_duration_seconds_bucket{source=\"golden\",shard=\"shard-1\"", 0.002),
            ("orch_state_write_duration_seconds_bucket{source=\"golden\",shard=\"shard-1\"", 0.004),
            ("orch_state_write_attempts_bucket{source=\"golden\",shard=\"shard-1\"", 2),
            ("orch_memory_flush_duration_seconds_bucket{source=\"golden\",shard=\"shard-1\"", 0.5),
            // 30 s as nanoseconds × 1e-9, the conversion every duration takes: just above 30,
            // so not in the le="30" bucket.
            ("orch_tool_call_duration_seconds_bucket{source=\"golden\",tool=\"crm\"", 30.000000000000004),
            ("orch_llm_request_duration_seconds_bucket{source=\"golden\",provider=\"openai\",model=\"gpt-4o\"", 0.25),
            ("orch_llm_ratelimit_wait_seconds_bucket{source=\"golden\",provider=\"openai\",model=\"gpt-4o\"", 0.125),
            ("gen_ai_client_token_usage_bucket{source=\"golden\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\",gen_ai_token_type=\"input\"", 100),
            ("gen_ai_client_operation_duration_seconds_bucket{source=\"golden\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\",error_type=\"rate_limited\"", 0.25),
            ("gen_ai_client_token_usage_bucket{source=\"golden\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\",gen_ai_token_type=\"cache_read\"", 40),
            ("gen_ai_client_operation_time_to_first_chunk_seconds_bucket{source=\"golden\",gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\"", 0.08),
        ]
        let buckets = lines.filter { $0.contains("_bucket{") }
        var checked = 0
        for line in buckets {
            guard let le = line.range(of: ",le=\"") else { continue }
            let series = String(line[..<le.lowerBound])
            let bound = line[le.upperBound...].prefix { $0 != "\"" }
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            let at = bound == "+Inf" ? Double.infinity : Double(bound) ?? .nan
            if let observation = observed.first(where: { $0.0 == series })?.1 {
                #expect(value == (observation <= at ? "1" : "0"), "\(line)")
            } else {
                #expect(value == "0", "no observation: \(line)")
            }
            checked += 1
        }
        #expect(checked > 100, "bucket lines checked: \(checked)")
        // 27 histogram series: the 21 observed, output, cache_write and reasoning tokens, and
        // the GenAI durations of the three outcomes not seen. (The invocation finished before
        // its LLM request: 0 calls and tokens.)
        let bucketSeries = Set(buckets.compactMap { line in line.range(of: ",le=\"").map { String(line[..<$0.lowerBound]) } })
        #expect(bucketSeries.count == 27)
        #expect(observed.allSatisfy { bucketSeries.contains($0.0) })
    }

    /// Codes past an enumeration's known values (a newer writer's) are counted under the label
    /// value `unknown`, a series made only when first seen — never folded into a known value.
    @Test func unknownEnumerationCodesCountUnderUnknown() throws {
        let dir = TempDir("golden-unknown")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: dir.sub("future"), options: options)
        let crm = log.label("crm"), planner = log.label("planner")
        var ts: UInt64 = 1_764_000_000_000_000_000
        func emit(_ e: Event, codes: [Int: UInt64] = [:]) {
            ts += 1_000_000
            var raw = e.raw(seq: 0, timestamp: ts)
            for (slot, code) in codes { raw.setNumber(slot, code) }
            log.emit(raw: raw)
        }
        // outcome is number slot 0 of tool_call and of invocation_finished; `to` is slot 1 of a
        // breaker transition; reason is slot 1 of events_dropped.
        emit(.toolCall(tool: crm, outcome: .success, latencyNs: 1_000_000, fallbackUsed: false))
        emit(.toolCall(tool: crm, outcome: .success, latencyNs: 1_000_000, fallbackUsed: false), codes: [0: 7])
        emit(.toolCall(tool: crm, outcome: .success, latencyNs: 1_000_000, fallbackUsed: false), codes: [0: 200])
        emit(.invocationFinished(agent: planner, outcome: .success, durationNs: 1, queueWaitNs: 1, invocationID: 1), codes: [0: 4])
        emit(.breakerTransition(tool: crm, from: .closed, to: .open))
        emit(.breakerTransition(tool: crm, from: .open, to: .closed), codes: [1: 9])
        emit(.eventsDropped(count: 5, reason: .bufferFull), codes: [1: 40])
        log.close()

        let registry = MetricRegistry(clock: { 1_764_000_000 })
        let aggregator = Aggregator(registry: registry, catalog: try MetricCatalog(registry: registry), trackedKeys: 100)
        let s = try aggregator.source("future")
        let source = try #require(try LogDirectory.sources(at: dir.path).first)
        try SourceReader(source: source).pollBlocks { try aggregator.ingest($0, into: s) }
        var bytes: [UInt8] = []
        registry.render(format: .prometheusText, into: &bytes)
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.replacingOccurrences(of: "source=\"future\",", with: "") }
        func has(_ line: String) -> Bool { lines.contains(line) }
        #expect(has("orch_tool_calls_total{tool=\"crm\",outcome=\"success\"} 1"))
        #expect(has("orch_tool_calls_total{tool=\"crm\",outcome=\"short_circuited\"} 0"), "not folded into the last value")
        #expect(has("orch_tool_calls_total{tool=\"crm\",outcome=\"unknown\"} 2"))
        #expect(has("orch_tool_call_duration_seconds_count{tool=\"crm\"} 3"), "the latency of every call is observed")
        #expect(has("orch_invocations_total{agent=\"planner\",outcome=\"timeout\"} 0"))
        #expect(has("orch_invocations_total{agent=\"planner\",outcome=\"unknown\"} 1"))
        #expect(has("orch_invocation_duration_seconds_count{agent=\"planner\"} 1"), "an unknown outcome is not `rejected`: observed")
        #expect(has("orch_circuit_breaker_state{tool=\"crm\",state=\"open\"} 0"))
        #expect(has("orch_circuit_breaker_state{tool=\"crm\",state=\"closed\"} 0"))
        #expect(has("orch_circuit_breaker_state{tool=\"crm\",state=\"unknown\"} 1"))
        #expect(has("orch_circuit_breaker_transitions_total{tool=\"crm\",from=\"open\",to=\"unknown\"} 1"))
        #expect(has("orch_events_dropped_total{reason=\"unreadable_datagram\"} 0"), "not folded into the last reason")
        #expect(has("orch_events_dropped_total{reason=\"unknown\"} 5"))
        #expect(!lines.contains { $0.hasPrefix("orch_state_") }, "no series for types not seen")
        #expect(lines.filter { $0.contains("\"unknown\"") && !$0.hasPrefix("#") }.count == 5, "unknown series only where seen")
    }
}
