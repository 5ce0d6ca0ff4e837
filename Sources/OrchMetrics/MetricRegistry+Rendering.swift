extension MetricRegistry {
    /// Appends the exposition of every family, in registration order, to
    /// `buffer` (existing bytes are kept).
    ///
    /// Prometheus text 0.0.4: `# HELP` (when the help is non-empty) and
    /// `# TYPE` per family, counters named with `_total`. OpenMetrics 1.0.0:
    /// `# TYPE`, `# UNIT` (see `MetricFamily.rendersUnitLine`), `# HELP`,
    /// counter families named without `_total` and their samples with it,
    /// `le` values in canonical form (`1.0`, `0.005`, `1e+06`, `+Inf`), no
    /// `_sum` for histograms with a negative bound, and a final `# EOF`.
    /// A family with no series renders only its metadata lines, which both
    /// formats allow.
    ///
    /// Values: integral values as plain integers (`42`), others as shortest
    /// round-trip floats, `NaN`, `+Inf`, `-Inf`. Histogram buckets are
    /// cumulative and the `le="+Inf"` bucket equals `_count`.
    ///
    /// - Parameters:
    ///   - format: the exposition format.
    ///   - buffer: the bytes to append to; capacity is reserved up front.
    ///   - terminate: for OpenMetrics, whether to end with `# EOF` (ignored
    ///     for the text format). To put several registries into one
    ///     exposition, render all but the last with `terminate: false`.
    public func render(format: ExpositionFormat, into buffer: inout [UInt8], terminate: Bool = true) {
        if format == .openMetrics { exemplarSource?.flushExemplars(into: self) }
        buffer.reserveCapacity(buffer.count + estimatedRenderSize(format: format))
        for f in storages.indices where storages[f].exported {
            storages[f].render(format: format, into: &buffer)
        }
        if format == .openMetrics && terminate {
            ExpositionWriter.append("# EOF\n", to: &buffer)
        }
    }

    /// An upper-leaning estimate of the bytes `render` appends, used to
    /// reserve capacity once.
    /// Stops or resumes rendering `family` (its series, if any, are still kept).
    public func setExported(_ family: MetricFamilyID, _ exported: Bool) {
        guard family.index >= 0, family.index < storages.count else { return }
        storages[family.index].exported = exported
    }

    /// Whether `family` is rendered (see `setExported`).
    public func isExported(_ family: MetricFamilyID) -> Bool {
        family.index >= 0 && family.index < storages.count && storages[family.index].exported
    }

    public func estimatedRenderSize(format: ExpositionFormat) -> Int {
        var total = 16
        for storage in storages where storage.exported {
            total += storage.estimatedRenderSize(format: format)
        }
        return total
    }
}

extension FamilyStorage {
    /// Bytes per sample reserved for the value and newline.
    static let valueAllowance = 24

    func estimatedRenderSize(format: ExpositionFormat) -> Int {
        let header = format == .openMetrics ? openMetricsHeader.count : textHeader.count
        switch type {
        case .counter, .gauge, .info:
            let created = format == .openMetrics && !createdName.isEmpty ? liveCount * (createdName.count + 1 + Self.valueAllowance) + liveLabelBytes : 0
            return header + liveCount * (sampleName.count + 1 + Self.valueAllowance) + liveLabelBytes + created
        case .histogram:
            let suffixes = format == .openMetrics ? openMetricsBucketSuffixes : textBucketSuffixes
            let suffixBytes = suffixes.reduce(0) { $0 + $1.count }
            let perSeries = bucketStride * (sampleName.count + 1 + Self.valueAllowance) + suffixBytes
                + sumName.count + countName.count + 2 * (1 + Self.valueAllowance)
            let created = format == .openMetrics ? liveCount * (createdName.count + 1 + Self.valueAllowance) + liveLabelBytes : 0
            // Exemplars: ` # ` and up to 128 characters of labels (escapes aside), then two numbers.
            let exemplarBytes = format == .openMetrics && !exemplars.isEmpty ? exemplars.count * (3 + 140 + 2 * Self.valueAllowance) : 0
            return header + liveCount * perSeries + liveLabelBytes * (bucketStride + 2) + created + exemplarBytes
        }
    }

