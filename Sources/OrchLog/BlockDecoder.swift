import COrchSys
/// Decodes one inflated block (see docs/log-format.md): string table, then columnar streams,
/// into `BlockColumns` (column by column: tight loops over one stream each). Version 3 and 2
/// streams are byte planes, widened value by value (version 2 keys its field streams
/// 16 × type + field, version 3 64 × type + field); version 1 streams (varints, logs written
/// before 2026-11-26) are still read.
/// Every length, index and count is checked against the block's bounds and `LogFormat`
/// limits; anything out of range is `.corrupt`, never a crash. Events of unknown types and
/// fields a newer writer appended (streams this reader does not know) are skipped, and
/// counted (`BlockColumns.skippedUnknown`, `unknownFieldEvents`); so are a version 3 block's
/// reserved streams (keys 2…63), uncounted.
package struct BlockDecoder {
    /// The last block, decoded (empty after a block that failed to decode).
    package private(set) var columns = BlockColumns()
    /// Streams of the types this reader knows, by version 3 key (64 × type + field; 0 and 1
    /// the type and timestamp streams): `fieldsPerType` per type code below the schema's
    /// highest, whatever a block's type codes reach.
    package static let streamTableSize = LogFormat.fieldsPerType * EventSchema.codeLimit
    /// Cursor (position, end) per stream (version 3 key); (0, 0) when absent.
    private var cursors = [(Int, Int)](repeating: (0, 0), count: streamTableSize)
    private var present = [Bool](repeating: false, count: streamTableSize)
    private var presentKeys: [Int] = []
    /// Known types with a field stream this reader does not know, in the last block.
    private var unknownFieldTypes: [Int] = []
    /// Per-block scratch, kept to be reused: events per type code, next row per type code.
    private var perTypeScratch = [Int](repeating: 0, count: EventSchema.codeLimit)
    private var nextScratch = [Int](repeating: 0, count: EventSchema.codeLimit)

    /// Per type code below `codeLimit`: whether this reader knows it (EventType and schema).
    private static let known: [Bool] = (0..<EventSchema.codeLimit).map { EventType(rawValue: UInt16($0)) != nil }
    /// Per type code below 256 or `codeLimit`: the code if this reader knows it, else 0.
    private static let typeCodeOf: [UInt16] = (0..<max(256, EventSchema.codeLimit)).map {
        $0 < EventSchema.codeLimit && known[$0] ? UInt16($0) : 0
    }

    package init() {}

    /// The block's string table (valid after `decode`).
    package var strings: [String] { columns.strings }
    /// The block's string table as stored (valid after `decode`).
    package var stringTable: StringTable { columns.stringTable }
    /// Events of types this reader does not know, skipped in the last block.
    package var skippedUnknown: Int { columns.skippedUnknown }
    /// The sequence number of the last block's first event (as the block states it).
    package var firstSeq: UInt64 { columns.firstSeq }

    /// Decodes all of `block` into `events` (replacing its contents), in order. Label slots of
    /// the events index `strings`. Nothing is delivered from a block that fails to decode.
    /// - Throws: `OrchLogError(.corrupt)` naming `context` and the offset.
    package mutating func decode(_ block: UnsafeRawBufferPointer, context: String, into events: inout [RawEvent]) throws {
        events.removeAll(keepingCapacity: true)
        try decode(block, context: context)
        events = columns.events()
    }

    /// Decodes all of `block` into `columns`. Label columns index `strings`. Nothing is
    /// delivered from a block that fails to decode (`columns` is then empty).
    /// - Throws: `OrchLogError(.corrupt)` naming `context` and the offset.
    package mutating func decode(_ block: UnsafeRawBufferPointer, context: String) throws {
        do {
            try decodeColumns(block, context: context)
        } catch {
            columns.clear()
            throw error
        }
    }

    /// Forgets the last block.
    mutating func clear() { columns.clear() }

    private mutating func decodeColumns(_ block: UnsafeRawBufferPointer, context: String) throws {
        columns.clear()
        for key in presentKeys {
            present[key] = false
            cursors[key] = (0, 0)
        }
        presentKeys.removeAll(keepingCapacity: true)
        unknownFieldTypes.removeAll(keepingCapacity: true)
        var r = ByteReader(block, context: context)
        let version = try r.byte()
        guard version >= LogFormat.blockVersionVarints && version <= LogFormat.blockVersion else {
            throw r.corrupt("block version \(version) is not supported")
        }
        let planes = version != LogFormat.blockVersionVarints
        // Field stream keys: 64 × type + field (version 3), 16 × type + field (1 and 2).
        let keyShift: UInt64 = version == LogFormat.blockVersion ? 6 : 4
        // Version 3 writes each stream key as its difference from the previous stream's.
        let deltaKeys = version == LogFormat.blockVersion
        let count = try r.varint()
        guard count <= UInt64(LogFormat.maxEventsPerBlock) else { throw r.corrupt("event count \(count) exceeds limit") }
        let firstSeq = try r.varint()
        columns.firstSeq = firstSeq
        let baseTs = try r.varint()
        let stringCount = try r.varint()
        guard stringCount <= UInt64(LogFormat.maxStrings), stringCount <= UInt64(r.remaining) else {
            throw r.corrupt("string count \(stringCount) exceeds limit")
        }
        let tableStart = r.offset
        try columns.stringTable.load(Int(stringCount), of: block, at: tableStart) { starts, ends in
            for i in 0..<starts.count {
                let length = try r.varint()
                guard length <= UInt64(LogFormat.maxStringLength), length <= UInt64(r.remaining) else {
                    throw r.corrupt("string length \(length) runs past end of block")
                }
                starts[i] = r.offset &- tableStart
                try r.skip(Int(length))
                ends[i] = r.offset &- tableStart
            }
            return r.offset
        }
        let streamCount = try r.varint()
        guard streamCount <= UInt64(r.remaining) else { throw r.corrupt("stream count \(streamCount) runs past end of block") }
        var previousKey: UInt64?
        for _ in 0..<Int(streamCount) {
            var key = try r.varint()
            let length = try r.varint()
            if deltaKeys, let previousKey {
                // Version 3 stores each key as its difference from the previous one.
                guard key > 0 else { throw r.corrupt("stream keys out of order (\(previousKey) twice)") }
                let (sum, overflow) = previousKey.addingReportingOverflow(key)
                guard !overflow else { throw r.corrupt("stream key past 2^64 after \(previousKey)") }
                key = sum
            }
            guard length <= UInt64(r.remaining) else { throw r.corrupt("stream \(key) of \(length) bytes runs past end of block") }
            if let previousKey, key <= previousKey { throw r.corrupt("stream keys out of order (\(key) after \(previousKey))") }
            previousKey = key
            // The stream's version 3 key, if this reader reads it: the type and timestamp
            // streams, and the known fields of known types. Reserved keys (version 3: 2…63;
            // before: 2…15, type 0) and streams of unknown types are skipped unread.
            let type = key >> keyShift, field = Int(key & (1 << keyShift &- 1))
            var k = -1
            if key <= UInt64(LogFormat.timestampStreamKey) {
                k = Int(key)
            } else if type < UInt64(EventSchema.codeLimit), Self.known[Int(type)] {
                if field < Int(EventSchema.layout[Int(type) &* EventSchema.layoutStride]) {
                    k = LogFormat.fieldStreamKey(type: Int(type), field: field)
                } else {
                    // A field a newer writer appended to a type this reader knows.
                    columns.unknownFieldStreams &+= 1
                    if !unknownFieldTypes.contains(Int(type)) { unknownFieldTypes.append(Int(type)) }
                }
            }
            if k >= 0 {
                present[k] = true
                presentKeys.append(k)
                cursors[k] = (r.offset, r.offset + Int(length))
            }
            try r.skip(Int(length))
        }
        guard r.remaining == 0 else { throw r.corrupt("\(r.remaining) trailing bytes after the streams") }
        guard count == 0 || (present[LogFormat.typeStreamKey] && present[LogFormat.timestampStreamKey]) else {
            throw r.corrupt("block of \(count) events lacks its type or timestamp stream")
        }

        let n = Int(count)
        let stringLimit = UInt64(columns.stringTable.count)
        // The arrays only grow: every row below n is written before it is read.
        if columns.rowTypes.count < n { columns.rowTypes += repeatElement(0, count: n - columns.rowTypes.count) }
        if columns.timestamps.count < n { columns.timestamps += repeatElement(0, count: n - columns.timestamps.count) }
        if columns.byType.count < n { columns.byType += repeatElement(0, count: n - columns.byType.count) }

        // Rows: type and timestamp of each, counted per type (in scratch arrays taken out of
        // `self` for the block, so that no block allocates them).
        var perTypeArray = perTypeScratch, nextArray = nextScratch
        perTypeScratch = []
        nextScratch = []
        defer {
            perTypeScratch = perTypeArray
            nextScratch = nextArray
        }
        let codeLimit = EventSchema.codeLimit
        try perTypeArray.withUnsafeMutableBufferPointer { perType in
            perType.update(repeating: 0)
            try columns.rowTypes.withUnsafeMutableBufferPointer { rowTypes in
                try columns.timestamps.withUnsafeMutableBufferPointer { timestamps in
                    try Self.known.withUnsafeBufferPointer { known in
                        if planes {
                            guard n > 0 else { return }
                            // Type codes and timestamp deltas as planes, widened in place. A
                            // type from a newer writer reads as code 0, skipped (it still took a
                            // sequence number).
                            let typeStream = cursors[LogFormat.typeStreamKey]
                            if typeStream.1 &- typeStream.0 == 1 &+ n, block[typeStream.0] == 1 {
                                // One byte per code (codes below 256): read in place.
                                Self.typeCodeOf.withUnsafeBufferPointer { codeOf in
                                    for row in 0..<n {
                                        let t = codeOf[Int(block[typeStream.0 &+ 1 &+ row])]
                                        rowTypes[row] = t
                                        perType[Int(t)] &+= 1
                                    }
                                }
                            } else {
                                let typeCodes = timestamps.baseAddress!
                                try Self.widenPlanes(block, typeStream, count: n, into: typeCodes,
                                                     key: LogFormat.typeStreamKey, context: context)
                                Self.typeCodeOf.withUnsafeBufferPointer { codeOf in
                                    for row in 0..<n {
                                        let code = typeCodes[row]
                                        let t = code < UInt64(codeOf.count) ? codeOf[Int(code)] : 0
                                        rowTypes[row] = t
                                        perType[Int(t)] &+= 1
                                    }
                                }
                            }
                            try Self.widenPlanes(block, cursors[LogFormat.timestampStreamKey], count: n, into: timestamps.baseAddress!,
                                                 key: LogFormat.timestampStreamKey, context: context)
                            var ts = baseTs
                            for row in 0..<n {
                                ts = ts &+ UInt64(bitPattern: unzigzag(timestamps[row]))
                                timestamps[row] = ts
                            }
                            return
                        }
                        var types = StreamReader(block, cursors[LogFormat.typeStreamKey], key: LogFormat.typeStreamKey, context: context)
                        var deltas = StreamReader(block, cursors[LogFormat.timestampStreamKey], key: LogFormat.timestampStreamKey, context: context)
                        var ts = baseTs
                        for row in 0..<n {
                            let typeCode = try types.next()
                            ts = ts &+ UInt64(bitPattern: unzigzag(try deltas.next()))
                            // A type from a newer writer: code 0, skipped (it still took a sequence number).
                            let t = typeCode < UInt64(codeLimit) && known[Int(typeCode)] ? Int(typeCode) : 0
                            rowTypes[row] = UInt16(t)
                            timestamps[row] = ts
                            perType[t] &+= 1
                        }
                        guard types.atEnd, deltas.atEnd else {
                            throw OrchLogError(.corrupt, "\(context): bytes left over in the type or timestamp stream")
                        }
                    }
                }
            }
            // Rows grouped by type (a counting sort), and each known type's columns laid out.
            var total = 0
            var width = 0
            for t in 0..<codeLimit {
                columns.typeStart[t] = total
                nextArray[t] = total
                total += perType[t]
                for c in 0..<BlockColumns.maxColumns {
                    columns.columnStart[t * BlockColumns.maxColumns + c] = -1
                }
                if t > 0, Self.known[t] {
                    let schema = EventSchema.of(EventType(rawValue: UInt16(t))!)
                    for slot in 0..<schema.labelCount {
                        columns.columnStart[t * BlockColumns.maxColumns + slot] = width
                        width += perType[t]
                    }
                    for slot in 0..<schema.numberCount {
                        columns.columnStart[t * BlockColumns.maxColumns + RawEvent.labelSlots + slot] = width
                        width += perType[t]
                    }
                }
            }
            columns.typeStart[codeLimit] = total
            for t in unknownFieldTypes { columns.unknownFieldEvents &+= perType[t] }
            // Only grows: each column is written whole by its stream, or zeroed below.
            if columns.values.count < width { columns.values += repeatElement(0, count: width - columns.values.count) }
            columns.rowTypes.withUnsafeBufferPointer { rowTypes in
                columns.byType.withUnsafeMutableBufferPointer { byType in
                    nextArray.withUnsafeMutableBufferPointer { next in
                        for row in 0..<n {
                            let t = Int(rowTypes[row])
                            byType[next[t]] = Int32(truncatingIfNeeded: row)
                            next[t] &+= 1
                        }
                    }
                }
            }
        }
        columns.rowCount = n

        // Field streams, column by column. A label field the block has no stream for reads as
        // "" (appended to the string table after the block's own strings, when needed).
        let emptyLabel = UInt64(columns.stringTable.count)
        var needsEmptyLabel = false
        try columns.values.withUnsafeMutableBufferPointer { values in
            try EventSchema.layout.withUnsafeBufferPointer { layout in
                for key in presentKeys where key >= LogFormat.fieldsPerType {
                    let typeCode = key / LogFormat.fieldsPerType, field = key % LogFormat.fieldsPerType
                    let row = typeCode &* EventSchema.layoutStride
                    // Streams of unknown types, or fields a newer writer appended: ignored.
                    guard field < Int(layout[row]) else { continue }
                    let code = layout[row &+ 1 &+ field]
                    let rows = columns.typeStart[typeCode + 1] - columns.typeStart[typeCode]
                    let column = code < 0 ? Int(-(code + 1)) : RawEvent.labelSlots + Int(code)
                    let start = columns.columnStart[typeCode * BlockColumns.maxColumns + column]
                    if planes {
                        try Self.widenPlanes(block, cursors[key], count: rows, into: values.baseAddress! + start,
                                             limit: code < 0 ? stringLimit : nil, key: key, context: context)
                        continue
                    }
                    // One byte per value and no byte ≥ 0x80: every value is a one-byte varint
                    // (enumerations, flags, most labels and small counts) — widened in one
                    // loop; anything else, or a label out of range, takes the checked path,
                    // which rewrites the column and reports the exact error.
                    if Self.widenOneByteValues(block, cursors[key], count: rows, into: values.baseAddress! + start,
                                               limit: code < 0 ? stringLimit : 256) {
                        continue
                    }
                    var stream = StreamReader(block, cursors[key], key: key, context: context)
                    if code < 0 {
                        for k in 0..<rows {
                            let v = try stream.next()
                            guard v < stringLimit else {
                                throw OrchLogError(.corrupt, "\(context): string index \(v) out of range (\(stringLimit) strings)")
                            }
                            values[start &+ k] = v
                        }
                    } else {
                        for k in 0..<rows { values[start &+ k] = try stream.next() }
                    }
                    guard stream.atEnd else {
                        throw OrchLogError(.corrupt, "\(context): bytes left over in stream \(key)")
                    }
                }
                // Fields the block has no stream for (an older writer, no events of the type): 0.
                for typeCode in 1..<codeLimit where Self.known[typeCode] {
                    let rows = columns.typeStart[typeCode + 1] - columns.typeStart[typeCode]
                    guard rows > 0 else { continue }
                    let row = typeCode &* EventSchema.layoutStride
                    var carried = 0
                    for field in 0..<Int(layout[row]) where present[LogFormat.fieldStreamKey(type: typeCode, field: field)] { carried = field + 1 }
                    columns.carried[typeCode] = UInt8(carried)
                    for field in 0..<Int(layout[row]) where !present[LogFormat.fieldStreamKey(type: typeCode, field: field)] {
                        let code = layout[row &+ 1 &+ field]
                        let c = code < 0 ? Int(-(code + 1)) : RawEvent.labelSlots + Int(code)
                        let start = columns.columnStart[typeCode * BlockColumns.maxColumns + c]
                        if code < 0 { needsEmptyLabel = true }
                        UnsafeMutableBufferPointer(rebasing: values[start..<start + rows]).update(repeating: code < 0 ? emptyLabel : 0)
                    }
                }
            }
        }
        if needsEmptyLabel { _ = columns.stringTable.appendEmpty() }
    }
}

