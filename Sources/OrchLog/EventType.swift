/// The kinds of event an orchestrator reports. The raw value is the type code on disk
/// (1…65535, `LogFormat.maxTypeCode`); values are never reused. A reader skips (and counts) a
/// type code it does not know.
public enum EventType: UInt16, Sendable, CaseIterable, Hashable {
    case invocationStarted = 1
    case invocationFinished = 2
    case queueSample = 3
    case queueRejection = 4
    case workerPoolSample = 5
    case stateRead = 6
    case stateWrite = 7
    case memoryFlush = 8
    case toolCall = 9
    case breakerTransition = 10
    case llmRequest = 11
    case rateLimiterSample = 12
    case keyRotation = 13
    case eventsDropped = 14
    case llmProviderLimits = 15
    // extending: new cases go above this line (docs/extending.md)

    /// The name used by `orchlog tail`, `--type` filters, NDJSON and summaries.
    public var name: String { EventSchema.of(self).name }

    /// Looks a type up by its name (`"llm_request"`), or nil.
    public init?(name: String) {
        guard let found = EventType.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

/// How a field is stored and shown.
public enum FieldKind: Sendable, Equatable {
    /// A string, interned in the block's string table.
    case label
    /// An unsigned integer (count, version, tokens).
    case number
    /// A duration in nanoseconds; text output shows it in human units.
    case nanoseconds
    /// A small enumeration; the array maps stored codes to names.
    case enumeration([String])
    /// A boolean stored as 0/1.
    case flag
    /// A W3C trace id: in NDJSON and `tail`, 32 lowercase hex digits (`""`: none); stored as
    /// two number streams (the high and the low 64 bits, all zeros: none), never interned
    /// (`TraceID`). `slot` is the first of its two number slots.
    case traceID
}

/// One field of an event type: its name, kind and storage slot
/// (index into the label slots for `.label`, into the number slots otherwise; a `.traceID`
/// takes number slots `slot` and `slot + 1`).
public struct FieldSpec: Sendable, Equatable {
    public let name: String
    public let kind: FieldKind
    public let slot: Int
    /// For a field stored as a label by earlier writers and in another form since (a
    /// `.traceID`: `invocation_started`'s `trace_id` until the binary form): that label slot,
    /// whose stream precedes the field's own. Readers show its string where the field's own
    /// streams are absent or zero; writers write it as `""`.
    public let formerLabelSlot: Int?
    /// What the field means, one phrase (docs/ndjson.md's "meaning" column).
    public let doc: String
    /// Whether an event must carry the field. NDJSON ingest rejects an event without a
    /// required field; an optional field left out is stored as its zero value (`""`, `0`,
    /// `false`, the first enumeration value), which means "not given".
    public let required: Bool

    /// The unit of a numeric field as the schema states it (`"ns"` for durations), or nil.
    public var unit: String? {
        if case .nanoseconds = kind { return "ns" }
        return nil
    }
}

/// The field layout of each event type. Encoding writes the fields in this order;
/// a newer writer may only append fields, so an older reader skips what it does not know.
public struct EventSchema: Sendable {
    public let type: EventType
    public let name: String
    /// What an event of this type reports, one or two sentences.
    public let summary: String
    public let fields: [FieldSpec]
    public let labelCount: Int
    public let numberCount: Int

    /// The type's streams in a block, in order (field stream i is the i-th): `c ≥ 0` is number
    /// slot c, `c < 0` label slot `-(c + 1)`. One per field, except a `.traceID` (two number
    /// streams, after its former label's stream if it had one).
    package let streams: [Int8]

    /// `formerlyLabels`: fields that earlier writers stored as a label at this position (their
    /// label stream stays in the layout, written as `""`, read for old blocks).
    init(_ type: EventType, _ name: String, _ summary: String, _ specs: [(String, FieldKind, String)], optional: Set<String> = [],
         formerlyLabels: Set<String> = []) {
        var fields: [FieldSpec] = []
        var streams: [Int8] = []
        var labels = 0
        var numbers = 0
        for (fieldName, kind, doc) in specs {
            let required = !optional.contains(fieldName)
            switch kind {
            case .label:
                fields.append(FieldSpec(name: fieldName, kind: kind, slot: labels, formerLabelSlot: nil, doc: doc, required: required))
                streams.append(Int8(-(labels + 1)))
                labels += 1
            case .traceID:
                var former: Int?
                if formerlyLabels.contains(fieldName) {
                    former = labels
                    streams.append(Int8(-(labels + 1)))
                    labels += 1
                }
                fields.append(FieldSpec(name: fieldName, kind: kind, slot: numbers, formerLabelSlot: former, doc: doc, required: required))
                streams.append(Int8(numbers))
                streams.append(Int8(numbers + 1))
                numbers += 2
            case .number, .nanoseconds, .enumeration, .flag:
                fields.append(FieldSpec(name: fieldName, kind: kind, slot: numbers, formerLabelSlot: nil, doc: doc, required: required))
                streams.append(Int8(numbers))
                numbers += 1
            }
        }
        precondition(optional.isSubset(of: specs.map(\.0)), "optional names a field the type does not have")
        precondition(formerlyLabels.isSubset(of: fields.filter { $0.kind == .traceID }.map(\.name)), "only a trace id can have been a label")
        precondition(labels <= RawEvent.labelSlots && numbers <= RawEvent.numberSlots, "schema too wide")
        precondition(streams.count <= LogFormat.fieldsPerType && streams.count < Self.layoutStride, "more fields than a block has streams for a type")
        self.type = type
        self.name = name
        self.summary = summary
        self.fields = fields
        self.streams = streams
        self.labelCount = labels
        self.numberCount = numbers
    }

    /// The label and number slots of the first `streams` field streams (those an older
    /// writer's block carries: it lacks the fields appended since).
    package func slotCounts(streams n: Int) -> (labels: Int, numbers: Int) {
        guard n < streams.count else { return (labelCount, numberCount) }
        var labels = 0, numbers = 0
        for c in streams.prefix(max(0, n)) {
            if c < 0 { labels += 1 } else { numbers += 1 }
        }
        return (labels, numbers)
    }

    /// The field with this name, or nil.
    public func field(named name: String) -> FieldSpec? { fields.first { $0.name == name } }

    /// The schema of a type.
    public static func of(_ type: EventType) -> EventSchema { all[Int(type.rawValue)]! }

    /// One more than the highest type code this build knows: the size of every per-type table
    /// of the codec (the format allows codes up to `LogFormat.maxTypeCode`; tables follow the
    /// schema, not the format).
    package static let codeLimit = Int(EventType.allCases.map(\.rawValue).max() ?? 0) + 1

    static let all: [EventSchema?] = {
        var table = [EventSchema?](repeating: nil, count: codeLimit)
        for schema in definitions { table[Int(schema.type.rawValue)] = schema }
        return table
    }()

    /// Flat stream layout for the codec's hot paths, `layoutStride` entries per type code below
    /// `codeLimit`: `[n, c0, c1, …]` (`streams`), where `c ≥ 0` is a number slot and `c < 0`
    /// is label slot `-(c + 1)`; n = 0 for unknown codes.
    static let layout: [Int8] = {
        var table = [Int8](repeating: 0, count: codeLimit * layoutStride)
        for schema in definitions {
            let row = Int(schema.type.rawValue) * layoutStride
            table[row] = Int8(schema.streams.count)
            for (i, c) in schema.streams.enumerated() { table[row + 1 + i] = c }
        }
        return table
    }()
    /// A count, then one entry per field: a type has at most one field per `RawEvent` slot.
    static let layoutStride = 1 + RawEvent.labelSlots + RawEvent.numberSlots

    static let definitions: [EventSchema] = [
        EventSchema(.invocationStarted, "invocation_started", "An agent invocation was taken off the queue and started.", [
            ("agent", .label, "agent name"), ("invocation_id", .number, "the invocation's id (ties started to finished)"),
            ("trace_id", .traceID, "the invocation's W3C trace id, 32 lowercase hex digits (`\"\"`: none)"),
        ], optional: ["trace_id"], formerlyLabels: ["trace_id"]),
        EventSchema(.invocationFinished, "invocation_finished", "An agent invocation ended.", [
            ("agent", .label, "agent name"), ("outcome", .enumeration(InvocationOutcome.names), "how it ended"),
            ("duration_ns", .nanoseconds, "how long it ran"), ("queue_wait_ns", .nanoseconds, "time it waited in the queue"), ("invocation_id", .number, "the invocation's id"),
            ("queue", .label, "the queue it came from (`\"\"`: the collector reports queue `default`)"),
        ], optional: ["queue_wait_ns", "queue"]),
        EventSchema(.queueSample, "queue_sample", "A queue's depth and capacity at a moment (emit every second or so).", [
            ("queue", .label, "queue name"), ("depth", .number, "requests waiting"), ("capacity", .number, "the queue's bound"),
            ("oldest_age_ns", .nanoseconds, "how long the oldest waiting request has waited (0 when the queue is empty)"),
            ("enqueued", .number, "requests accepted into the queue since the previous sample"),
        ], optional: ["oldest_age_ns", "enqueued"]),
        EventSchema(.queueRejection, "queue_rejection", "A caller was turned away by backpressure.", [
            ("queue", .label, "queue name"), ("reason", .label, "why (`full`, `shed`, …: a small fixed set)"), ("retry_after_ns", .nanoseconds, "the retry-after given to the caller"),
        ], optional: ["retry_after_ns"]),
        EventSchema(.workerPoolSample, "worker_pool_sample", "A worker pool's busy workers and size at a moment.", [
            ("pool", .label, "pool name"), ("busy", .number, "busy workers"), ("size", .number, "pool size"),
        ]),
        EventSchema(.stateRead, "state_read", "A read of shared state returned a version of a key.", [
            ("shard", .label, "state shard"), ("key", .label, "the key read (its versions are tracked for stale reads)"), ("version", .number, "the version returned"),
            ("read_source", .enumeration(ReadSource.names), "where it was served from"), ("latency_ns", .nanoseconds, "read latency"),
            ("invocation_id", .number, "the invocation that read (0: not given)"),
        ], optional: ["invocation_id"]),
        EventSchema(.stateWrite, "state_write", "One attempt to write shared state, from a base version to a new one.", [
            ("shard", .label, "state shard"), ("key", .label, "the key written"), ("base_version", .number, "the version the writer read before writing"), ("new_version", .number, "the version written (committed) or attempted"),
            ("outcome", .enumeration(WriteOutcome.names), "how the attempt ended"), ("latency_ns", .nanoseconds, "write latency"), ("attempt", .number, "1 for the first attempt, 2, 3, … for compare-and-set retries"),
            ("invocation_id", .number, "the invocation that wrote (0: not given)"),
        ], optional: ["attempt", "invocation_id"]),
        EventSchema(.memoryFlush, "memory_flush", "A write-back flush of pending writes to the backing store.", [
            ("shard", .label, "state shard"), ("pending", .number, "writes acknowledged but not yet flushed"), ("latency_ns", .nanoseconds, "flush duration"),
            ("outcome", .enumeration(FlushOutcome.names), "how it ended"),
        ]),
        EventSchema(.toolCall, "tool_call", "A tool call.", [
            ("tool", .label, "tool name"), ("outcome", .enumeration(ToolOutcome.names), "how it ended (`short_circuited`: an open breaker refused it)"), ("latency_ns", .nanoseconds, "call latency"),
            ("fallback", .flag, "the tool's fallback answered instead"),
            ("invocation_id", .number, "the invocation that called it (0: not given)"), ("agent", .label, "the agent that called it"),
        ], optional: ["fallback", "invocation_id", "agent"]),
        EventSchema(.breakerTransition, "breaker_transition", "A circuit breaker changed state.", [
            ("tool", .label, "the tool the breaker guards"), ("from", .enumeration(BreakerState.names), "old state"), ("to", .enumeration(BreakerState.names), "new state"),
        ]),
        EventSchema(.llmRequest, "llm_request", "An LLM API request.", [
            ("provider", .label, "API provider"), ("model", .label, "model name"), ("key", .label, "API key alias (never the key itself)"),
            ("outcome", .enumeration(LLMOutcome.names), "how it ended (`rate_limited`: HTTP 429)"), ("input_tokens", .number, "prompt tokens"), ("output_tokens", .number, "completion tokens (reasoning included)"),
            ("latency_ns", .nanoseconds, "request latency"), ("ratelimit_wait_ns", .nanoseconds, "time spent waiting in the client-side rate limiter first"),
            ("invocation_id", .number, "the invocation that made it (0: not given)"), ("agent", .label, "the agent that made it"),
            ("cache_read_tokens", .number, "prompt tokens read from the provider's prompt cache (not in `input_tokens`)"),
            ("cache_write_tokens", .number, "prompt tokens written to the provider's prompt cache (not in `input_tokens`)"),
            ("reasoning_tokens", .number, "of `output_tokens`, those spent on reasoning"),
            ("streamed", .flag, "the response was streamed (server-sent events)"),
            ("time_to_first_chunk_ns", .nanoseconds, "time from sending to the first streamed chunk"),
            ("rate_limit_type", .enumeration(RateLimitType.names), "on `rate_limited`: the limit hit"),
            ("origin", .enumeration(RateLimitOrigin.names), "on `rate_limited`: `provider` (an HTTP 429) or `client` (the client's own limiter)"),
        ], optional: ["key", "ratelimit_wait_ns", "invocation_id", "agent", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
                      "streamed", "time_to_first_chunk_ns", "rate_limit_type", "origin"]),
        EventSchema(.rateLimiterSample, "ratelimiter_sample", "A client-side rate limiter's state at a moment.", [
            ("limiter", .label, "limiter name"), ("available", .number, "tokens in the bucket"), ("capacity", .number, "bucket size"), ("waiting", .number, "requests waiting for a token"),
            ("inflight", .number, "requests in flight"), ("concurrency_limit", .number, "the in-flight limit"),
        ], optional: ["waiting", "inflight", "concurrency_limit"]),
        EventSchema(.keyRotation, "key_rotation", "The client rotated from one API key alias to another.", [
            ("provider", .label, "API provider"), ("from", .label, "old key alias"), ("to", .label, "new key alias"), ("reason", .label, "why (`rate_limited`, `scheduled`, …)"),
        ], optional: ["reason"]),
        EventSchema(.eventsDropped, "events_dropped", "Events that were dropped before they reached the log: by a writer (written by the writer itself), by a client that could not reach the relay (`client_dropped`, sent in-band by the client) or by the relay (`invalid_event`, `source_limit`, `unreadable_datagram`, written into the relay's own source). Accepted on input so that a copied log stays complete.", [
            ("count", .number, "events dropped"), ("reason", .enumeration(DropReason.names), "why (`buffer_full`, `disk_full`, `io_error`: the writer; `client_dropped`: a client; the rest: the relay)"),
        ]),
        EventSchema(.llmProviderLimits, "llm_provider_limits", "What an LLM provider's rate-limit response headers said of a key (`x-ratelimit-remaining-*`, `x-ratelimit-reset-*`).", [
            ("provider", .label, "API provider"), ("model", .label, "model name"), ("key", .label, "API key alias"),
            ("remaining_requests", .number, "requests left in the provider's current window"), ("remaining_tokens", .number, "tokens left in the provider's current window"),
            ("reset_requests_ns", .nanoseconds, "time until the request limit resets"), ("reset_tokens_ns", .nanoseconds, "time until the token limit resets"),
        ], optional: ["key", "reset_requests_ns", "reset_tokens_ns"]),
        // extending: new schemas go above this line (docs/extending.md)
    ]
}
