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
    /// OpenTelemetry GenAI semantic conventions: advised buckets for gen_ai.client.token.usage.
    public static let genAITokenBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
    /// OpenTelemetry GenAI semantic conventions: advised buckets for gen_ai.client.operation.duration.
    public static let genAIDurationBuckets: [Double] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]

    let invocationsStarted, invocations, invocationDuration, queueWait: MetricFamilyID
    let queueDepth, queueCapacity, queueRejections: MetricFamilyID
    let workersBusy, workers: MetricFamilyID
    let stateReads, stateReadDuration, stateWrites, stateWriteDuration, stateWriteAttempts, stateWriteRetries: MetricFamilyID
    let lostUpdates, staleReads: MetricFamilyID
    let writebackPending, flushDuration, flushes: MetricFamilyID
    let toolCalls, toolDuration, toolFallbacks: MetricFamilyID
    let breakerState, breakerTransitions: MetricFamilyID
    let llmRequests, llmTokens, llmDuration, llmRateLimitWait: MetricFamilyID
    let llmInflight, llmConcurrencyLimit, llmAvailable, llmCapacity, llmWaiting, keyRotations: MetricFamilyID
    let genAITokens, genAIDuration: MetricFamilyID
    let eventsDropped: MetricFamilyID
    // The collector's own.
    let buildInfo, eventsIngested, decodeErrors, eventsLost, lag, lastEvent, series, seriesDropped, scrapeDuration: MetricFamilyID
    let checkpointWrites, checkpointErrors, lastCheckpoint, sources: MetricFamilyID
    let processCPU, processResident, processVirtual, processFDs, processMaxFDs, processStart: MetricFamilyID

    /// Registers every family in `registry`.
    /// - Throws: `CollectorError` when a name clashes (a programming error caught by tests).
    public init(registry r: MetricRegistry) throws {
        func c(_ name: String, _ help: String, _ labels: [String]) throws -> MetricFamilyID {
            do { return try r.registerCounter(name: name, help: help, labelNames: labels) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        func g(_ name: String, _ help: String, _ labels: [String]) throws -> MetricFamilyID {
            do { return try r.registerGauge(name: name, help: help, labelNames: labels) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        func h(_ name: String, _ help: String, _ labels: [String], _ buckets: [Double]) throws -> MetricFamilyID {
            do { return try r.registerHistogram(name: name, help: help, labelNames: labels, buckets: buckets) } catch { throw CollectorError(.invalidArgument, "\(error)") }
        }
        let s = "source"
        invocationsStarted = try c("orch_invocations_started_total", "Agent invocations taken off the queue and started.", [s, "agent"])
        invocations = try c("orch_invocations_total", "Agent invocations finished, by outcome (success, failure, rejected, timeout).", [s, "agent", "outcome"])
        invocationDuration = try h("orch_invocation_duration_seconds", "Duration of agent invocations that ran (rejected ones excluded).", [s, "agent"], Self.invocationBuckets)
        queueWait = try h("orch_queue_wait_seconds", "Time invocations waited in the request queue before a worker took them.", [s, "queue"], Self.waitBuckets)
        queueDepth = try g("orch_queue_depth", "Requests waiting in the queue at the last sample.", [s, "queue"])
        queueCapacity = try g("orch_queue_capacity", "Capacity of the queue at the last sample.", [s, "queue"])
        queueRejections = try c("orch_queue_rejections_total", "Requests turned away by backpressure, with a retry-after.", [s, "queue", "reason"])
        workersBusy = try g("orch_workers_busy", "Busy workers (agent instances) at the last sample.", [s, "pool"])
        workers = try g("orch_workers", "Size of the worker pool at the last sample.", [s, "pool"])
        stateReads = try c("orch_state_reads_total", "State reads, by where they were served from (read_source: cache or store).", [s, "shard", "read_source"])
        stateReadDuration = try h("orch_state_read_duration_seconds", "Latency of state reads.", [s, "shard"], Self.storeBuckets)
        stateWrites = try c("orch_state_writes_total", "State write attempts by outcome (committed, conflict, timeout, error).", [s, "shard", "outcome"])
        stateWriteDuration = try h("orch_state_write_duration_seconds", "Latency of state write attempts.", [s, "shard"], Self.storeBuckets)
        stateWriteAttempts = try h("orch_state_write_attempts", "Attempts each committed write took (1 = no optimistic-concurrency retry).", [s, "shard"], Self.attemptBuckets)
        stateWriteRetries = try c("orch_state_write_retries_total", "Write attempts after the first (optimistic-concurrency retries).", [s, "shard"])
        lostUpdates = try c("orch_state_lost_updates_total", "Committed writes whose base version was older than a version already committed for the key: an update was silently overwritten.", [s, "shard"])
        staleReads = try c("orch_state_stale_reads_total", "Reads that returned a version older than one committed for the key before the read started.", [s, "shard"])
        writebackPending = try g("orch_memory_writeback_pending", "Writes acknowledged but not yet flushed to the backing store, at the last flush.", [s, "shard"])
        flushDuration = try h("orch_memory_flush_duration_seconds", "Duration of write-back flushes to the backing store.", [s, "shard"], Self.storeBuckets)
        flushes = try c("orch_memory_flushes_total", "Write-back flushes by outcome (success, error, timeout).", [s, "shard", "outcome"])
        toolCalls = try c("orch_tool_calls_total", "Tool calls by outcome (success, error, timeout, short_circuited).", [s, "tool", "outcome"])
        toolDuration = try h("orch_tool_call_duration_seconds", "Latency of tool calls.", [s, "tool"], Self.toolBuckets)
        toolFallbacks = try c("orch_tool_fallbacks_total", "Tool calls answered by the tool's fallback.", [s, "tool"])
        breakerState = try g("orch_circuit_breaker_state", "Circuit breaker state: 1 for the current state, 0 for the others.", [s, "tool", "state"])
        breakerTransitions = try c("orch_circuit_breaker_transitions_total", "Circuit breaker state changes.", [s, "tool", "from", "to"])
        llmRequests = try c("orch_llm_requests_total", "LLM requests by outcome (success, rate_limited, error, timeout).", [s, "provider", "model", "key", "outcome"])
        llmTokens = try c("orch_llm_tokens_total", "LLM tokens by type (input, output).", [s, "provider", "model", "type"])
        llmDuration = try h("orch_llm_request_duration_seconds", "Latency of LLM requests.", [s, "provider", "model"], Self.genAIDurationBuckets)
        llmRateLimitWait = try h("orch_llm_ratelimit_wait_seconds", "Time LLM requests waited in the client-side rate limiter.", [s, "provider", "model"], Self.waitBuckets)
        llmInflight = try g("orch_llm_inflight", "LLM requests in flight at the last limiter sample.", [s, "limiter"])
        llmConcurrencyLimit = try g("orch_llm_concurrency_limit", "The limiter's concurrency limit at the last sample.", [s, "limiter"])
        llmAvailable = try g("orch_llm_ratelimit_available", "Tokens available in the limiter's bucket at the last sample.", [s, "limiter"])
        llmCapacity = try g("orch_llm_ratelimit_capacity", "Capacity of the limiter's bucket.", [s, "limiter"])
        llmWaiting = try g("orch_llm_ratelimit_waiting", "Requests waiting for the limiter at the last sample.", [s, "limiter"])
        keyRotations = try c("orch_llm_key_rotations_total", "API key rotations by reason.", [s, "provider", "reason"])
        genAITokens = try h("gen_ai_client_token_usage", "OpenTelemetry GenAI: tokens used per request, by gen_ai_token_type (input, output).",
                            [s, "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"], Self.genAITokenBuckets)
        genAIDuration = try h("gen_ai_client_operation_duration_seconds", "OpenTelemetry GenAI: duration of LLM operations.",
                              [s, "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"], Self.genAIDurationBuckets)
        eventsDropped = try c("orch_events_dropped_total", "Events the writer had to drop (buffer_full, disk_full, io_error), as recorded in the log.", [s, "reason"])

        buildInfo = try g("orchlog_collector_build_info", "Build information of the collector; the value is 1.", ["version", "format_version", "swift"])
        eventsIngested = try c("orchlog_collector_events_ingested_total", "Events read from the source's log and aggregated.", [s])
        decodeErrors = try c("orchlog_collector_decode_errors_total", "Corrupt frames and unreadable segments found in the source's log (skipped).", [s])
        eventsLost = try c("orchlog_collector_events_lost_total", "Events deleted (retention) before the collector read them.", [s])
        lag = try g("orchlog_collector_lag_seconds", "How far behind the newest event the collector is: 0 when caught up, else the age of the last event it ingested.", [s])
        lastEvent = try g("orchlog_collector_last_event_timestamp_seconds", "Timestamp of the last event ingested from the source.", [s])
        series = try g("orchlog_collector_series", "Series held by the collector.", [])
        seriesDropped = try c("orchlog_collector_series_dropped_total", "New series folded into the overflow series by the cardinality guard.", ["metric"])
        scrapeDuration = try g("orchlog_collector_scrape_duration_seconds", "Time the previous /metrics rendering took.", [])
        checkpointWrites = try c("orchlog_collector_checkpoint_writes_total", "Checkpoints written.", [])
        checkpointErrors = try c("orchlog_collector_checkpoint_errors_total", "Checkpoints that could not be written.", [])
        lastCheckpoint = try g("orchlog_collector_last_checkpoint_timestamp_seconds", "When the last checkpoint was written.", [])
        sources = try g("orchlog_collector_sources", "Sources being followed.", [])
        processCPU = try c("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", [])
        processResident = try g("process_resident_memory_bytes", "Resident memory size in bytes.", [])
        processVirtual = try g("process_virtual_memory_bytes", "Virtual memory size in bytes.", [])
        processFDs = try g("process_open_fds", "Number of open file descriptors.", [])
        processMaxFDs = try g("process_max_fds", "Maximum number of open file descriptors.", [])
        processStart = try g("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [])
    }
}
