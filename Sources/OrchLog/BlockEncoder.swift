/// Builds one block (version 3) in columnar form: the block's string table (each label value
/// interned once per block), then one stream per column — event types, timestamp deltas, and
/// each (type, field) — so that the compressor sees similar values side by side. Each stream
/// holds its values at the width of its largest, as byte planes (docs/log-format.md): 6%
/// smaller on disk than version 1's varint columns, and no branch per byte to write or read.
/// Owned by the flusher thread; not thread-safe.
///
/// `append` only copies the event and interns its labels; `assemble` encodes column by
/// column: one tight loop per (type, field) over that type's events, with the field's slot
/// fixed for the whole loop. That is a quarter of the instructions of encoding field by field
/// as events arrive (see BENCHMARKS.md). The raw size is therefore estimated while appending,
/// from the bytes per event each type took in earlier blocks, and bounded from above by the
/// widest encoding an event can have.
struct BlockEncoder {
    /// Type codes this writer can produce: the schema's (below `EventSchema.codeLimit`).
    static let typeLimit = EventSchema.codeLimit
    /// Entries per type in `plan`: a field count, then one per field.
    static let planStride = EventSchema.layoutStride

    /// The events of the block, in order (copied: the emit buffer they came from is reused),
    /// and their type codes (an enum's in-memory tag is not its raw value).
    private var events: UnsafeMutablePointer<RawEvent>
    private var types: UnsafeMutablePointer<UInt16>
    private var eventCapacity: Int
    private(set) var count = 0
    /// Events per type in this block, and the types present (in order of first appearance).
    private let typeCounts: UnsafeMutablePointer<Int>
    private var typesUsed: [Int] = []
    /// Per type: field count, then per field the byte offset of its slot in `RawEvent`,
    /// negated minus one for label slots (`plan[t * planStride]` = n, `plan[t * planStride + 1 + f]`).
    private let plan: UnsafeMutablePointer<Int>
    /// Per type: label slots used (they are always slots 0..<n).
    private let labelSlots: UnsafeMutablePointer<Int>
    /// Estimated encoded bytes of one event of each type (type byte, timestamp delta and
    /// fields), learned from the previous block (`widest` until then).
    private let typeCost: UnsafeMutablePointer<Int>
    /// The block's estimated stream bytes, and their upper bound (`widest` per event).
    private var estimate = 0
    private var bound = 0
    /// One column of values being written, and the counting sort of events by type
    /// (`eventCapacity` entries each, grown with `events`).
    private var column: UnsafeMutablePointer<UInt64>
    private var order: UnsafeMutablePointer<Int32>
    /// Per type: the next free position in `order` (no allocation per block).
    private let next: UnsafeMutablePointer<Int>

    private var strings = ByteBuffer(capacity: 4 << 10)
    /// Writer label id → index in this block's string table, or -1.
    private var blockIndex: [Int32] = []
    private var touched: [UInt32] = []
    private(set) var stringCount = 0
    private var emptyIndex: Int32 = -1
    private(set) var firstSeq: UInt64 = 0
    private(set) var lastSeq: UInt64 = 0
    private(set) var firstTs: UInt64 = 0
    private(set) var lastTs: UInt64 = 0

    init() {
        eventCapacity = 1024
        events = .allocate(capacity: eventCapacity)
        types = .allocate(capacity: eventCapacity)
        order = .allocate(capacity: eventCapacity)
        column = .allocate(capacity: eventCapacity)
        typeCounts = .allocate(capacity: Self.typeLimit)
        typeCounts.initialize(repeating: 0, count: Self.typeLimit)
        next = .allocate(capacity: Self.typeLimit)
        next.initialize(repeating: 0, count: Self.typeLimit)
        plan = .allocate(capacity: Self.typeLimit * Self.planStride)
        plan.initialize(repeating: 0, count: Self.typeLimit * Self.planStride)
        labelSlots = .allocate(capacity: Self.typeLimit)
        labelSlots.initialize(repeating: 0, count: Self.typeLimit)
        typeCost = .allocate(capacity: Self.typeLimit)
        let labelOffsets = [\RawEvent.l0, \RawEvent.l1, \RawEvent.l2, \RawEvent.l3].map { MemoryLayout<RawEvent>.offset(of: $0)! }
        let numberOffsets = [\RawEvent.n0, \RawEvent.n1, \RawEvent.n2, \RawEvent.n3, \RawEvent.n4, \RawEvent.n5, \RawEvent.n6,
                             \RawEvent.n7, \RawEvent.n8, \RawEvent.n9, \RawEvent.n10, \RawEvent.n11, \RawEvent.n12]
            .map { MemoryLayout<RawEvent>.offset(of: $0)! }
        for t in 0..<Self.typeLimit {
            let row = t * EventSchema.layoutStride
            let n = Int(EventSchema.layout[row])
            let p = t * Self.planStride
            plan[p] = n
            var labels = 0
            for f in 0..<n {
                let code = Int(EventSchema.layout[row + 1 + f])
                if code < 0 {
                    plan[p + 1 + f] = -(labelOffsets[-(code + 1)] + 1)
                    labels += 1
                } else {
                    plan[p + 1 + f] = numberOffsets[code]
                }
            }
            labelSlots[t] = labels
            // Until a block has shown this type's size: the widest encoding.
            typeCost[t] = Self.widest(fields: n)
        }
    }

