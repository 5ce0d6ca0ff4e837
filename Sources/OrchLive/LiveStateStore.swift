/// A versioned record as a live store holds it: its version (0: never written), its data,
/// and the store's count of writes to it (the ground truth).
public struct StoredRecord: Sendable, Equatable {
    public var version: UInt64
    public var data: String
    public var writes: UInt64

    /// A record at `version` holding `data`, written `writes` times.
    public init(version: UInt64, data: String, writes: UInt64 = 0) {
        self.version = version
        self.data = data
        self.writes = writes
    }
}

/// One record of a write-back flush: the version and data the cache holds, and the record's
/// total write count (what the store counted when the cache loaded it plus the writes the
/// cache acknowledged since). Absolute, so a flush that timed out but was applied and is sent
/// again does not count its writes twice: the store keeps the larger count.
public struct FlushRecord: Sendable, Equatable {
    public var key: String
    public var version: UInt64
    public var data: String
    public var writes: UInt64

    /// A flush of `key` at `version`, the record written `writes` times in all.
    public init(key: String, version: UInt64, data: String, writes: UInt64) {
        self.key = key
        self.version = version
        self.data = data
        self.writes = writes
    }
}

/// A write the store applied: the version the record is now at, and the store's count of
/// writes to the record including this one (its place in the order the store applied the
/// record's writes: events are emitted in that order, so the collector sees them as the
/// store did).
public struct LiveCommit: Sendable, Equatable {
    public var version: UInt64
    public var sequence: UInt64

    /// A commit at `version`, the record's `sequence`-th write.
    public init(version: UInt64, sequence: UInt64) {
        self.version = version
        self.sequence = sequence
    }
}

/// How a write to a live store ended.
public enum LiveWriteOutcome: Sendable, Equatable {
    /// Written: the record is now at `commit.version`.
    case committed(LiveCommit)
    /// Compare-and-set refused it: the record had moved on to `current` since it was read.
    case conflict(current: UInt64)
}

/// What the store itself says about a record (or a sum over records): the ground truth
/// lost updates are checked against, independent of the orchestrator's bookkeeping.
///
/// Every write that reports success increments `writes` in the same atomic step as the
/// record; `highestVersion` is the highest version the record ever reached. A write that
/// built on the newest version advances it by one; a write that built on a stale read sets
/// a version already reached (or an older one), so it advances nothing. Hence
/// `lostUpdates = writes − highestVersion`: writes that reported success but whose update
/// was overwritten — the same definition as the collector's
/// `orch_state_lost_updates_total` (a committed write whose base version is older than a
/// version already committed).
public struct StoreTruth: Sendable, Equatable {
    /// Writes that reported success, counted by the store.
    public var writes: UInt64
    /// Versions actually advanced: the highest version reached (summed over records).
    public var highestVersion: UInt64

    /// Truth of `writes` successful writes that reached `highestVersion`.
    public init(writes: UInt64, highestVersion: UInt64) {
        self.writes = writes
        self.highestVersion = highestVersion
    }

    /// Writes reported successful minus versions actually advanced.
    public var lostUpdates: UInt64 { writes >= highestVersion ? writes - highestVersion : 0 }

    /// The sum of two truths (over disjoint records).
    public static func + (a: StoreTruth, b: StoreTruth) -> StoreTruth {
        StoreTruth(writes: a.writes + b.writes, highestVersion: a.highestVersion + b.highestVersion)
    }
}

/// A real state store of versioned records (Redis, PostgreSQL), safe to call from many
/// threads at once: each call takes a connection of its own from a pool and blocks on it.
///
/// Two ways to write: `compareAndSet` (optimistic concurrency: commit only if the record is
/// still at the version the writer read) and `blindSet` (the naive read-modify-write: the
/// record is set to `base + 1` whatever happened since the read — last writer wins, and
/// updates get lost under real concurrency). Both count themselves in the store's ground
/// truth (`truth`).
public protocol LiveStateStore: AnyObject, Sendable {
    /// `"redis"` or `"postgres"` (the summary's `state.store`).
    var kind: String { get }
    /// Reads `key` (version 0 and empty data when it was never written).
    func read(_ key: String) throws(LiveError) -> StoredRecord
    /// Writes `data` as version `base + 1` only if `key` is still at `base`.
    func compareAndSet(_ key: String, base: UInt64, data: String) throws(LiveError) -> LiveWriteOutcome
    /// Writes `data` as version `base + 1` unconditionally (the naive path).
    func blindSet(_ key: String, base: UInt64, data: String) throws(LiveError) -> LiveCommit
    /// Writes several records as a write-back cache decided them (a flush; the cache is the
    /// authority for their versions), each raising the ground truth's write count to its
    /// `writes` (never lowering it). One round trip per server where the store allows it.
    func put(_ records: [FlushRecord]) throws(LiveError)
    /// The store's ground truth for `key`.
    func truth(_ key: String) throws(LiveError) -> StoreTruth
    /// The store's ground truth summed over every record.
    func totalTruth() throws(LiveError) -> StoreTruth
    /// Deletes every record (a fresh run on a store that is not throwaway).
    func reset() throws(LiveError)
}
