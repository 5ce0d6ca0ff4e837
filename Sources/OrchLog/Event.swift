/// A typed event as an orchestrator component emits it. Strings are `Label` handles from
/// `EventLog.label(_:)`; durations are nanoseconds.
public enum Event: Sendable, Hashable {
    /// An agent invocation was taken off the queue and started; `traceID` is its W3C trace id
    /// when it has one (`TraceID(parsing: "4bf92f3577b34da6a3ce929d0e0e4736")`, or the two
    /// 64-bit halves): a value, never interned, so a trace id per invocation costs the writer
    /// no memory past the event's block.
    case invocationStarted(agent: Label, invocationID: UInt64, traceID: TraceID = .none)
    /// An agent invocation ended; `queueWaitNs` is the time it spent in `queue` (`.none`: the
    /// collector reports it as queue "default").
    case invocationFinished(agent: Label, outcome: InvocationOutcome, durationNs: UInt64, queueWaitNs: UInt64, invocationID: UInt64, queue: Label = .none)
    /// A queue's depth and capacity at a moment; `oldestAgeNs` is how long its oldest waiting
    /// request has waited, `enqueued` the requests accepted since the previous sample.
    case queueSample(queue: Label, depth: UInt64, capacity: UInt64, oldestAgeNs: UInt64 = 0, enqueued: UInt64 = 0)
    /// A caller was turned away by backpressure and told to retry after a delay.
    case queueRejection(queue: Label, reason: Label, retryAfterNs: UInt64)
    /// A worker pool's busy workers and size at a moment.
    case workerPoolSample(pool: Label, busy: UInt64, size: UInt64)
    /// A state read returned `version` of `key`.
    case stateRead(shard: Label, key: Label, version: UInt64, source: ReadSource, latencyNs: UInt64, invocationID: UInt64 = 0)
    /// A state write from `baseVersion` to `newVersion` (attempt 1, 2, … under OCC retries).
    case stateWrite(shard: Label, key: Label, baseVersion: UInt64, newVersion: UInt64, outcome: WriteOutcome, latencyNs: UInt64, attempt: UInt64, invocationID: UInt64 = 0)
    /// A write-back flush of `pending` writes to the backing store.
    case memoryFlush(shard: Label, pending: UInt64, latencyNs: UInt64, outcome: FlushOutcome)
    /// A tool call; `fallbackUsed` when the tool's fallback answered instead; `invocationID` and
    /// `agent` name the invocation that made it (0 and `.none`: not given).
    case toolCall(tool: Label, outcome: ToolOutcome, latencyNs: UInt64, fallbackUsed: Bool, invocationID: UInt64 = 0, agent: Label = .none)
    /// A circuit breaker changed state.
    case breakerTransition(tool: Label, from: BreakerState, to: BreakerState)
    /// An LLM request; `rateLimitWaitNs` is the time spent waiting in the client-side limiter.
    /// `inputTokens` are the prompt tokens neither read from nor written to the provider's
    /// cache (`cacheReadTokens`, `cacheWriteTokens`); `reasoningTokens` are the part of
    /// `outputTokens` spent on reasoning. A streamed request gives the time to its first chunk;
    /// a rate-limited one says which limit (`rateLimitType`) and who enforced it (`origin`).
    case llmRequest(provider: Label, model: Label, key: Label, outcome: LLMOutcome, inputTokens: UInt64, outputTokens: UInt64, latencyNs: UInt64, rateLimitWaitNs: UInt64,
                    invocationID: UInt64 = 0, agent: Label = .none, cacheReadTokens: UInt64 = 0, cacheWriteTokens: UInt64 = 0, reasoningTokens: UInt64 = 0,
                    streamed: Bool = false, timeToFirstChunkNs: UInt64 = 0, rateLimitType: RateLimitType = .unspecified, origin: RateLimitOrigin = .unspecified)
    /// A rate limiter's state at a moment.
    case rateLimiterSample(limiter: Label, available: UInt64, capacity: UInt64, waiting: UInt64, inflight: UInt64, concurrencyLimit: UInt64)
    /// The client rotated from one API key alias to another.
    case keyRotation(provider: Label, from: Label, to: Label, reason: Label)
    /// The writer dropped `count` events (written by the writer itself).
    case eventsDropped(count: UInt64, reason: DropReason)
    /// What an LLM provider's response headers said of a key's remaining rate limits
    /// (`x-ratelimit-remaining-*`, `x-ratelimit-reset-*`).
    case llmProviderLimits(provider: Label, model: Label, key: Label, remainingRequests: UInt64, remainingTokens: UInt64, resetRequestsNs: UInt64, resetTokensNs: UInt64)
    // extending: new events go above this line (docs/extending.md)