    func render(format: ExpositionFormat, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: format == .openMetrics ? openMetricsHeader : textHeader)
        guard liveCount > 0 else { return }
        arena.withUnsafeBufferPointer { arena in
            switch type {
            case .counter, .gauge, .info:
                renderScalars(arena: arena, created: format == .openMetrics && !createdName.isEmpty, into: &buffer)
            case .histogram:
                renderHistograms(arena: arena, format: format, into: &buffer)
            }
        }
    }

    /// - Parameter created: add each series' `x_created` line (OpenMetrics counters).
    private func renderScalars(arena: UnsafeBufferPointer<UInt8>, created: Bool, into buffer: inout [UInt8]) {
        let nameLength = sampleName.count + 1
        for s in 0 ..< labelsLength.count {
            let labels = labelsLength[s]
            if labels == Self.deadSlot { continue }
            let start = prefixStart[s]
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: arena[start ..< start + nameLength + Int(labels)]))
            ExpositionWriter.appendValue(values[s], to: &buffer)
            buffer.append(ExpositionWriter.newline)
            if created {
                // `x_created{labels} <seconds>`: the label set is the one after the sample name.
                let labelStart = start + sampleName.count
                appendCreated(s, labels: UnsafeBufferPointer(rebasing: arena[labelStart ..< labelStart + Int(labels)]), into: &buffer)
            }
        }
    }

    @inline(__always)
    private func appendCreated(_ s: Int, labels: UnsafeBufferPointer<UInt8>, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: createdName)
        buffer.append(contentsOf: labels)
        buffer.append(ExpositionWriter.space)
        ExpositionWriter.appendValue(created[s], to: &buffer)
        buffer.append(ExpositionWriter.newline)
    }

    private func renderHistograms(arena: UnsafeBufferPointer<UInt8>, format: ExpositionFormat, into buffer: inout [UInt8]) {
        let suffixes = format == .openMetrics ? openMetricsBucketSuffixes : textBucketSuffixes
        let rendersSum = format == .prometheusText || openMetricsRendersSum
        let stride = bucketStride
        // Exemplars, in OpenMetrics only (the text format 0.0.4 has none).
        let exemplars = format == .openMetrics ? self.exemplars : []
        do {
            let counts = bucketCounts.base
            for s in 0 ..< labelsLength.count {
                let labels = labelsLength[s]
                if labels == Self.deadSlot { continue }
                let length = Int(labels)
                let bucketStart = prefixStart[s]
                let bucketBase = UnsafeBufferPointer(rebasing: arena[bucketStart ..< bucketStart + bucketBaseLength(labelsLength: length)])
                var cumulative: UInt64 = 0
                let base = s * stride
                for b in 0 ..< stride {
                    cumulative &+= counts[base + b]
                    buffer.append(contentsOf: bucketBase)
                    buffer.append(contentsOf: suffixes[b])
                    ExpositionWriter.appendUInt(cumulative, to: &buffer)
                    if base + b < exemplars.count, let exemplar = exemplars[base + b] { exemplar.append(to: &buffer) }
                    buffer.append(ExpositionWriter.newline)
                }
                let sumStart = bucketStart + bucketBase.count
                let sumLength = sumPrefixLength(labelsLength: length)
                if rendersSum {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: arena[sumStart ..< sumStart + sumLength]))
                    ExpositionWriter.appendValue(values[s], to: &buffer)
                    buffer.append(ExpositionWriter.newline)
                }
                let countStart = sumStart + sumLength
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: arena[countStart ..< countStart + countPrefixLength(labelsLength: length)]))
                ExpositionWriter.appendUInt(cumulative, to: &buffer)
                buffer.append(ExpositionWriter.newline)
                if format == .openMetrics {
                    let labelStart = countStart + countName.count
                    appendCreated(s, labels: UnsafeBufferPointer(rebasing: arena[labelStart ..< labelStart + length]), into: &buffer)
                }
            }
        }
    }
}
