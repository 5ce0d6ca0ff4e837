/// A cheap reference to one series (one label-value set) of one family.
///
/// Updating through a handle (`MetricRegistry.add`, `set`, `observe`) is an
/// array index operation: no hashing, no allocation. Obtain handles once with
/// `MetricRegistry.series(_:labelValues:)` and cache them.
///
/// A handle stays valid for the life of the registry unless *its own* series
/// is removed (`MetricRegistry.removeSeries`); the slot of a removed series
/// may be reused by a later series, so callers must drop cached handles of
/// removed series. `MetricRegistry.removalGeneration` changes whenever any
/// series is removed, which makes "flush the whole cache" an easy option.
public struct SeriesHandle: Sendable, Hashable {
    /// The family's index in registration order.
    public let family: Int32
    /// The series' slot inside the family's value arrays.
    public let slot: Int32

    init(family: Int, slot: Int32) {
        self.family = Int32(truncatingIfNeeded: family)
        self.slot = slot
    }

    /// The id of the family this series belongs to.
    public var familyID: MetricFamilyID { MetricFamilyID(index: Int(family)) }
}
