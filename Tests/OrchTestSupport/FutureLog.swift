import OrchLog

/// A log "from the future": one format version 3 segment, as a writer with a newer schema
/// would write it — events of type codes this build does not know (300, and 65535, the
/// highest), a `tool_call` field stream at position 20 and a `key_rotation` one at 63 (the
/// last a type can have), between known events (one of them with an invocation outcome code,
/// 9, that no `InvocationOutcome` has). Built by `HandBuiltSegment` from docs/log-format.md.
public enum FutureLog {
    /// 2025-11-24T16:00:00Z in nanoseconds.
    public static let t0: UInt64 = 1_764_000_000_000_000_000
    /// Events of unknown types in the log (rows 2, 5, 8, 9).
    public static let unknownTypeEvents = 4
    /// Events of known types that carry a field stream this build does not know: both
    /// `tool_call`s of block 1 and the `key_rotation` of block 2.
    public static let unknownFieldEvents = 3
    /// Field streams of known types beyond their schema (tool_call 20, key_rotation 63).
    public static let unknownFieldStreams = 2
    /// Events in the log, known or not (every one takes a sequence number).
    public static let events = 10
    /// Sequence numbers of the events this build knows.
    public static let knownSeqs: [UInt64] = [1, 3, 4, 6, 7, 10]

    public static let blocks: [(strings: [String], rows: [HandBuiltRow])] = [
        (["crm", "search", "future-label", "日本"], [
            HandBuiltRow(type: Int(EventType.toolCall.rawValue), timestamp: t0, fields: [0, 0, 1_500, 0], extra: [20: 77]),
            HandBuiltRow(type: 300, timestamp: t0 + 10, fields: [2, 12_345, 7]),
            HandBuiltRow(type: Int(EventType.queueSample.rawValue), timestamp: t0 + 20, fields: [3, 70_000, 100_000]),
            HandBuiltRow(type: Int(EventType.toolCall.rawValue), timestamp: t0 + 30, fields: [1, 2, 30_000_000_000, 1], extra: [20: 99]),
            HandBuiltRow(type: 300, timestamp: t0 + 40, fields: [2, 1, 2]),
            HandBuiltRow(type: Int(EventType.invocationFinished.rawValue), timestamp: t0 + 50, fields: [0, 9, 5, 6, 42, 3]),
        ]),
        (["openai", "gpt", "k1", "k2", "rate_limited"], [
            HandBuiltRow(type: Int(EventType.keyRotation.rawValue), timestamp: t0 + 1_000, fields: [0, 2, 3, 4], extra: [63: 5]),
            HandBuiltRow(type: 65_535, timestamp: t0 + 1_010, fields: [1]),
            HandBuiltRow(type: 300, timestamp: t0 + 1_020, fields: []),
            HandBuiltRow(type: Int(EventType.llmRequest.rawValue), timestamp: t0 + 1_030, fields: [0, 1, 2, 0, 10, 20, 300, 0]),
        ]),
    ]

    /// Writes the log's one segment into the source directory `dir`.
    public static func write(to dir: String) throws {
        try HandBuiltSegment.write(to: dir, blocks: blocks)
    }
}