    /// The widest encoding of one event with `fields` fields: a type byte, then a timestamp
    /// delta and each field at 10 bytes (8 in byte planes; 10 is the varint maximum, kept for
    /// slack). Stream headers (at most a few KiB a block) fit in the half of the readers'
    /// limit that `isFull` leaves.
    @inline(__always)
    static func widest(fields: Int) -> Int { 11 &+ 10 &* fields }

    /// Estimated uncompressed size so far (block header included): exact for the string
    /// table, learned for the streams.
    var rawSize: Int { estimate &+ strings.count &+ 64 }

    /// True when the block should be written: its estimated size reached `blockSize`, or its
    /// worst-case size is near the readers' limit on a raw block.
    @inline(__always)
    func isFull(blockSize: Int) -> Bool {
        rawSize >= blockSize || bound &+ strings.count >= LogFormat.maxRawBlock / 2
    }

    func deallocate() {
        events.deallocate()
        types.deallocate()
        order.deallocate()
        column.deallocate()
        typeCounts.deallocate()
        next.deallocate()
        plan.deallocate()
        labelSlots.deallocate()
        typeCost.deallocate()
        strings.deallocate()
    }

    mutating func reset() {
        for id in touched { blockIndex[Int(id)] = -1 }
        touched.removeAll(keepingCapacity: true)
        for t in typesUsed { typeCounts[t] = 0 }
        typesUsed.removeAll(keepingCapacity: true)
        strings.count = 0
        stringCount = 0
        emptyIndex = -1
        count = 0
        estimate = 0
        bound = 0
    }

    /// Appends one event (numbered as it is). `labels` maps writer label ids to their UTF-8 bytes.
    mutating func append(_ e: RawEvent, labels: LabelSnapshot) {
        withUnsafePointer(to: e) { p in
            _ = append(UnsafeBufferPointer(start: p, count: 1), firstSeq: e.seq, labels: labels, blockSize: .max)
        }
    }

    /// Appends events from the front of `source`, numbering them `firstSeq`, `firstSeq + 1`, …
    /// (the writer numbers events as it takes them from the emit buffers: their own `seq` is
    /// not read), until the block is full (`isFull`) or `source` is exhausted, and returns how
    /// many it took (at least one, unless `source` is empty). `labels` maps writer label ids to
    /// their UTF-8 bytes.
    @inline(__always)
    mutating func append(_ source: UnsafeBufferPointer<RawEvent>, firstSeq seq: UInt64, labels: LabelSnapshot, blockSize: Int) -> Int {
        guard let src = source.baseAddress, source.count > 0 else { return 0 }
        if count &+ source.count > eventCapacity { growEvents(to: count &+ source.count) }
        if count == 0 {
            firstSeq = seq
            firstTs = src.pointee.timestamp
        }
        var taken = 0
        repeat {
            let e = events + count
            e.initialize(to: src[taken])
            e.pointee.seq = seq &+ UInt64(truncatingIfNeeded: taken)
            // Every case's raw value is below `typeLimit` (it is made from them).
            let t = Int(e.pointee.type.rawValue)
            types[count] = UInt16(truncatingIfNeeded: t)
            count &+= 1
            taken &+= 1
            if typeCounts[t] == 0 { typesUsed.append(t) }
            typeCounts[t] &+= 1
            estimate &+= typeCost[t]
            bound &+= Self.widest(fields: plan[t &* Self.planStride])
            // Labels are replaced by their index in this block's string table.
            switch labelSlots[t] {
            case 4:
                e.pointee.l0 = intern(e.pointee.l0, labels); e.pointee.l1 = intern(e.pointee.l1, labels)
                e.pointee.l2 = intern(e.pointee.l2, labels); e.pointee.l3 = intern(e.pointee.l3, labels)
            case 3:
                e.pointee.l0 = intern(e.pointee.l0, labels); e.pointee.l1 = intern(e.pointee.l1, labels)
                e.pointee.l2 = intern(e.pointee.l2, labels)
            case 2:
                e.pointee.l0 = intern(e.pointee.l0, labels); e.pointee.l1 = intern(e.pointee.l1, labels)
            case 1:
                e.pointee.l0 = intern(e.pointee.l0, labels)
            default:
                break
            }
        } while taken < source.count && !isFull(blockSize: blockSize)
        lastSeq = events[count &- 1].seq
        lastTs = events[count &- 1].timestamp
        return taken
    }

