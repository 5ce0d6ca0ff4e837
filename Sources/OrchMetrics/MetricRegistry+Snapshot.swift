extension MetricRegistry {
    /// Captures every family's live series and values, in render order.
    /// Cost is linear in the number of series; no prefix bytes are copied.
    public func snapshot() -> MetricSnapshot {
        var families: [MetricSnapshot.Family] = []
        families.reserveCapacity(storages.count)
        // Info families (a build's version) describe the running process: never carried over.
        for storage in storages where storage.type != .info {
            let labelCount = storage.family.labelNames.count
            let stride = storage.bucketStride
            var labelValues: [String] = []
            var values: [Double] = []
            var bucketCounts: [UInt64] = []
            var created: [Double] = []
            labelValues.reserveCapacity(storage.liveCount * labelCount)
            values.reserveCapacity(storage.liveCount)
            bucketCounts.reserveCapacity(storage.liveCount * stride)
            for s in 0 ..< storage.labelsLength.count where storage.labelsLength[s] != FamilyStorage.deadSlot {
                labelValues.append(contentsOf: storage.labelValues[s * labelCount ..< (s + 1) * labelCount])
                values.append(storage.values[s])
                created.append(storage.created[s])
                if stride > 0 {
                    bucketCounts.append(contentsOf: storage.bucketCounts.buffer(from: s * stride, count: stride))
                }
            }
            families.append(MetricSnapshot.Family(
                name: storage.family.name,
                type: storage.type,
                labelNames: storage.family.labelNames,
                bucketBounds: storage.bounds,
                droppedSeries: storage.dropped,
                labelValues: labelValues,
                values: values,
                bucketCounts: bucketCounts,
                created: created))
        }
        return MetricSnapshot(families: families)
    }

    /// Restores values from a snapshot into the registered families.
    ///
    /// Meant for a freshly registered registry at start-up. For each
    /// snapshot family whose name, type, label names and bucket bounds match
    /// a registered family, each series is created if needed and its values
    /// set to the snapshot's; the family's dropped count is set to the
    /// snapshot's. Snapshot series beyond the current `seriesLimitPerFamily`
    /// are merged into the overflow series (counters and histograms added,
    /// gauges last value) and counted as dropped. Families that are unknown,
    /// changed, or malformed are skipped and named in the result; a snapshot
    /// of another layout version is skipped entirely. Existing handles stay
    /// valid.
    @discardableResult
    public func restore(_ snapshot: MetricSnapshot) -> MetricRestoreResult {
        var result = MetricRestoreResult()
        guard snapshot.version == 1 else {
            result.ignoredFamilies = snapshot.families.map(\.name)
            return result
        }
        for family in snapshot.families {
            // An info family of this process (build_info) is set by it, not restored.
            if let f = familyByName[family.name], storages[f].type == .info { continue }
            guard let f = familyByName[family.name],
                  storages[f].type == family.type,
                  storages[f].family.labelNames == family.labelNames,
                  storages[f].bounds.map(\.bitPattern) == family.bucketBounds.map(\.bitPattern),
                  family.isConsistent
            else {
                result.ignoredFamilies.append(family.name)
                continue
            }
            restoreFamily(f, from: family, into: &result)
        }
        return result
    }

    private func restoreFamily(_ f: Int, from family: MetricSnapshot.Family, into result: inout MetricRestoreResult) {
        let labelCount = family.labelNames.count
        let stride = storages[f].bucketStride
        var foldedCount = 0
        var foldedValue = 0.0
        var foldedBuckets = [UInt64](repeating: 0, count: stride)
        for i in 0 ..< family.values.count {
            let labels = Array(family.labelValues[i * labelCount ..< (i + 1) * labelCount])
            let created: (handle: SeriesHandle, folded: Bool)
            do {
                created = try newSeries(family: f, labelValues: labels)
            } catch {
                continue  // unreachable: label counts were checked
            }
            let value = family.values[i]
            let slot = Int(created.handle.slot)
            if created.folded {
                foldedCount += 1
                if storages[f].type == .gauge { foldedValue = value } else { foldedValue += value }
                for b in 0 ..< stride { foldedBuckets[b] &+= family.bucketCounts[i * stride + b] }
            } else {
                storages[f].values[slot] = value
                if !family.created.isEmpty { storages[f].created[slot] = family.created[i] }
                for b in 0 ..< stride { storages[f].bucketCounts[slot * stride + b] = family.bucketCounts[i * stride + b] }
            }
            result.restoredSeries += 1
        }
        if foldedCount > 0 {
            let slot = Int(overflowSlot(family: f))
            if storages[f].type == .gauge {
                storages[f].values[slot] = foldedValue
            } else {
                storages[f].values[slot] += foldedValue
            }
            for b in 0 ..< stride { storages[f].bucketCounts[slot * stride + b] &+= foldedBuckets[b] }
        }
        storages[f].dropped = family.droppedSeries &+ UInt64(foldedCount)
        result.foldedSeries += foldedCount
    }
}
