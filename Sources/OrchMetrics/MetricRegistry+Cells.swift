/// Raw pointers to one family's per-series cells, for batch updaters that apply many
/// updates between two series creations (the collector's per-block aggregation).
///
/// **Valid only until the registry next creates or removes a series, or restores a
/// snapshot** (any of these may move the cells): fetch it again after any such call. The
/// caller indexes by `SeriesHandle.slot` of a live series of this family and applies the same
/// rules as `MetricRegistry.add`/`set`/`observe` (counters never go down, no NaN).
public struct FamilyCells {
    /// Value (counter, gauge) or sum (histogram) per slot.
    public let values: UnsafeMutablePointer<Double>
    /// Histograms: `bucketStride` non-cumulative bucket counts per slot, `+Inf` last.
    public let bucketCounts: UnsafeMutablePointer<UInt64>
    /// Buckets per series including `+Inf`; 0 for counters and gauges.
    public let bucketStride: Int
    /// Slots the family has (live or free); every handle's slot is below it.
    public let slotCount: Int
    /// The family's type.
    public let type: MetricType

    /// Adds `amount` (≥ 0) to counter or gauge `slot`: what `MetricRegistry.add` does.
    @inlinable @inline(__always)
    public func add(_ slot: Int32, _ amount: Double) {
        precondition(UInt(bitPattern: Int(slot)) < UInt(bitPattern: slotCount), "slot out of range")
        values[Int(slot)] += amount
    }

    /// Sets gauge `slot`: what `MetricRegistry.set` does.
    @inlinable @inline(__always)
    public func set(_ slot: Int32, _ value: Double) {
        precondition(UInt(bitPattern: Int(slot)) < UInt(bitPattern: slotCount), "slot out of range")
        values[Int(slot)] = value
    }

    /// Records one observation of histogram `slot` whose bucket the caller found (with
    /// `IntegerBuckets`): what `MetricRegistry.observe(_:value)` does for that `value`.
    @inlinable @inline(__always)
    public func observe(_ slot: Int32, bucket: Int, value: Double) {
        precondition(UInt(bitPattern: Int(slot)) < UInt(bitPattern: slotCount) && UInt(bitPattern: bucket) < UInt(bitPattern: bucketStride),
                     "slot or bucket out of range")
        bucketCounts[Int(slot) &* bucketStride &+ bucket] &+= 1
        values[Int(slot)] += value
    }
}

/// A histogram's bucket bounds restated for unsigned integer observations `n` recorded as
/// `value(n)` (for example nanoseconds recorded as `Double(n) * 1e-9` seconds), so that
/// the bucket is found with integer comparisons. `bucket(n)` is exactly the bucket
/// `MetricRegistry.observe` picks for `value(n)`: the first bound ≥ `value(n)`, else `+Inf`,
/// provided `value` is non-decreasing and never NaN (as `Double(n) * c` is for `c > 0`).
public struct IntegerBuckets: Sendable, Equatable {
    /// Per bound from `first` on, the largest `n` with `value(n) <= bound`, then one
    /// `UInt64.max` (no `n` is above it: the search stops there, at `+Inf`).
    @usableFromInline let thresholds: [UInt64]
    /// Per bit length L of `n` (0…64): how many thresholds lie below the smallest `n` of that
    /// length, where the search for such an `n` starts.
    @usableFromInline let starts: [Int]
    /// Leading bounds that no `n` satisfies (`value(0) > bound`).
    @usableFromInline let first: Int

    /// Restates `bounds` (ascending) for `value`.
    public init(bounds: [Double], value: (UInt64) -> Double) {
        var first = 0
        var thresholds: [UInt64] = []
        for bound in bounds {
            guard value(0) <= bound else {
                first += 1
                continue
            }
            // Largest n with value(n) <= bound: value is non-decreasing, so a binary search.
            var low: UInt64 = 0, high = UInt64.max
            while low < high {
                let mid = low + (high - low) / 2 + (high - low) % 2
                if value(mid) <= bound { low = mid } else { high = mid - 1 }
            }
            thresholds.append(low)
        }
        thresholds.append(UInt64.max)
        self.first = first
        self.thresholds = thresholds
        starts = (0...64).map { length in
            let smallest: UInt64 = length == 0 ? 0 : 1 << (length - 1)
            return thresholds.firstIndex { smallest <= $0 }!
        }
    }

    /// The bucket index of observation `n` (`bounds.count` for `+Inf`).
    @inlinable @inline(__always)
    public func bucket(_ n: UInt64) -> Int {
        // Start at the first threshold not below the smallest number of n's bit length, then
        // step over the (few) thresholds below n: the first with n <= threshold is the bucket.
        thresholds.withUnsafeBufferPointer { t in
            var i = starts.withUnsafeBufferPointer { $0[64 &- n.leadingZeroBitCount] }
            while t[i] < n { i &+= 1 }
            return first &+ i
        }
    }
}

extension FamilyStorage {
    /// The storage's cells (a method, so that the storage is read in place, not copied).
    func cells() -> FamilyCells {
        FamilyCells(values: values.base, bucketCounts: bucketCounts.base, bucketStride: bucketStride, slotCount: values.count, type: type)
    }
}

extension MetricRegistry {
    /// Raw pointers to `family`'s cells, valid until the next series creation or removal or
    /// snapshot restore (see `FamilyCells`).
    public func cells(_ family: MetricFamilyID) -> FamilyCells {
        storages[family.index].cells()
    }

    /// `family`'s bucket bounds restated for integer observations recorded as `value(n)`.
    public func integerBuckets(_ family: MetricFamilyID, value: (UInt64) -> Double) -> IntegerBuckets {
        IntegerBuckets(bounds: storages[family.index].bounds, value: value)
    }
}
