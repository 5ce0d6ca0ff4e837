/// Identifies a metric family inside the `MetricRegistry` that registered it.
///
/// Ids are small integers in registration order. They are only meaningful to
/// the registry that issued them.
public struct MetricFamilyID: Sendable, Hashable {
    /// The family's position in registration order, starting at 0.
    public let index: Int

    init(index: Int) {
        self.index = index
    }
}
