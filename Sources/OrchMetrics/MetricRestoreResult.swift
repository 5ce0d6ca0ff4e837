/// What `MetricRegistry.restore(_:)` did with a snapshot.
public struct MetricRestoreResult: Sendable, Equatable {
    /// Series whose values were restored (each folded one counts too).
    public var restoredSeries: Int
    /// Names of snapshot families that were skipped: not registered, or
    /// registered with a different type, label names or bucket bounds, or
    /// with inconsistent arrays.
    public var ignoredFamilies: [String]
    /// Snapshot series that did not fit under the current series limit and
    /// were merged into their family's overflow series.
    public var foldedSeries: Int

    /// How many snapshot families were skipped.
    public var ignoredFamilyCount: Int { ignoredFamilies.count }

    /// Creates a result.
    public init(restoredSeries: Int = 0, ignoredFamilies: [String] = [], foldedSeries: Int = 0) {
        self.restoredSeries = restoredSeries
        self.ignoredFamilies = ignoredFamilies
        self.foldedSeries = foldedSeries
    }
}
