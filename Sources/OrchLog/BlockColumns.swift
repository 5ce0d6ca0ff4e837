/// One decoded block as columns, the way it is stored: per row its type and timestamp, the
/// rows grouped by type, and per type one column of values per field slot. A consumer that
/// aggregates (the collector) reads a type's columns in tight loops instead of 144-byte
/// `RawEvent` rows; `events()` builds the rows for everything else.
///
/// Filled by `BlockDecoder.decode(_:context:)`; reused from block to block.
package struct BlockColumns {
    /// Column positions per type code: label slots at 0..<4, number slots at 4..<17.
    static let maxColumns = RawEvent.labelSlots + RawEvent.numberSlots

    /// The block's string table; label columns hold indices into it.
    package internal(set) var stringTable = StringTable()
    /// The block's strings, made from `stringTable` on each call.
    package var strings: [String] { stringTable.strings }
    /// Sequence number of the block's first row.
    package internal(set) var firstSeq: UInt64 = 0
    /// Rows of the block, events of unknown types included (they take a sequence number).
    package internal(set) var rowCount = 0

    /// Per row (the first `rowCount`): its type code, 0 for a type this reader does not know.
    var rowTypes: [UInt16] = []
    /// Per row (the first `rowCount`): nanoseconds since the Unix epoch.
    var timestamps: [UInt64] = []
    /// Row numbers grouped by type code, ascending within a type: type `t` owns
    /// `byType[typeStart[t] ..< typeStart[t + 1]]`. Code 0 holds the unknown rows.
    var byType: [Int32] = []
    var typeStart = [Int](repeating: 0, count: EventSchema.codeLimit + 1)
    /// Field values: column `c` of type `t` is `values[columnStart[t * maxColumns + c] ...]`,
    /// one value per row of that type (0 when the block has no stream for the field); -1 for a
    /// slot the type's schema does not have.
    var values: [UInt64] = []
    var columnStart = [Int](repeating: 0, count: EventSchema.codeLimit * BlockColumns.maxColumns)

    /// Per type code: how many of its schema's field streams (`EventSchema.streams`: one per
    /// field, two for a trace id) the block carries (has a stream for, or could have: every
    /// stream when the type has no rows). An older writer's block lacks
    /// the fields appended to a type since; they read as 0 and "".
    var carried = [UInt8](repeating: UInt8(LogFormat.fieldsPerType), count: EventSchema.codeLimit)

    package init() {}

    /// How many leading field streams of `type`'s schema (`EventSchema.streams`) the block carries.
    package func carriedFields(_ type: EventType) -> Int { Int(carried[Int(type.rawValue)]) }

    /// Events of types this reader does not know, skipped (a newer writer's types).
    package var skippedUnknown: Int { typeStart[1] - typeStart[0] }
    /// Events of known types that carry a field this reader does not know (a newer writer
    /// appended it to the type): read without it. Each event counts once, however many such
    /// fields it has.
    package internal(set) var unknownFieldEvents = 0
    /// Field streams of known types that this reader does not know, skipped.
    package internal(set) var unknownFieldStreams = 0

    /// Events of known types.
    package var knownCount: Int { rowCount - skippedUnknown }

    /// Forgets the block (after a decoding error: nothing is delivered from it). The arrays
    /// keep their elements: they only grow, and only the first `rowCount` rows (and the
    /// columns `columnStart` points at) mean anything.
    mutating func clear() {
        rowCount = 0
        unknownFieldEvents = 0
        unknownFieldStreams = 0
        stringTable.removeAll()
        for i in typeStart.indices { typeStart[i] = 0 }
    }

    /// Runs `body` with a read-only view of the columns, valid only inside it.
    package func withView<R>(_ body: (BlockColumnsView) throws -> R) rethrows -> R {
        try rowTypes.withUnsafeBufferPointer { allTypes in
            try timestamps.withUnsafeBufferPointer { allTimestamps in
                let rowTypes = UnsafeBufferPointer(rebasing: allTypes[0..<rowCount])
                let timestamps = UnsafeBufferPointer(rebasing: allTimestamps[0..<rowCount])
                return try byType.withUnsafeBufferPointer { byType in
                    try values.withUnsafeBufferPointer { values in
                        try typeStart.withUnsafeBufferPointer { typeStart in
                            try columnStart.withUnsafeBufferPointer { columnStart in
                                try body(BlockColumnsView(rowTypes: rowTypes, timestamps: timestamps, byType: byType,
                                                          values: values, typeStart: typeStart, columnStart: columnStart))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The known events as rows, in order (what `BlockDecoder.decode(_:context:into:)` gives).
    package func events() -> [RawEvent] {
        var events: [RawEvent] = []
        events.reserveCapacity(rowCount)
        withView { v in
            // Index of each row among the known rows.
            var known = [Int32](repeating: -1, count: rowCount)
            for row in 0..<rowCount where v.rowTypes[row] != 0 {
                known[row] = Int32(events.count)
                events.append(RawEvent(type: EventType(rawValue: v.rowTypes[row])!, seq: firstSeq &+ UInt64(row), timestamp: v.timestamps[row]))
            }
            for type in EventType.allCases {
                let rows = v.rows(type)
                let schema = EventSchema.of(type)
                for slot in 0..<schema.labelCount {
                    let column = v.label(type, slot)
                    for k in rows.indices { events[Int(known[Int(rows[k])])].setLabel(slot, UInt32(truncatingIfNeeded: column[k])) }
                }
                for slot in 0..<schema.numberCount {
                    let column = v.number(type, slot)
                    for k in rows.indices { events[Int(known[Int(rows[k])])].setNumber(slot, column[k]) }
                }
            }
        }
        return events
    }
}

/// Unsafe, read-only pointers into a `BlockColumns`, valid inside `BlockColumns.withView`.
package struct BlockColumnsView {
    /// Per row: its type code, 0 for a type this reader does not know.
    package let rowTypes: UnsafeBufferPointer<UInt16>
    /// Per row: nanoseconds since the Unix epoch.
    package let timestamps: UnsafeBufferPointer<UInt64>
    @usableFromInline let byType: UnsafeBufferPointer<Int32>
    @usableFromInline let values: UnsafeBufferPointer<UInt64>
    @usableFromInline let typeStart: UnsafeBufferPointer<Int>
    @usableFromInline let columnStart: UnsafeBufferPointer<Int>

    /// Events of `type` in the block.
    @inlinable
    package func count(_ type: EventType) -> Int {
        let t = Int(type.rawValue)
        return typeStart[t + 1] - typeStart[t]
    }

    /// The row numbers of the events of `type`, ascending.
    @inlinable
    package func rows(_ type: EventType) -> UnsafeBufferPointer<Int32> {
        let t = Int(type.rawValue)
        return UnsafeBufferPointer(rebasing: byType[typeStart[t]..<typeStart[t + 1]])
    }

    /// Label slot `slot` of the events of `type`: indices into the block's strings, each checked
    /// to be in range when decoded. Traps for a slot the type's schema does not have.
    @inlinable
    package func label(_ type: EventType, _ slot: Int) -> UnsafeBufferPointer<UInt64> {
        precondition(slot >= 0 && slot < 4, "label slot out of range")  // RawEvent.labelSlots
        return column(type, slot)
    }

    /// Number slot `slot` of the events of `type`. Traps for a slot the type's schema does not have.
    @inlinable
    package func number(_ type: EventType, _ slot: Int) -> UnsafeBufferPointer<UInt64> {
        precondition(slot >= 0 && slot < 13, "number slot out of range")  // RawEvent.numberSlots
        return column(type, 4 &+ slot)
    }

    /// Column `c` (label slots at 0..<4, number slots from 4) of `type`.
    @inlinable
    func column(_ type: EventType, _ c: Int) -> UnsafeBufferPointer<UInt64> {
        let t = Int(type.rawValue)
        // -1 for a slot the schema lacks: the slice traps.
        let start = columnStart[t &* 17 &+ c]  // BlockColumns.maxColumns
        return UnsafeBufferPointer(rebasing: values[start..<start + typeStart[t + 1] - typeStart[t]])
    }
}
