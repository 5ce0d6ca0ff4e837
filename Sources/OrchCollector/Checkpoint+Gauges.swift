import OrchMetrics

/// The per-instance gauge values of source groups in checkpoints, by family name and label
/// values (series slots are not stable across processes).
extension Checkpoint {
    /// What `instance` last gave each gauge series that still exists.
    static func gauges(of instance: InstanceAggregation, registry: MetricRegistry) -> [Gauge] {
        let families = registry.families
        return instance.allGaugeValues().compactMap { g -> Gauge? in
            guard g.family < families.count, let id = registry.family(named: families[g.family].name),
                  let labels = registry.labelValues(family: id, slot: g.slot) else { return nil }
            return Gauge(family: families[g.family].name, labels: labels, value: g.value)
        }
    }

    /// Gives `instance` back the gauge values a checkpoint recorded for it (series the
    /// restored registry does not have are skipped).
    static func restore(_ gauges: [Gauge], into instance: InstanceAggregation, registry: MetricRegistry) {
        for g in gauges {
            guard let family = registry.family(named: g.family),
                  let series = registry.existingSeries(family, labelValues: g.labels) else { continue }
            let values = instance.gaugeValues(family, slots: Int(series.slot) + 1)
            values.values[Int(series.slot)] = g.value
        }
    }
}
