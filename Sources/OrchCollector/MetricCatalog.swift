import OrchLog
import OrchMetrics

/// Every metric family the collector exports, registered in exposition order. This is the
/// single source of the metric reference (docs/metrics.md is checked against it).
public struct MetricCatalog {
    /// Seconds buckets for agent invocations (seconds to minutes).
    public static let invocationBuckets: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300]
    /// Seconds buckets for queue waits and rate-limit waits (milliseconds to minutes).
    public static let waitBuckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300]
    /// Seconds buckets for state store operations (sub-millisecond to seconds).
    public static let storeBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    /// Seconds buckets for tool calls (tens of ms to the usual 30 s timeout and beyond).
    public static let toolBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Attempts per committed write.
    public static let attemptBuckets: [Double] = [1, 2, 3, 5, 8, 13]
    /// Token types of `orch_llm_tokens_total{type}` and `gen_ai_client_token_usage{gen_ai_token_type}`,
    /// and the `llm_request` field each counts.
    static let tokenTypes = [("input", "input_tokens"), ("output", "output_tokens"), ("cache_read", "cache_read_tokens"),
                             ("cache_write", "cache_write_tokens"), ("reasoning", "reasoning_tokens")]
    /// The families fed by code beside the feeds, and what feeds them (the reference's "fed by").
    static let fedByCode = [
        "orch_llm_cost_usd_total": "`llm_request`: + the tokens of each type × the model's price in `--pricing.file`",
        "orchlog_collector_unpriced_tokens_total": "`llm_request`: + the tokens of types its model has no price for",
        "orch_invocation_llm_calls": "`invocation_finished`: the `llm_request`s with its `invocation_id` since its `invocation_started`",
        "orch_invocation_tool_calls": "`invocation_finished`: the `tool_call`s with its `invocation_id` since its `invocation_started`",
        "orch_invocation_tokens": "`invocation_finished`: the tokens of each type of its `llm_request`s",
        "orch_invocation_cost_usd": "`invocation_finished`: the cost of its `llm_request`s, when all were priced",
        "orchlog_collector_invocations_untracked_total": "`invocation_started`: + the unfinished invocations dropped when the tracker is full",
    ]
    /// Calls per invocation (LLM requests, tool calls; every attempt).
    public static let fanOutBuckets: [Double] = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
    /// USD per invocation.
    public static let costBuckets: [Double] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    /// OpenTelemetry GenAI semantic conventions: advised buckets for gen_ai.client.token.usage.
    public static let genAITokenBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
    /// OpenTelemetry GenAI semantic conventions: advised buckets for gen_ai.client.operation.duration.
    public static let genAIDurationBuckets: [Double] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]

    let invocationsStarted, invocations, invocationDuration, queueWait: MetricFamilyID
    let queueDepth, queueCapacity, queueRejections, queueOldestAge, queueEnqueued: MetricFamilyID
    let workersBusy, workers: MetricFamilyID
    let stateReads, stateReadDuration, stateWrites, stateWriteDuration, stateWriteAttempts, stateWriteRetries: MetricFamilyID
    let lostUpdates, staleReads: MetricFamilyID
    let writebackPending, flushDuration, flushes: MetricFamilyID
    let toolCalls, toolDuration, toolFallbacks: MetricFamilyID
    let breakerState, breakerTransitions: MetricFamilyID
    let llmRequests, llmTokens, llmDuration, llmRateLimitWait: MetricFamilyID
    let llmInflight, llmConcurrencyLimit, llmAvailable, llmCapacity, llmWaiting, keyRotations: MetricFamilyID
    let genAITokens, genAIDuration, genAIFirstChunk: MetricFamilyID
    let llmRateLimited, providerRemainingRequests, providerRemainingTokens: MetricFamilyID
    /// Fed by `LLMSpend` (priced with `--pricing.file`), not by a feed.
    let llmCost, unpricedTokens: MetricFamilyID
    /// Fed by `InvocationTracker`.
    let invocationLLMCalls, invocationToolCalls, invocationTokens, invocationCost, invocationsUntracked: MetricFamilyID
    let eventsDropped: MetricFamilyID
    // The collector's own.
    let buildInfo, eventsIngested, decodeErrors, unknownEvents, eventsLost, lag, lastEvent, series, seriesDropped, scrapeDuration: MetricFamilyID
    let checkpointWrites, checkpointErrors, lastCheckpoint, sources: MetricFamilyID
    let processCPU, processResident, processVirtual, processFDs, processMaxFDs, processStart: MetricFamilyID

    /// The histograms whose buckets carry an exemplar of the invocation behind their latest
    /// observation (`ExemplarStore`).
    let exemplarFamilies: [MetricFamilyID]

    /// How events feed the families, declared with them below: the aggregator's only
    /// knowledge of event fields (see `MetricFeed`, docs/extending.md).
    package let feeds: [MetricFeed]
    /// The feeds compiled per event type code (nil: the type feeds no metric).
    let plans: [FeedPlan?]

    /// The metric reference in Markdown (docs/metrics.md is this output; a test keeps them equal).
    public static func reference() throws -> String {
        let registry = MetricRegistry()
        var out = """
        # Metric reference

        Every metric family `orchlog-collector` exports, generated by
        `orchlog-collector --metrics.reference` (a test checks this file against the collector's
        output, so it cannot drift). Every `orch_*` and `gen_ai_*` series carries `source`, the
        name of the log directory it came from. Durations are in seconds, sizes in bytes.

        Counters of an outcome start at 0 for every outcome as soon as their other labels are
        first seen, so ratios exist before the first failure. A value of an enumeration this
        collector does not know (a newer writer's outcome, say) is counted under the label value
        `unknown`, a series made when first seen; it is never folded into a known value.
        `orch_state_lost_updates_total` and
        `orch_state_stale_reads_total` are derived from versions by a bounded per-key tracker
        (`--state.tracked-keys`, default 100,000 recently touched keys in two generations; see
        docs/log-format.md). Histogram buckets: invocations \(invocationBuckets), waits
        \(waitBuckets), state store \(storeBuckets), tools \(toolBuckets), attempts
        \(attemptBuckets); the `gen_ai_*` histograms use the buckets the OpenTelemetry GenAI
        semantic conventions advise.

        LLM cost is priced by the collector: `orch_llm_cost_usd_total` is each request's tokens
        of each type times its model's price in `--pricing.file` (USD per million tokens;
        deploy/pricing.yml holds public list prices and the date they were read). A model the
        file has no price for is never guessed: its tokens count in
        `orchlog_collector_unpriced_tokens_total`, and without `--pricing.file` every token does.

        Exemplars (OpenMetrics output only; Prometheus keeps them with
        `--enable-feature=exemplar-storage`): each bucket of `orch_invocation_duration_seconds`,
        `gen_ai_client_operation_duration_seconds` and `orch_tool_call_duration_seconds` carries
        the most recent observation that fell into it and named its invocation,
        `# {invocation_id="…",trace_id="…"} <seconds> <event time>`: `trace_id` is the
        invocation's `invocation_started` field, given while the collector tracks the invocation
        (`--invocations.tracked`); events without an `invocation_id` leave the bucket's exemplar
        as it was. Label names and values stay within OpenMetrics' 128 characters. Exemplars are
        not checkpointed: after a restart a bucket has none until its next observation. From an
        exemplar, `orchlog tail --invocation ID PATH…` prints the invocation's events
        (docs/runbooks.md). The Prometheus text format 0.0.4 carries none.

        The "fed by" column is generated from the metric feeds the aggregator runs on (see
        docs/extending.md): the event type, and what each event adds, sets or observes.

        | name | type | labels | fed by | help |
        |---|---|---|---|---|

        """
        let catalog = try MetricCatalog(registry: registry)
        for (i, f) in registry.families.enumerated() {
            let name = f.type == .counter && !f.name.hasSuffix("_total") ? f.name + "_total" : f.name
            var fedBy = Self.fedByCode[f.name] ?? catalog.feeds.filter { Int($0.family.index) == i }.map { $0.summary(labelNames: Array(f.labelNames.dropFirst())) }.joined(separator: "; ")
            if let id = registry.family(named: f.name), registry.carriesExemplars(id) { fedBy += "; exemplars `{invocation_id, trace_id}`" }
            out += "| `\(name)` | \(f.type.rawValue) | \(f.labelNames.map { "`\($0)`" }.joined(separator: ", ")) | \(fedBy.isEmpty ? "—" : fedBy) | \(f.help.replacingOccurrences(of: "|", with: "\\|")) |\n"
        }
        return out
    }

    public init(registry r: MetricRegistry, perInstance: Bool = false) throws {
        try self.init(registry: r, perInstance: perInstance, filter: .all)
    }

    /// Base units a family name may end with (OpenMetrics `# UNIT`).
    static let units = ["seconds", "bytes"]

    /// Registers every family in `registry`.
    /// - Throws: `CollectorError` when a name clashes (a programming error caught by tests).
    /// Whether the collector's per-source families also carry `instance_dir`, the source
    /// directory (`--metrics.per-instance`; matters only for source groups).
    public let perInstance: Bool

    /// - Parameter filter: the families to export (and feed); every one by default.
    init(registry r: MetricRegistry, perInstance: Bool = false, filter: FamilyFilter) throws {
        self.perInstance = perInstance
        // The unit, for OpenMetrics' `# UNIT` line: the base unit the name ends with.
        func unit(_ name: String) -> String? {
            let base = name.hasSuffix("_total") ? String(name.dropLast(6)) : name
            return MetricCatalog.units.first { base.hasSuffix("_" + $0) }
        }
        func c(_ name: String, _ help: String, _ labels: [String]) throws -> MetricFamilyID {
            do { return try r.registerCounter(name: name, help: help, labelNames: labels, unit: unit(name)) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        func g(_ name: String, _ help: String, _ labels: [String]) throws -> MetricFamilyID {
            do { return try r.registerGauge(name: name, help: help, labelNames: labels, unit: unit(name)) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        func i(_ name: String, _ help: String, _ labels: [String]) throws -> MetricFamilyID {
            do { return try r.registerInfo(name: name, help: help, labelNames: labels) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        func h(_ name: String, _ help: String, _ labels: [String], _ buckets: [Double]) throws -> MetricFamilyID {
            do { return try r.registerHistogram(name: name, help: help, labelNames: labels, buckets: buckets, unit: unit(name)) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        var feeds: [MetricFeed] = []
        func feed(_ family: MetricFamilyID, _ type: EventType, _ labels: [MetricFeed.Label], _ record: MetricFeed.Record,
                  when condition: MetricFeed.Condition = .always, instances: MetricFeed.Combine? = nil) {
            feeds.append(MetricFeed(family, type, labels, record, when: condition, instances: instances))
        }
        let s = "source"
        invocationsStarted = try c("orch_invocations_started_total", "Agent invocations taken off the queue and started.", [s, "agent"])
        feed(invocationsStarted, .invocationStarted, [.field("agent")], .count)
        invocations = try c("orch_invocations_total", "Agent invocations finished, by outcome (success, failure, rejected, timeout).", [s, "agent", "outcome"])
        feed(invocations, .invocationFinished, [.field("agent"), .each("outcome")], .count)
        invocationDuration = try h("orch_invocation_duration_seconds", "Duration of agent invocations that ran (rejected ones excluded).", [s, "agent"], Self.invocationBuckets)
        feed(invocationDuration, .invocationFinished, [.field("agent")], .observe("duration_ns"), when: .notEquals("outcome", "rejected"))
        invocationLLMCalls = try h("orch_invocation_llm_calls", "LLM requests (every attempt) per invocation that started and finished, by its agent (--invocations.tracked bounds the invocations open at once).", [s, "agent"], Self.fanOutBuckets)
        invocationToolCalls = try h("orch_invocation_tool_calls", "Tool calls per invocation that started and finished, by its agent.", [s, "agent"], Self.fanOutBuckets)
        invocationTokens = try h("orch_invocation_tokens", "LLM tokens per invocation that started and finished, by its agent and token type.", [s, "agent", "type"], Self.genAITokenBuckets)
        invocationCost = try h("orch_invocation_cost_usd", "What an invocation's LLM requests cost (USD, --pricing.file), by its agent; an invocation with unpriced tokens is not observed.", [s, "agent"], Self.costBuckets)
        queueWait = try h("orch_queue_wait_seconds", "Time invocations waited in the request queue before a worker took them.", [s, "queue"], Self.waitBuckets)
        feed(queueWait, .invocationFinished, [.fieldOr("queue", empty: "default")], .observe("queue_wait_ns"), when: .notEquals("outcome", "rejected"))
        queueDepth = try g("orch_queue_depth", "Requests waiting in the queue at the last sample.", [s, "queue"])
        feed(queueDepth, .queueSample, [.field("queue")], .set("depth"), instances: .sum)
        queueCapacity = try g("orch_queue_capacity", "Capacity of the queue at the last sample.", [s, "queue"])
        feed(queueCapacity, .queueSample, [.field("queue")], .set("capacity"), instances: .sum)
        queueOldestAge = try g("orch_queue_oldest_age_seconds", "How long the oldest request waiting in the queue had waited, at the last sample (0: empty).", [s, "queue"])
        feed(queueOldestAge, .queueSample, [.field("queue")], .set("oldest_age_ns"), instances: .max)
        queueEnqueued = try c("orch_queue_enqueued_total", "Requests accepted into the queue (the arrival rate; compare with orch_invocations_started_total).", [s, "queue"])
        feed(queueEnqueued, .queueSample, [.field("queue")], .sum("enqueued"))
        queueRejections = try c("orch_queue_rejections_total", "Requests turned away by backpressure, with a retry-after.", [s, "queue", "reason"])
        feed(queueRejections, .queueRejection, [.field("queue"), .field("reason")], .count)
        workersBusy = try g("orch_workers_busy", "Busy workers (agent instances) at the last sample.", [s, "pool"])
        feed(workersBusy, .workerPoolSample, [.field("pool")], .set("busy"), instances: .sum)
        workers = try g("orch_workers", "Size of the worker pool at the last sample.", [s, "pool"])
        feed(workers, .workerPoolSample, [.field("pool")], .set("size"), instances: .sum)
        stateReads = try c("orch_state_reads_total", "State reads, by where they were served from (read_source: cache or store).", [s, "shard", "read_source"])
        feed(stateReads, .stateRead, [.field("shard"), .each("read_source")], .count)
        stateReadDuration = try h("orch_state_read_duration_seconds", "Latency of state reads.", [s, "shard"], Self.storeBuckets)
        feed(stateReadDuration, .stateRead, [.field("shard")], .observe("latency_ns"))
        stateWrites = try c("orch_state_writes_total", "State write attempts by outcome (committed, conflict, timeout, error).", [s, "shard", "outcome"])
        feed(stateWrites, .stateWrite, [.field("shard"), .each("outcome")], .count)
        stateWriteDuration = try h("orch_state_write_duration_seconds", "Latency of state write attempts.", [s, "shard"], Self.storeBuckets)
        feed(stateWriteDuration, .stateWrite, [.field("shard")], .observe("latency_ns"))
        stateWriteAttempts = try h("orch_state_write_attempts", "Attempts each committed write took (1 = no optimistic-concurrency retry).", [s, "shard"], Self.attemptBuckets)
        feed(stateWriteAttempts, .stateWrite, [.field("shard")], .observe("attempt", atLeast: 1), when: .equals("outcome", "committed"))
        stateWriteRetries = try c("orch_state_write_retries_total", "Write attempts after the first (optimistic-concurrency retries).", [s, "shard"])
        feed(stateWriteRetries, .stateWrite, [.field("shard")], .count, when: .greater("attempt", 1))
        lostUpdates = try c("orch_state_lost_updates_total", "Committed writes whose base version was older than a version already committed for the key: an update was silently overwritten.", [s, "shard"])
        feed(lostUpdates, .stateWrite, [.field("shard")], .count, when: .flaggedByTracker)
        staleReads = try c("orch_state_stale_reads_total", "Reads that returned a version older than one committed for the key before the read started.", [s, "shard"])
        feed(staleReads, .stateRead, [.field("shard")], .count, when: .flaggedByTracker)
        writebackPending = try g("orch_memory_writeback_pending", "Writes acknowledged but not yet flushed to the backing store, at the last flush.", [s, "shard"])
        feed(writebackPending, .memoryFlush, [.field("shard")], .set("pending"), instances: .sum)
        flushDuration = try h("orch_memory_flush_duration_seconds", "Duration of write-back flushes to the backing store.", [s, "shard"], Self.storeBuckets)
        feed(flushDuration, .memoryFlush, [.field("shard")], .observe("latency_ns"))
        flushes = try c("orch_memory_flushes_total", "Write-back flushes by outcome (success, error, timeout).", [s, "shard", "outcome"])
        feed(flushes, .memoryFlush, [.field("shard"), .each("outcome")], .count)
        toolCalls = try c("orch_tool_calls_total", "Tool calls by outcome (success, error, timeout, short_circuited).", [s, "tool", "outcome"])
        feed(toolCalls, .toolCall, [.field("tool"), .each("outcome")], .count)
        toolDuration = try h("orch_tool_call_duration_seconds", "Latency of tool calls.", [s, "tool"], Self.toolBuckets)
        feed(toolDuration, .toolCall, [.field("tool")], .observe("latency_ns"))
        toolFallbacks = try c("orch_tool_fallbacks_total", "Tool calls answered by the tool's fallback.", [s, "tool"])
        feed(toolFallbacks, .toolCall, [.field("tool")], .count, when: .nonzero("fallback"))
        breakerState = try g("orch_circuit_breaker_state", "Circuit breaker state: 1 for the current state, 0 for the others.", [s, "tool", "state"])
        feed(breakerState, .breakerTransition, [.field("tool"), .each("to")], .oneHot, instances: .sum)
        breakerTransitions = try c("orch_circuit_breaker_transitions_total", "Circuit breaker state changes.", [s, "tool", "from", "to"])
        feed(breakerTransitions, .breakerTransition, [.field("tool"), .value("from"), .value("to")], .count)
        llmRequests = try c("orch_llm_requests_total", "LLM requests by outcome (success, rate_limited, error, timeout).", [s, "provider", "model", "key", "outcome"])
        feed(llmRequests, .llmRequest, [.field("provider"), .field("model"), .field("key"), .each("outcome")], .count)
        llmTokens = try c("orch_llm_tokens_total", "LLM tokens by type: input (not from or to the prompt cache), output (reasoning included), cache_read, cache_write, reasoning (a part of output).", [s, "provider", "model", "type"])
        for (type, field) in Self.tokenTypes {
            feed(llmTokens, .llmRequest, [.field("provider"), .field("model"), .constant(type)], .sum(field))
        }
        llmDuration = try h("orch_llm_request_duration_seconds", "Latency of LLM requests.", [s, "provider", "model"], Self.genAIDurationBuckets)
        feed(llmDuration, .llmRequest, [.field("provider"), .field("model")], .observe("latency_ns"))
        llmRateLimitWait = try h("orch_llm_ratelimit_wait_seconds", "Time LLM requests waited in the client-side rate limiter.", [s, "provider", "model"], Self.waitBuckets)
        feed(llmRateLimitWait, .llmRequest, [.field("provider"), .field("model")], .observe("ratelimit_wait_ns"))
        llmInflight = try g("orch_llm_inflight", "LLM requests in flight at the last limiter sample.", [s, "limiter"])
        feed(llmInflight, .rateLimiterSample, [.field("limiter")], .set("inflight"), instances: .sum)
        llmConcurrencyLimit = try g("orch_llm_concurrency_limit", "The limiter's concurrency limit at the last sample.", [s, "limiter"])
        feed(llmConcurrencyLimit, .rateLimiterSample, [.field("limiter")], .set("concurrency_limit"), instances: .sum)
        llmAvailable = try g("orch_llm_ratelimit_available", "Tokens available in the limiter's bucket at the last sample.", [s, "limiter"])
        feed(llmAvailable, .rateLimiterSample, [.field("limiter")], .set("available"), instances: .sum)
        llmCapacity = try g("orch_llm_ratelimit_capacity", "Capacity of the limiter's bucket.", [s, "limiter"])
        feed(llmCapacity, .rateLimiterSample, [.field("limiter")], .set("capacity"), instances: .sum)
        llmWaiting = try g("orch_llm_ratelimit_waiting", "Requests waiting for the limiter at the last sample.", [s, "limiter"])
        feed(llmWaiting, .rateLimiterSample, [.field("limiter")], .set("waiting"), instances: .sum)
        keyRotations = try c("orch_llm_key_rotations_total", "API key rotations by reason.", [s, "provider", "reason"])
        feed(keyRotations, .keyRotation, [.field("provider"), .field("reason")], .count)
        llmRateLimited = try c("orch_llm_rate_limited_total", "Rate-limited LLM requests by the limit hit (rate_limit_type: requests, tokens, concurrency, quota; unspecified) and who enforced it (origin: provider, an HTTP 429; client, the client's own limiter).",
                               [s, "provider", "model", "key", "rate_limit_type", "origin"])
        feed(llmRateLimited, .llmRequest, [.field("provider"), .field("model"), .field("key"), .each("rate_limit_type"), .value("origin")], .count, when: .equals("outcome", "rate_limited"))
        providerRemainingRequests = try g("orch_llm_provider_remaining_requests", "Requests the provider said were left in its window for the key (x-ratelimit-remaining-requests), at its last response.", [s, "provider", "model", "key"])
        feed(providerRemainingRequests, .llmProviderLimits, [.field("provider"), .field("model"), .field("key")], .set("remaining_requests"), instances: .max)
        providerRemainingTokens = try g("orch_llm_provider_remaining_tokens", "Tokens the provider said were left in its window for the key (x-ratelimit-remaining-tokens), at its last response.", [s, "provider", "model", "key"])
        feed(providerRemainingTokens, .llmProviderLimits, [.field("provider"), .field("model"), .field("key")], .set("remaining_tokens"), instances: .max)
        llmCost = try c("orch_llm_cost_usd_total", "What LLM requests cost, in USD, priced by the collector from --pricing.file (tokens of each type × the model's price); a model without a price is not guessed (orchlog_collector_unpriced_tokens_total).",
                        [s, "provider", "model", "key", "agent"])
        genAITokens = try h("gen_ai_client_token_usage", "OpenTelemetry GenAI: tokens used per request, by gen_ai_token_type (input, output).",
                            [s, "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"], Self.genAITokenBuckets)
        for (type, field) in Self.tokenTypes {
            feed(genAITokens, .llmRequest, [.constant("chat"), .field("provider"), .field("model"), .constant(type)], .observe(field), when: .nonzero(field))
        }
        genAIDuration = try h("gen_ai_client_operation_duration_seconds", "OpenTelemetry GenAI: duration of LLM operations.",
                              [s, "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"], Self.genAIDurationBuckets)
        feed(genAIDuration, .llmRequest, [.constant("chat"), .field("provider"), .field("model"), .each("outcome", rename: ["success": ""])], .observe("latency_ns"))
        genAIFirstChunk = try h("gen_ai_client_operation_time_to_first_chunk_seconds", "OpenTelemetry GenAI: time from sending a streamed request to its first chunk.",
                                [s, "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"], Self.genAIDurationBuckets)
        feed(genAIFirstChunk, .llmRequest, [.constant("chat"), .field("provider"), .field("model")], .observe("time_to_first_chunk_ns"), when: .nonzero("streamed"))
        eventsDropped = try c("orch_events_dropped_total", "Events dropped before they reached the log, as recorded in it: by the writer (buffer_full, disk_full, io_error), by a client that could not reach the relay (client_dropped), by the relay (invalid_event, source_limit, unreadable_datagram).", [s, "reason"])
        feed(eventsDropped, .eventsDropped, [.each("reason")], .sum("count"))
        // extending: new event-fed families go above this line (docs/extending.md)

        let own = perInstance ? [s, "instance_dir"] : [s]
        buildInfo = try i("orchlog_collector_build_info", "Build information of the collector; the value is 1.", ["version", "format_version", "swift", "revision", "build_date", "platform"])
        eventsIngested = try c("orchlog_collector_events_ingested_total", "Events read from the source's log and aggregated.", own)
        decodeErrors = try c("orchlog_collector_decode_errors_total", "Corrupt frames and unreadable segments found in the source's log (skipped).", own)
        eventsLost = try c("orchlog_collector_events_lost_total", "Events deleted (retention) before the collector read them.", own)
        lag = try g("orchlog_collector_lag_seconds", "How far behind the newest event the collector is: 0 when caught up, else the age of the last event it ingested.", own)
        lastEvent = try g("orchlog_collector_last_event_timestamp_seconds", "Timestamp of the last event ingested from the source.", own)
        unknownEvents = try c("orchlog_collector_unknown_events_total", "Events a newer writer wrote that this collector does not fully know, by reason: type (an event type it does not know: skipped), field (an event of a known type carrying a field it does not know: aggregated without the field).", own + ["reason"])
        series = try g("orchlog_collector_series", "Series held by the collector.", [])
        seriesDropped = try c("orchlog_collector_series_dropped_total", "New series folded into the overflow series by the cardinality guard.", ["metric"])
        scrapeDuration = try g("orchlog_collector_scrape_duration_seconds", "Time the previous /metrics rendering took.", [])
        checkpointWrites = try c("orchlog_collector_checkpoint_writes_total", "Checkpoints written.", [])
        checkpointErrors = try c("orchlog_collector_checkpoint_errors_total", "Checkpoints that could not be written.", [])
        lastCheckpoint = try g("orchlog_collector_last_checkpoint_timestamp_seconds", "When the last checkpoint was written.", [])
        sources = try g("orchlog_collector_sources", "Sources being followed.", [])
        invocationsUntracked = try c("orchlog_collector_invocations_untracked_total", "Started invocations dropped unfinished from the per-invocation tracker when it was full (--invocations.tracked): their fan-out is never observed.", own)
        unpricedTokens = try c("orchlog_collector_unpriced_tokens_total", "LLM tokens the collector could not price: a model --pricing.file has no price for (or no price for that token type). Their cost is not in orch_llm_cost_usd_total.",
                               [s, "provider", "model"])
        processCPU = try c("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", [])
        processResident = try g("process_resident_memory_bytes", "Resident memory size in bytes.", [])
        processVirtual = try g("process_virtual_memory_bytes", "Virtual memory size in bytes.", [])
        processFDs = try g("process_open_fds", "Number of open file descriptors.", [])
        processMaxFDs = try g("process_max_fds", "Maximum number of open file descriptors.", [])
        processStart = try g("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [])
        exemplarFamilies = [invocationDuration, genAIDuration, toolDuration]
        for f in exemplarFamilies { r.enableExemplars(f) }
        for (i, f) in r.families.enumerated() where !filter.exports(f) {
            if let id = r.family(named: f.name) { r.setExported(id, false) }
            feeds.removeAll { $0.family.index == i }
        }
        self.feeds = feeds
        plans = try FeedPlan.plans(feeds, registry: r)
    }
}
