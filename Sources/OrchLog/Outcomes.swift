/// Enumerations carried by events. Raw values are the codes on disk and never change;
/// `names` maps codes to the names shown by `tail` and used in metric labels.

/// How an agent invocation ended.
public enum InvocationOutcome: UInt8, Sendable, CaseIterable {
    case success = 0, failure = 1, rejected = 2, timeout = 3
    public static let names = ["success", "failure", "rejected", "timeout"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// Where a state read was served from.
public enum ReadSource: UInt8, Sendable, CaseIterable {
    case cache = 0, store = 1
    public static let names = ["cache", "store"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// How a state write ended.
public enum WriteOutcome: UInt8, Sendable, CaseIterable {
    case committed = 0, conflict = 1, timeout = 2, error = 3
    public static let names = ["committed", "conflict", "timeout", "error"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// How a write-back flush ended.
public enum FlushOutcome: UInt8, Sendable, CaseIterable {
    case success = 0, error = 1, timeout = 2
    public static let names = ["success", "error", "timeout"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// How a tool call ended.
public enum ToolOutcome: UInt8, Sendable, CaseIterable {
    case success = 0, error = 1, timeout = 2, shortCircuited = 3
    public static let names = ["success", "error", "timeout", "short_circuited"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// A circuit breaker's state.
public enum BreakerState: UInt8, Sendable, CaseIterable {
    case closed = 0, open = 1, halfOpen = 2, forcedOpen = 3, disabled = 4
    public static let names = ["closed", "open", "half_open", "forced_open", "disabled"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// How an LLM request ended.
public enum LLMOutcome: UInt8, Sendable, CaseIterable {
    case success = 0, rateLimited = 1, error = 2, timeout = 3
    public static let names = ["success", "rate_limited", "error", "timeout"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// Why events were dropped: by the writer (`bufferFull`, `diskFull`, `ioError`), by a client
/// that could not reach the relay (`clientDropped`, reported in-band by the client), or by the
/// relay (`invalidEvent`, `sourceLimit`, `unreadableDatagram`, written into its own source).
public enum DropReason: UInt8, Sendable, CaseIterable {
    case bufferFull = 0, diskFull = 1, ioError = 2
    case clientDropped = 3, invalidEvent = 4, sourceLimit = 5, unreadableDatagram = 6
    public static let names = ["buffer_full", "disk_full", "io_error", "client_dropped", "invalid_event", "source_limit", "unreadable_datagram"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// Which limit a rate-limited LLM request hit (`unspecified`: not given).
public enum RateLimitType: UInt8, Sendable, CaseIterable {
    case unspecified = 0, requests = 1, tokens = 2, concurrency = 3, quota = 4
    public static let names = ["unspecified", "requests", "tokens", "concurrency", "quota"]
    public var name: String { Self.names[Int(rawValue)] }
}

/// Who enforced a rate limit: the provider (an HTTP 429) or the client's own limiter
/// (`unspecified`: not given).
public enum RateLimitOrigin: UInt8, Sendable, CaseIterable {
    case unspecified = 0, provider = 1, client = 2
    public static let names = ["unspecified", "provider", "client"]
    public var name: String { Self.names[Int(rawValue)] }
}
