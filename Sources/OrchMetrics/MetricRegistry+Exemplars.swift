/// A producer of exemplars that makes them only when they are read: it records what it needs
/// cheaply as observations happen, and sets the latest per bucket (`setExemplar`) when the
/// registry asks — before each OpenMetrics rendering and each `exemplar(_:bucket:)` read —
/// so that exemplars replaced before anyone reads them are never made.
public protocol ExemplarSource: AnyObject {
    /// Sets (`MetricRegistry.setExemplar`) the exemplars recorded since the last call.
    func flushExemplars(into registry: MetricRegistry)
}

extension MetricRegistry {
    /// Lets the buckets of histogram `family` keep one exemplar each (the latest set), rendered
    /// in OpenMetrics output only. Returns false (and does nothing) for a family that is not a
    /// histogram or not of this registry.
    ///
    /// Memory: from the first `setExemplar` on, one optional `Exemplar` (32 bytes) per bucket of
    /// the family's slots, and per exemplar its rendered label set on the heap. Exemplars are
    /// not part of snapshots: a restored registry starts without them.
    @discardableResult
    public func enableExemplars(_ family: MetricFamilyID) -> Bool {
        guard family.index >= 0, family.index < storages.count, storages[family.index].type == .histogram else { return false }
        storages[family.index].carriesExemplars = true
        return true
    }

    /// Whether `family`'s buckets keep exemplars (`enableExemplars`).
    public func carriesExemplars(_ family: MetricFamilyID) -> Bool {
        family.index >= 0 && family.index < storages.count && storages[family.index].carriesExemplars
    }

    /// Makes `exemplar` the exemplar of the bucket of histogram series `series` that its value
    /// falls into (the bucket `observe` would count it in), replacing the one before. Returns
    /// false when it is not kept: the family does not carry exemplars, or the handle is not live.
    @discardableResult
    public func setExemplar(_ series: SeriesHandle, _ exemplar: Exemplar) -> Bool {
        guard isLive(series) else { return false }
        let f = Int(series.family)
        return setExemplar(family: MetricFamilyID(index: f), slot: series.slot, bucket: storages[f].bucketIndex(for: exemplar.value), exemplar)
    }

    /// Makes `exemplar` the exemplar of bucket `bucket` (0-based, `+Inf` last) of `family`'s
    /// series in `slot` — for callers that found the bucket already (integer bucket searches).
    /// Returns false, keeping nothing, when the family does not carry exemplars, the slot is not
    /// live, the exemplar's value does not lie within that bucket (OpenMetrics requires it), or
    /// the bucket holds an exemplar with a later timestamp (Prometheus rejects an exemplar older
    /// than the last it stored for a series; exemplars without timestamps always replace).
    @discardableResult
    public func setExemplar(family: MetricFamilyID, slot: Int32, bucket: Int, _ exemplar: Exemplar) -> Bool {
        let f = family.index
        guard f >= 0, f < storages.count else { return false }
        return storages[f].setExemplar(slot: Int(slot), bucket: bucket, exemplar)
    }

    /// The exemplar of bucket `bucket` (0-based, `+Inf` last) of a histogram series, if any.
    public func exemplar(_ series: SeriesHandle, bucket: Int) -> Exemplar? {
        exemplarSource?.flushExemplars(into: self)
        guard isLive(series) else { return nil }
        let storage = storages[Int(series.family)]
        guard bucket >= 0, bucket < storage.bucketStride else { return nil }
        let i = Int(series.slot) * storage.bucketStride + bucket
        return i < storage.exemplars.count ? storage.exemplars[i] : nil
    }
}