extension BlockDecoder {
    /// Widens the stream at `range` into `out` when it holds exactly `count` one-byte varints,
    /// each below `limit`; returns false (with `out` partly written) otherwise.
    @inline(__always)
    static func widenOneByteValues(_ block: UnsafeRawBufferPointer, _ range: (Int, Int), count: Int,
                                   into out: UnsafeMutablePointer<UInt64>, limit: UInt64) -> Bool {
        guard range.1 &- range.0 == count, count > 0, let base = block.baseAddress else { return false }
        let bytes = (base + range.0).assumingMemoryBound(to: UInt8.self)
        var high: UInt8 = 0
        for k in 0..<count {
            let b = bytes[k]
            high = max(high, b)
            out[k] = UInt64(b)
        }
        return UInt64(high) < min(limit, 0x80)
    }
}

extension BlockDecoder {
    /// Decodes the version 2 stream at `range` — a width W (1…8), then W planes of `count`
    /// bytes, plane j holding byte j of every value — into `out`. With a `limit` (label
    /// streams: the string count) every value must be below it.
    /// - Throws: `.corrupt` for a width out of range, a length other than 1 + W × count, or a
    ///   value not below `limit`.
    @inline(__always)
    static func widenPlanes(_ block: UnsafeRawBufferPointer, _ range: (Int, Int), count: Int,
                            into out: UnsafeMutablePointer<UInt64>, limit: UInt64? = nil, key: Int, context: String) throws {
        let length = range.1 &- range.0
        guard length > 0, let base = block.baseAddress else {
            throw OrchLogError(.corrupt, "\(context): stream \(key) is empty (its value width is missing)")
        }
        let bytes = (base + range.0).assumingMemoryBound(to: UInt8.self)
        let width = Int(bytes[0])
        guard width >= 1 && width <= 8 else {
            throw OrchLogError(.corrupt, "\(context): stream \(key) has values \(width) bytes wide (1 to 8 allowed)")
        }
        guard length == 1 &+ width &* count else {
            throw OrchLogError(.corrupt, "\(context): stream \(key) holds \(length) bytes, \(1 &+ width &* count) expected for \(count) values \(width) bytes wide")
        }
        let p = bytes + 1
        // Sixteen values at a time, the planes' bytes interleaved in vector registers (a C
        // shim: Swift's SIMD conversions are not inlined), a call per common width so that
        // the plane count is a constant; the last `count % 16` values one by one.
        switch width {
        case 1: orchlog_widen_planes(p, count, out, 1)
        case 2: orchlog_widen_planes(p, count, out, 2)
        case 3: orchlog_widen_planes(p, count, out, 3)
        case 4: orchlog_widen_planes(p, count, out, 4)
        default: orchlog_widen_planes(p, count, out, Int32(width))
        }
        guard let limit else { return }
        // Every value is below the limit when the top plane's largest byte is below the
        // limit's byte at that position; otherwise the values themselves are compared. A
        // limit of 256^W or more admits every value.
        let shift = UInt64(8 &* (width &- 1))
        guard width == 8 || limit >> (shift &+ 8) == 0 else { return }
        guard UInt64(maxByte(p + (width &- 1) &* count, count)) >= limit >> shift,
              let bad = UnsafeBufferPointer(start: out, count: count).first(where: { $0 >= limit }) else { return }
        throw OrchLogError(.corrupt, "\(context): string index \(bad) out of range (\(limit) strings)")
    }