    /// Events of this block that are not `events_dropped` records, and the counts those
    /// records carry by `DropReason` code (what a block that cannot be written loses).
    func dropAccounting() -> (ordinary: UInt64, records: [UInt64]) {
        let t = Int(EventType.eventsDropped.rawValue)
        var records = [UInt64](repeating: 0, count: DropReason.allCases.count)
        if typeCounts[t] > 0 {
            for i in 0..<count where Int(types[i]) == t {
                let reason = events[i].n1
                if reason < records.count { records[Int(reason)] &+= events[i].n0 }
            }
        }
        return (UInt64(count &- typeCounts[t]), records)
    }

    @inline(never)
    private mutating func growEvents(to needed: Int) {
        let capacity = grownCapacity(eventCapacity, needed)
        events = reallocated(events, count: count, capacity: capacity)
        types = reallocated(types, count: count, capacity: capacity)
        // Rebuilt by every `assemble`: nothing to keep.
        order.deallocate()
        order = .allocate(capacity: capacity)
        column.deallocate()
        column = .allocate(capacity: capacity)
        eventCapacity = capacity
    }

    /// The string-table index of label `id`, interned on first use in this block.
    @inline(__always)
    private mutating func intern(_ id: UInt32, _ labels: LabelSnapshot) -> UInt32 {
        let i = Int(id)
        if i < blockIndex.count, blockIndex[i] >= 0 { return UInt32(truncatingIfNeeded: blockIndex[i]) }
        return UInt32(truncatingIfNeeded: add(id, labels))
    }

    @inline(never)
    private mutating func add(_ id: UInt32, _ labels: LabelSnapshot) -> Int32 {
        let i = Int(id)
        if i >= labels.table.count {
            // `Label.none` or a handle from another log: the empty string.
            if emptyIndex < 0 {
                strings.appendVarint(0)
                emptyIndex = Int32(stringCount)
                stringCount += 1
            }
            return emptyIndex
        }
        if i >= blockIndex.count {
            blockIndex.append(contentsOf: repeatElement(-1, count: max(i + 1 - blockIndex.count, 256)))
        }
        let text = labels.bytes(id)
        strings.appendVarint(UInt64(text.count))
        strings.append(text)
        let index = Int32(stringCount)
        stringCount += 1
        blockIndex[i] = index
        touched.append(id)
        return index
    }

