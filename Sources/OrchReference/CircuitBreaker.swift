import OrchLog

/// A circuit breaker's settings.
public struct BreakerConfig: Sendable, Equatable {
    /// The sliding window over which the failure rate is computed (ns).
    public var windowNs: UInt64 = 30_000_000_000
    /// Calls needed in the window before the breaker may open.
    public var minimumCalls: Int = 8
    /// Failure rate (0...1) at or above which the breaker opens.
    public var failureRateThreshold: Double = 0.5
    /// How long the breaker stays open before letting probes through (ns).
    public var openDurationNs: UInt64 = 30_000_000_000
    /// Successful probes needed in half-open to close; one failed probe reopens.
    public var probesToClose: Int = 3

    /// The defaults: 30 s window, 8 calls, 50%, 30 s open, 3 probes.
    public init() {}
}

/// What the breaker decided for a call.
public enum BreakerPermit: Sendable, Equatable {
    /// A normal call (closed state).
    case normal
    /// A trial call in half-open state.
    case probe
}

/// A state change, for the `breaker_transition` event. The breaker uses the log's
/// `closed`, `open` and `halfOpen` states.
public struct BreakerChange: Sendable, Equatable {
    /// The state left and the state entered.
    public let from: BreakerState
    public let to: BreakerState
}

/// A per-tool circuit breaker: closed → open when the failure rate over a sliding time
/// window reaches the threshold (with enough calls); open → half-open after the open
/// duration (on the next call); half-open lets up to `probesToClose` probes through,
/// short-circuits everything else, closes when that many probes have succeeded and
/// reopens on the first failed probe. Pure state machine: times are passed in (simulated ns).
public struct CircuitBreaker: Sendable {
    /// The settings, and the current state (closed, open or half-open).
    public let config: BreakerConfig
    public private(set) var state: BreakerState = .closed
    /// When the breaker last opened (ns).
    public private(set) var openedAt: UInt64 = 0

    // Outcomes in the window, oldest first: (time, failed).
    private var window: [(time: UInt64, failed: Bool)] = []
    private var windowStart = 0
    private var windowFailures = 0
    private var probesInFlight = 0
    private var probeSuccesses = 0

    /// A closed breaker.
    public init(config: BreakerConfig = BreakerConfig()) {
        self.config = config
    }

    /// Calls in the current window (after trimming to `now`).
    public mutating func windowCounts(now: UInt64) -> (calls: Int, failures: Int) {
        trim(now: now)
        return (window.count - windowStart, windowFailures)
    }

    /// Asks to make a call at `now`. Returns the permit (nil: short-circuit) and the state
    /// change the request caused, if any (open → half-open once the open duration is over).
    public mutating func acquire(now: UInt64) -> (permit: BreakerPermit?, change: BreakerChange?) {
        switch state {
        case .closed:
            return (.normal, nil)
        case .open:
            guard now >= openedAt &+ config.openDurationNs else { return (nil, nil) }
            state = .halfOpen
            probesInFlight = 1
            probeSuccesses = 0
            return (.probe, BreakerChange(from: .open, to: .halfOpen))
        case .halfOpen:
            guard probesInFlight + probeSuccesses < config.probesToClose else { return (nil, nil) }
            probesInFlight += 1
            return (.probe, nil)
        case .forcedOpen:
            return (nil, nil)  // not used by this breaker
        case .disabled:
            return (.normal, nil)
        }
    }

    /// Records the outcome of a call made with `permit`. Returns the state change it caused.
    public mutating func record(_ permit: BreakerPermit, success: Bool, now: UInt64) -> BreakerChange? {
        switch permit {
        case .probe:
            guard state == .halfOpen else { return nil }  // a stale probe after a reopen
            probesInFlight = max(0, probesInFlight - 1)
            if !success {
                open(now: now)
                return BreakerChange(from: .halfOpen, to: .open)
            }
            probeSuccesses += 1
            if probeSuccesses >= config.probesToClose {
                state = .closed
                resetWindow()
                return BreakerChange(from: .halfOpen, to: .closed)
            }
            return nil
        case .normal:
            // Calls admitted while closed that finish later still count towards the window,
            // but only a closed breaker opens on them.
            window.append((now, !success))
            if !success { windowFailures += 1 }
            trim(now: now)
            guard state == .closed else { return nil }
            let calls = window.count - windowStart
            if calls >= config.minimumCalls,
               Double(windowFailures) >= config.failureRateThreshold * Double(calls) {
                open(now: now)
                return BreakerChange(from: .closed, to: .open)
            }
            return nil
        }
    }

    private mutating func open(now: UInt64) {
        state = .open
        openedAt = now
        probesInFlight = 0
        probeSuccesses = 0
        resetWindow()
    }

    private mutating func resetWindow() {
        window.removeAll(keepingCapacity: true)
        windowStart = 0
        windowFailures = 0
    }

    private mutating func trim(now: UInt64) {
        let horizon = now > config.windowNs ? now - config.windowNs : 0
        while windowStart < window.count, window[windowStart].time < horizon {
            if window[windowStart].failed { windowFailures -= 1 }
            windowStart += 1
        }
        if windowStart > 1024 && windowStart * 2 > window.count {
            window.removeFirst(windowStart)
            windowStart = 0
        }
    }
}