    /// The largest of `count` bytes at `p` (0 for none).
    @inline(__always)
    private static func maxByte(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt8 {
        let raw = UnsafeRawPointer(p)
        var high = SIMD16<UInt8>(repeating: 0)
        var i = 0
        while i &+ 16 <= count {
            high = pointwiseMax(high, raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            i &+= 16
        }
        var top = high.max()
        while i < count {
            top = max(top, p[i])
            i &+= 1
        }
        return top
    }
}

/// Reads varints from one stream of a block, bounds-checked.
struct StreamReader {
    let base: UnsafeRawPointer?
    var position: Int
    let end: Int
    let key: Int
    let context: String

    @inline(__always)
    init(_ block: UnsafeRawBufferPointer, _ range: (Int, Int), key: Int, context: String) {
        base = block.baseAddress
        position = range.0
        end = range.1
        self.key = key
        self.context = context
    }

    var atEnd: Bool { position == end }

    @inline(__always)
    mutating func next() throws -> UInt64 {
        guard let base, position < end else { throw OrchLogError(.corrupt, "\(context): stream \(key) ends early") }
        let b = base.load(fromByteOffset: position, as: UInt8.self)
        if b < 0x80 {
            position &+= 1
            return UInt64(b)
        }
        if end &- position >= 10 {
            // The longest varint fits: no bounds checks. Nine bytes at most here (shift ≤ 56
            // cannot overflow); a tenth is left to the checked path.
            var p = position
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while shift < 63 {
                let b = base.load(fromByteOffset: p, as: UInt8.self)
                p &+= 1
                result |= UInt64(b & 0x7F) << shift
                if b < 0x80 {
                    position = p
                    return result
                }
                shift &+= 7
            }
        }
        return try nextChecked()
    }

    /// A varint near the end of the stream, or of ten bytes: every byte checked.
    @inline(never)
    mutating func nextChecked() throws -> UInt64 {
        guard let base, position < end else { throw OrchLogError(.corrupt, "\(context): stream \(key) ends early") }
        var b = base.load(fromByteOffset: position, as: UInt8.self)
        position &+= 1
        if b < 0x80 { return UInt64(b) }
        var result = UInt64(b & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard position < end else { throw OrchLogError(.corrupt, "\(context): varint runs past end of stream \(key)") }
            b = base.load(fromByteOffset: position, as: UInt8.self)
            position &+= 1
            if shift == 63 && b > 1 { throw OrchLogError(.corrupt, "\(context): varint overflows 64 bits in stream \(key)") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift &+= 7
            if shift > 63 { throw OrchLogError(.corrupt, "\(context): varint longer than 10 bytes in stream \(key)") }
        }
    }
}