    /// The event's type.
    @inlinable
    public var type: EventType {
        switch self {
        case .invocationStarted: return .invocationStarted
        case .invocationFinished: return .invocationFinished
        case .queueSample: return .queueSample
        case .queueRejection: return .queueRejection
        case .workerPoolSample: return .workerPoolSample
        case .stateRead: return .stateRead
        case .stateWrite: return .stateWrite
        case .memoryFlush: return .memoryFlush
        case .toolCall: return .toolCall
        case .breakerTransition: return .breakerTransition
        case .llmRequest: return .llmRequest
        case .rateLimiterSample: return .rateLimiterSample
        case .keyRotation: return .keyRotation
        case .eventsDropped: return .eventsDropped
        case .llmProviderLimits: return .llmProviderLimits
        // extending: new type arms go above this line
        }
    }

    /// Packs the event into its raw form (labels as writer label ids), in schema order.
    /// One switch sets the type and the fields (not `type`'s switch and then this one), and
    /// it is inlined into `emit`, which builds the event straight in its buffer slot.
    @inline(__always)
    package func raw(seq: UInt64, timestamp: UInt64) -> RawEvent {
        var r = RawEvent(type: .invocationStarted, seq: seq, timestamp: timestamp)
        switch self {
        case let .invocationStarted(agent, id, trace):
            // l1: the label form of trace_id (format v3 before the binary form), never written.
            r.l0 = agent.id; r.n0 = id; r.l1 = Label.none.id; r.n1 = trace.hi; r.n2 = trace.lo
        case let .invocationFinished(agent, outcome, duration, wait, id, queue):
            r.type = .invocationFinished; r.l0 = agent.id; r.n0 = UInt64(outcome.rawValue); r.n1 = duration; r.n2 = wait; r.n3 = id; r.l1 = queue.id
        case let .queueSample(queue, depth, capacity, oldest, enqueued):
            r.type = .queueSample; r.l0 = queue.id; r.n0 = depth; r.n1 = capacity; r.n2 = oldest; r.n3 = enqueued
        case let .queueRejection(queue, reason, retryAfter):
            r.type = .queueRejection; r.l0 = queue.id; r.l1 = reason.id; r.n0 = retryAfter
        case let .workerPoolSample(pool, busy, size):
            r.type = .workerPoolSample; r.l0 = pool.id; r.n0 = busy; r.n1 = size
        case let .stateRead(shard, key, version, source, latency, invocation):
            r.type = .stateRead; r.l0 = shard.id; r.l1 = key.id; r.n0 = version; r.n1 = UInt64(source.rawValue); r.n2 = latency; r.n3 = invocation
        case let .stateWrite(shard, key, base, new, outcome, latency, attempt, invocation):
            r.type = .stateWrite; r.l0 = shard.id; r.l1 = key.id; r.n0 = base; r.n1 = new; r.n2 = UInt64(outcome.rawValue); r.n3 = latency; r.n4 = attempt; r.n5 = invocation
        case let .memoryFlush(shard, pending, latency, outcome):
            r.type = .memoryFlush; r.l0 = shard.id; r.n0 = pending; r.n1 = latency; r.n2 = UInt64(outcome.rawValue)
        case let .toolCall(tool, outcome, latency, fallback, invocation, agent):
            r.type = .toolCall; r.l0 = tool.id; r.n0 = UInt64(outcome.rawValue); r.n1 = latency; r.n2 = fallback ? 1 : 0; r.n3 = invocation; r.l1 = agent.id
        case let .breakerTransition(tool, from, to):
            r.type = .breakerTransition; r.l0 = tool.id; r.n0 = UInt64(from.rawValue); r.n1 = UInt64(to.rawValue)
        case let .llmRequest(provider, model, key, outcome, input, output, latency, wait, invocation, agent, cacheRead, cacheWrite, reasoning, streamed, firstChunk, limitType, origin):
            r.type = .llmRequest; r.l0 = provider.id; r.l1 = model.id; r.l2 = key.id; r.l3 = agent.id
            r.n0 = UInt64(outcome.rawValue); r.n1 = input; r.n2 = output; r.n3 = latency; r.n4 = wait
            r.n5 = invocation; r.n6 = cacheRead; r.n7 = cacheWrite; r.n8 = reasoning; r.n9 = streamed ? 1 : 0; r.n10 = firstChunk
            r.n11 = UInt64(limitType.rawValue); r.n12 = UInt64(origin.rawValue)
        case let .rateLimiterSample(limiter, available, capacity, waiting, inflight, limit):
            r.type = .rateLimiterSample; r.l0 = limiter.id; r.n0 = available; r.n1 = capacity; r.n2 = waiting; r.n3 = inflight; r.n4 = limit
        case let .keyRotation(provider, from, to, reason):
            r.type = .keyRotation; r.l0 = provider.id; r.l1 = from.id; r.l2 = to.id; r.l3 = reason.id
        case let .eventsDropped(count, reason):
            r.type = .eventsDropped; r.n0 = count; r.n1 = UInt64(reason.rawValue)
        case let .llmProviderLimits(provider, model, key, remainingRequests, remainingTokens, resetRequests, resetTokens):
            r.type = .llmProviderLimits; r.l0 = provider.id; r.l1 = model.id; r.l2 = key.id
            r.n0 = remainingRequests; r.n1 = remainingTokens; r.n2 = resetRequests; r.n3 = resetTokens
        // extending: new raw arms go above this line
        }
        return r
    }
}

