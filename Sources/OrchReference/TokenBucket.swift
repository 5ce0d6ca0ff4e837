/// A token bucket: holds up to `capacity` tokens and refills continuously at
/// `ratePerSecond`. Used per API key for requests per minute and tokens per minute, on the
/// client side (to shape) and in the simulated provider (to enforce). Times are simulated
/// nanoseconds.
public struct TokenBucket: Sendable, Equatable {
    /// Maximum tokens (the burst).
    public var capacity: Double
    /// Tokens added per second.
    public var ratePerSecond: Double
    /// Tokens at `updatedAt`.
    public private(set) var level: Double
    /// When `level` was last brought up to date (ns).
    public private(set) var updatedAt: UInt64

    /// A full bucket at time `now`.
    public init(capacity: Double, ratePerSecond: Double, now: UInt64 = 0) {
        self.capacity = max(0, capacity)
        self.ratePerSecond = max(0, ratePerSecond)
        level = self.capacity
        updatedAt = now
    }

    /// A bucket for a per-minute limit with a burst of `burstSeconds` worth of the rate.
    public static func perMinute(_ limit: Double, burstSeconds: Double = 10, now: UInt64 = 0) -> TokenBucket {
        TokenBucket(capacity: max(1, limit * burstSeconds / 60), ratePerSecond: limit / 60, now: now)
    }

    /// Brings the level up to `now`.
    public mutating func refill(now: UInt64) {
        guard now > updatedAt else { return }
        level = min(capacity, level + Double(now - updatedAt) * 1e-9 * ratePerSecond)
        updatedAt = now
    }

    /// Tokens available at `now`.
    public func available(now: UInt64) -> Double {
        guard now > updatedAt else { return level }
        return min(capacity, level + Double(now - updatedAt) * 1e-9 * ratePerSecond)
    }

    /// Whether `n` tokens (clamped to the capacity, so a request larger than the bucket can
    /// still pass once it is full) can be taken at `now`.
    public func canTake(_ n: Double, now: UInt64) -> Bool {
        available(now: now) + 1e-9 >= min(n, capacity)
    }

    /// Takes `n` tokens (clamped to the capacity) if available.
    /// - Returns: whether they were taken.
    @discardableResult
    public mutating func take(_ n: Double, now: UInt64) -> Bool {
        refill(now: now)
        let need = min(n, capacity)
        guard level + 1e-9 >= need else { return false }
        level = max(0, level - need)
        return true
    }

    /// Nanoseconds from `now` until `n` tokens (clamped to the capacity) are available;
    /// `UInt64.max` when the bucket never refills.
    public func waitTime(_ n: Double, now: UInt64) -> UInt64 {
        let missing = min(n, capacity) - available(now: now)
        if missing <= 1e-9 { return 0 }
        guard ratePerSecond > 0 else { return .max }
        return UInt64((missing / ratePerSecond * 1e9).rounded(.up))
    }

    /// Changes the rate and capacity (a quota change), keeping the level within the new capacity.
    public mutating func reconfigure(capacity: Double, ratePerSecond: Double, now: UInt64) {
        refill(now: now)
        self.capacity = max(0, capacity)
        self.ratePerSecond = max(0, ratePerSecond)
        level = min(level, self.capacity)
    }
}
