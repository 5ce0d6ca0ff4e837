extension MetricRegistry {
    /// Calls `body` once per live series of `family` (the overflow series included), in slot
    /// order, with its label values (in the family's label-name order) and its value (a
    /// counter's or gauge's value, a histogram's sum). Allocates nothing per series; for
    /// readers that summarise a family, such as the collector's status page.
    public func forEachSeries(_ family: MetricFamilyID, _ body: (_ labelValues: ArraySlice<String>, _ value: Double) -> Void) {
        let f = family.index
        guard f >= 0, f < storages.count else { return }
        let storage = storages[f]
        let stride = storage.labelCount
        for slot in 0 ..< storage.labelsLength.count where storage.labelsLength[slot] != FamilyStorage.deadSlot {
            body(storage.labelValues[slot * stride ..< slot * stride + stride], storage.values[slot])
        }
    }
}