extension Event {
    /// Rebuilds a typed event from a raw event whose label slots hold writer label ids; nil
    /// when an enumeration field holds a code this build does not know (it is never folded
    /// into a known case).
    package init?(raw r: RawEvent) {
        struct Unknown: Error {}
        func e<T: RawRepresentable>(_ v: UInt64, _: T.Type) throws(Unknown) -> T where T.RawValue == UInt8 {
            guard v <= 255, let value = T(rawValue: UInt8(v)) else { throw Unknown() }
            return value
        }
        do {
            switch r.type {
            case .invocationStarted:
                // A trace id in the label form (l1) is a string-table index here, not a value:
                // `EventRecord.raw(intern:)` has turned a valid one into the binary form.
                self = .invocationStarted(agent: Label(id: r.l0), invocationID: r.n0, traceID: TraceID(hi: r.n1, lo: r.n2))
            case .invocationFinished:
                self = .invocationFinished(agent: Label(id: r.l0), outcome: try e(r.n0, InvocationOutcome.self), durationNs: r.n1, queueWaitNs: r.n2, invocationID: r.n3, queue: Label(id: r.l1))
            case .queueSample:
                self = .queueSample(queue: Label(id: r.l0), depth: r.n0, capacity: r.n1, oldestAgeNs: r.n2, enqueued: r.n3)
            case .queueRejection:
                self = .queueRejection(queue: Label(id: r.l0), reason: Label(id: r.l1), retryAfterNs: r.n0)
            case .workerPoolSample:
                self = .workerPoolSample(pool: Label(id: r.l0), busy: r.n0, size: r.n1)
            case .stateRead:
                self = .stateRead(shard: Label(id: r.l0), key: Label(id: r.l1), version: r.n0, source: try e(r.n1, ReadSource.self), latencyNs: r.n2, invocationID: r.n3)
            case .stateWrite:
                self = .stateWrite(shard: Label(id: r.l0), key: Label(id: r.l1), baseVersion: r.n0, newVersion: r.n1, outcome: try e(r.n2, WriteOutcome.self), latencyNs: r.n3, attempt: r.n4, invocationID: r.n5)
            case .memoryFlush:
                self = .memoryFlush(shard: Label(id: r.l0), pending: r.n0, latencyNs: r.n1, outcome: try e(r.n2, FlushOutcome.self))
            case .toolCall:
                self = .toolCall(tool: Label(id: r.l0), outcome: try e(r.n0, ToolOutcome.self), latencyNs: r.n1, fallbackUsed: r.n2 != 0, invocationID: r.n3, agent: Label(id: r.l1))
            case .breakerTransition:
                self = .breakerTransition(tool: Label(id: r.l0), from: try e(r.n0, BreakerState.self), to: try e(r.n1, BreakerState.self))
            case .llmRequest:
                self = .llmRequest(provider: Label(id: r.l0), model: Label(id: r.l1), key: Label(id: r.l2), outcome: try e(r.n0, LLMOutcome.self), inputTokens: r.n1, outputTokens: r.n2, latencyNs: r.n3, rateLimitWaitNs: r.n4,
                                    invocationID: r.n5, agent: Label(id: r.l3), cacheReadTokens: r.n6, cacheWriteTokens: r.n7, reasoningTokens: r.n8,
                                    streamed: r.n9 != 0, timeToFirstChunkNs: r.n10, rateLimitType: try e(r.n11, RateLimitType.self), origin: try e(r.n12, RateLimitOrigin.self))
            case .rateLimiterSample:
                self = .rateLimiterSample(limiter: Label(id: r.l0), available: r.n0, capacity: r.n1, waiting: r.n2, inflight: r.n3, concurrencyLimit: r.n4)
            case .keyRotation:
                self = .keyRotation(provider: Label(id: r.l0), from: Label(id: r.l1), to: Label(id: r.l2), reason: Label(id: r.l3))
            case .eventsDropped:
                self = .eventsDropped(count: r.n0, reason: try e(r.n1, DropReason.self))
            case .llmProviderLimits:
                self = .llmProviderLimits(provider: Label(id: r.l0), model: Label(id: r.l1), key: Label(id: r.l2), remainingRequests: r.n0, remainingTokens: r.n1,
                                          resetRequestsNs: r.n2, resetTokensNs: r.n3)
            // extending: new decode arms go above this line
            }
        } catch {
            return nil
        }
    }
}

// extending: new enumerations go above this line (docs/extending.md)
