/// The kinds of event an orchestrator reports. The raw value is the type byte on disk;
/// values are never reused. A reader skips a type byte it does not know.
public enum EventType: UInt8, Sendable, CaseIterable, Hashable {
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
}

/// One field of an event type: its name, kind and storage slot
/// (index into the label slots for `.label`, into the number slots otherwise).
public struct FieldSpec: Sendable, Equatable {
    public let name: String
    public let kind: FieldKind
    public let slot: Int
}

/// The field layout of each event type. Encoding writes the fields in this order;
/// a newer writer may only append fields, so an older reader skips what it does not know.
public struct EventSchema: Sendable {
    public let type: EventType
    public let name: String
    public let fields: [FieldSpec]
    public let labelCount: Int
    public let numberCount: Int

    init(_ type: EventType, _ name: String, _ specs: [(String, FieldKind)]) {
        var fields: [FieldSpec] = []
        var labels = 0
        var numbers = 0
        for (fieldName, kind) in specs {
            if case .label = kind {
                fields.append(FieldSpec(name: fieldName, kind: kind, slot: labels))
                labels += 1
            } else {
                fields.append(FieldSpec(name: fieldName, kind: kind, slot: numbers))
                numbers += 1
            }
        }
        precondition(labels <= RawEvent.labelSlots && numbers <= RawEvent.numberSlots, "schema too wide")
        self.type = type
        self.name = name
        self.fields = fields
        self.labelCount = labels
        self.numberCount = numbers
    }

    /// The field with this name, or nil.
    public func field(named name: String) -> FieldSpec? { fields.first { $0.name == name } }

    /// The schema of a type.
    public static func of(_ type: EventType) -> EventSchema { all[Int(type.rawValue)]! }

    static let all: [EventSchema?] = {
        var table = [EventSchema?](repeating: nil, count: 256)
        for schema in definitions { table[Int(schema.type.rawValue)] = schema }
        return table
    }()

    /// Flat field layout for the codec's hot paths, 16 bytes per type code: `[n, c0, c1, …]`,
    /// where `c ≥ 0` is a number slot and `c < 0` is label slot `-(c + 1)`; n = 0 for unknown codes.
    static let layout: [Int8] = {
        var table = [Int8](repeating: 0, count: 256 * layoutStride)
        for schema in definitions {
            let row = Int(schema.type.rawValue) * layoutStride
            table[row] = Int8(schema.fields.count)
            for (i, field) in schema.fields.enumerated() {
                if case .label = field.kind {
                    table[row + 1 + i] = Int8(-(field.slot + 1))
                } else {
                    table[row + 1 + i] = Int8(field.slot)
                }
            }
        }
        return table
    }()
    static let layoutStride = 16

    static let definitions: [EventSchema] = [
        EventSchema(.invocationStarted, "invocation_started", [
            ("agent", .label), ("invocation_id", .number),
        ]),
        EventSchema(.invocationFinished, "invocation_finished", [
            ("agent", .label), ("outcome", .enumeration(InvocationOutcome.names)),
            ("duration_ns", .nanoseconds), ("queue_wait_ns", .nanoseconds), ("invocation_id", .number),
            ("queue", .label),
        ]),
        EventSchema(.queueSample, "queue_sample", [
            ("queue", .label), ("depth", .number), ("capacity", .number),
        ]),
        EventSchema(.queueRejection, "queue_rejection", [
            ("queue", .label), ("reason", .label), ("retry_after_ns", .nanoseconds),
        ]),
        EventSchema(.workerPoolSample, "worker_pool_sample", [
            ("pool", .label), ("busy", .number), ("size", .number),
        ]),
        EventSchema(.stateRead, "state_read", [
            ("shard", .label), ("key", .label), ("version", .number),
            ("read_source", .enumeration(ReadSource.names)), ("latency_ns", .nanoseconds),
        ]),
        EventSchema(.stateWrite, "state_write", [
            ("shard", .label), ("key", .label), ("base_version", .number), ("new_version", .number),
            ("outcome", .enumeration(WriteOutcome.names)), ("latency_ns", .nanoseconds), ("attempt", .number),
        ]),
        EventSchema(.memoryFlush, "memory_flush", [
            ("shard", .label), ("pending", .number), ("latency_ns", .nanoseconds),
            ("outcome", .enumeration(FlushOutcome.names)),
        ]),
        EventSchema(.toolCall, "tool_call", [
            ("tool", .label), ("outcome", .enumeration(ToolOutcome.names)), ("latency_ns", .nanoseconds),
            ("fallback", .flag),
        ]),
        EventSchema(.breakerTransition, "breaker_transition", [
            ("tool", .label), ("from", .enumeration(BreakerState.names)), ("to", .enumeration(BreakerState.names)),
        ]),
        EventSchema(.llmRequest, "llm_request", [
            ("provider", .label), ("model", .label), ("key", .label),
            ("outcome", .enumeration(LLMOutcome.names)), ("input_tokens", .number), ("output_tokens", .number),
            ("latency_ns", .nanoseconds), ("ratelimit_wait_ns", .nanoseconds),
        ]),
        EventSchema(.rateLimiterSample, "ratelimiter_sample", [
            ("limiter", .label), ("available", .number), ("capacity", .number), ("waiting", .number),
            ("inflight", .number), ("concurrency_limit", .number),
        ]),
        EventSchema(.keyRotation, "key_rotation", [
            ("provider", .label), ("from", .label), ("to", .label), ("reason", .label),
        ]),
        EventSchema(.eventsDropped, "events_dropped", [
            ("count", .number), ("reason", .enumeration(DropReason.names)),
        ]),
    ]
}
