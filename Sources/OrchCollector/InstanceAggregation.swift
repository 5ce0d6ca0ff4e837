import OrchLog
import OrchMetrics

/// One source directory (one writer process) of a source group: what must stay per instance
/// when the group's series are shared — its last event, whether it is caught up, its own
/// collector metrics, and the last value it gave each gauge (so that the group's gauge is the
/// combination of its instances' values, as each gauge feed declares: their sum or their max).
///
/// Only the collector's ingest thread touches it, with the registry lock held.
final class InstanceAggregation {
    /// The directory's name as `orchlog tail` shows it (`service/instance` in a two-level root).
    let name: String
    let path: String
    @exclusivity(unchecked) var lastEventTs: UInt64 = 0
    @exclusivity(unchecked) var caughtUp = true
    /// The `orchlog_collector_*` series this instance feeds: the group's (shared by its
    /// instances), or its own with `--metrics.per-instance`.
    @exclusivity(unchecked) private(set) var own: SourceAggregation.OwnHandles
    /// Per gauge family (by index): the value this instance last set, per series slot; NaN
    /// where it set none.
    @exclusivity(unchecked) private var gauges: [Int: GaugeValues] = [:]

    init(name: String, path: String, own: SourceAggregation.OwnHandles) {
        self.name = name
        self.path = path
        self.own = own
    }

    func replaceOwn(_ handles: SourceAggregation.OwnHandles) {
        own = handles
    }

    /// The values this instance gave `family`'s series, at least `slots` long.
    @inline(__always)
    func gaugeValues(_ family: MetricFamilyID, slots: Int) -> GaugeValues {
        if let g = gauges[family.index], g.values.count >= slots { return g }
        return grow(family, slots)
    }

    /// The values this instance gave `family`'s series, if it gave any.
    func existingGaugeValues(_ family: MetricFamilyID) -> GaugeValues? {
        gauges[family.index]
    }

    @inline(never)
    private func grow(_ family: MetricFamilyID, _ slots: Int) -> GaugeValues {
        let g = gauges[family.index] ?? GaugeValues()
        g.values.append(contentsOf: repeatElement(.nan, count: max(slots, 16) - g.values.count))
        gauges[family.index] = g
        return g
    }

    /// Every gauge value this instance holds: (family index, series slot, value).
    func allGaugeValues() -> [(family: Int, slot: Int32, value: Double)] {
        var out: [(Int, Int32, Double)] = []
        for (family, g) in gauges.sorted(by: { $0.key < $1.key }) {
            for (slot, v) in g.values.enumerated() where !v.isNaN { out.append((family, Int32(slot), v)) }
        }
        return out
    }
}

/// One instance's values of one gauge family, by series slot (a class: the aggregator's loop
/// updates it in place).
final class GaugeValues {
    @exclusivity(unchecked) var values: [Double] = []
}