    /// Encodes the block (version 3, see docs/log-format.md): version, count, first seq, base
    /// timestamp, string table, then the streams in ascending key order (the key's difference
    /// from the previous stream's, length, then the values' width in bytes and their byte planes).
    mutating func assemble(into raw: inout ByteBuffer) {
        raw.count = 0
        raw.reserve(strings.count + 64)
        raw.append(LogFormat.blockVersion)
        raw.appendVarint(UInt64(count))
        raw.appendVarint(firstSeq)
        raw.appendVarint(firstTs)
        raw.appendVarint(UInt64(stringCount))
        raw.append(strings.bytes)
        guard count > 0 else {
            raw.appendVarint(0)
            return
        }
        typesUsed.sort()
        var streams = 2
        for t in typesUsed { streams += plan[t * Self.planStride] }
        raw.appendVarint(UInt64(streams))
        let n = count
        let base = UnsafeRawPointer(events)
        let stride = MemoryLayout<RawEvent>.stride
        let tsOffset = MemoryLayout<RawEvent>.offset(of: \RawEvent.timestamp)!

        // Types: one plane while every code is below 256 (`typesUsed` is sorted), else two.
        let typeWidth = typesUsed[typesUsed.count &- 1] < 256 ? 1 : 2
        raw.reserve(typeWidth &* n &+ 21)
        raw.appendVarintUnchecked(UInt64(LogFormat.typeStreamKey))
        raw.appendVarintUnchecked(UInt64(1 &+ typeWidth &* n))
        raw.append(UInt8(truncatingIfNeeded: typeWidth))
        for plane in 0..<typeWidth {
            let out = raw.base + raw.count
            let shift = UInt16(plane &* 8)
            for i in 0..<n { out[i] = UInt8(truncatingIfNeeded: types[i] >> shift) }
            raw.count &+= n
        }

        // Timestamps: zigzag deltas.
        var previous = firstTs
        for i in 0..<n {
            let ts = base.load(fromByteOffset: i &* stride &+ tsOffset, as: UInt64.self)
            column[i] = zigzag(Int64(bitPattern: ts &- previous))
            previous = ts
        }
        // Keys are written as the difference from the previous stream's key (version 3).
        let tsWidth = Self.putPlanes(LogFormat.timestampStreamKey &- LogFormat.typeStreamKey, column, count: n, into: &raw)
        var lastKey = LogFormat.timestampStreamKey

        // Counting sort of event indices by type.
        var start = 0
        for t in typesUsed {
            next[t] = start
            start &+= typeCounts[t]
        }
        for i in 0..<n {
            let t = Int(types[i])
            order[next[t]] = Int32(truncatingIfNeeded: i)
            next[t] &+= 1
        }

        // One stream per (type, field): the field gathered into `column`, one loop per stream,
        // then written out plane by plane.
        for t in typesUsed {
            let m = typeCounts[t]
            let indices = order + (next[t] &- m)
            let fields = plan[t * Self.planStride]
            var fieldsWidth = 0
            for f in 0..<fields {
                let slot = plan[t * Self.planStride + 1 + f]
                if slot < 0 {
                    let offset = -(slot + 1)
                    for j in 0..<m {
                        // Already the string-table index (see `append`).
                        column[j] = UInt64(base.load(fromByteOffset: Int(indices[j]) &* stride &+ offset, as: UInt32.self))
                    }
                } else {
                    for j in 0..<m {
                        column[j] = base.load(fromByteOffset: Int(indices[j]) &* stride &+ slot, as: UInt64.self)
                    }
                }
                let key = LogFormat.fieldStreamKey(type: t, field: f)
                fieldsWidth &+= Self.putPlanes(key &- lastKey, column, count: m, into: &raw)
                lastKey = key
            }
            // Learn this type's size for the next block's estimate: type code, timestamp and
            // fields at this block's widths, plus a byte of stream overhead.
            typeCost[t] = typeWidth &+ tsWidth &+ fieldsWidth &+ 1
        }
    }

    /// Writes a stream of the `count` values at `values`: its key's difference from the
    /// previous stream's key (`keyDelta`; the type stream's is its key, 0), length, the width W in
    /// bytes of the largest value (1…8), then W planes of `count` bytes, plane j holding byte
    /// j of every value (least significant first). Returns W.
    @inline(__always)
    private static func putPlanes(_ keyDelta: Int, _ values: UnsafeMutablePointer<UInt64>, count: Int, into raw: inout ByteBuffer) -> Int {
        var all: UInt64 = 0
        for i in 0..<count { all |= values[i] }
        let width = max(1, (71 &- all.leadingZeroBitCount) >> 3)
        let length = 1 &+ width &* count
        raw.reserve(length &+ 20)
        raw.appendVarintUnchecked(UInt64(keyDelta))
        raw.appendVarintUnchecked(UInt64(length))
        raw.append(UInt8(truncatingIfNeeded: width))
        for plane in 0..<width {
            let out = raw.base + raw.count
            let shift = UInt64(plane &* 8)
            for i in 0..<count { out[i] = UInt8(truncatingIfNeeded: values[i] >> shift) }
            raw.count &+= count
        }
        return width
    }
}

/// The writer's label table as the flusher sees it: id → UTF-8 bytes.
struct LabelSnapshot {
    var table: [[UInt8]] = []

    @inline(__always)
    func bytes(_ id: UInt32) -> [UInt8] {
        let i = Int(id)
        return i < table.count ? table[i] : []
    }
}
