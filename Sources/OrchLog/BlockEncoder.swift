/// Builds one block: events (type byte, body length, zigzag timestamp delta, schema fields as
/// varints) plus the block's string table, which interns each label value once per block.
/// Owned by the flusher thread; not thread-safe.
struct BlockEncoder {
    private var events = ByteBuffer(capacity: 80 << 10)
    private var strings = ByteBuffer(capacity: 4 << 10)
    private var header = ByteBuffer(capacity: 64)
    /// Writer label id → index in this block's string table, or -1.
    private var blockIndex: [Int32] = []
    private var touched: [UInt32] = []
    private(set) var stringCount = 0
    private var emptyIndex: Int32 = -1
    private(set) var count = 0
    private(set) var firstSeq: UInt64 = 0
    private(set) var lastSeq: UInt64 = 0
    private(set) var firstTs: UInt64 = 0
    private(set) var lastTs: UInt64 = 0
    private var prevTs: UInt64 = 0

    /// Uncompressed size so far (approximate header excluded).
    var rawSize: Int { events.count + strings.count + 32 }

    func deallocate() {
        events.deallocate()
        strings.deallocate()
        header.deallocate()
    }

    mutating func reset() {
        for id in touched { blockIndex[Int(id)] = -1 }
        touched.removeAll(keepingCapacity: true)
        events.count = 0
        strings.count = 0
        stringCount = 0
        emptyIndex = -1
        count = 0
    }

    /// Appends one event. `labels` maps writer label ids to their UTF-8 bytes.
    @inline(__always)
    mutating func append(_ e: RawEvent, labels: LabelSnapshot) {
        if count == 0 {
            firstSeq = e.seq
            firstTs = e.timestamp
            prevTs = e.timestamp
        }
        lastSeq = e.seq
        lastTs = e.timestamp
        count += 1
        events.reserve(2 + 10 * (1 + RawEvent.labelSlots + RawEvent.numberSlots))
        events.appendVarintUnchecked(UInt64(e.type.rawValue))
        let lengthAt = events.count
        events.count += 1  // body length placeholder (one byte: bodies are < 128 bytes)
        let bodyStart = events.count
        events.appendVarintUnchecked(zigzag(Int64(bitPattern: e.timestamp &- prevTs)))
        prevTs = e.timestamp
        EventSchema.layout.withUnsafeBufferPointer { layout in
            let row = Int(e.type.rawValue) &* EventSchema.layoutStride
            let n = Int(layout[row])
            var i = 1
            while i <= n {
                let code = layout[row &+ i]
                if code < 0 {
                    events.appendVarintUnchecked(UInt64(index(of: e.label(Int(-(code + 1))), labels)))
                } else {
                    events.appendVarintUnchecked(e.number(Int(code)))
                }
                i &+= 1
            }
        }
        let bodyLength = events.count - bodyStart
        // The widest schema body is 1 + 10 × 11 = 111 bytes, so one length byte suffices.
        events.base[lengthAt] = UInt8(bodyLength)
    }

    @inline(__always)
    private mutating func index(of id: UInt32, _ labels: LabelSnapshot) -> Int32 {
        let i = Int(id)
        if i < blockIndex.count, blockIndex[i] >= 0 { return blockIndex[i] }
        return intern(id, labels)
    }

    @inline(never)
    private mutating func intern(_ id: UInt32, _ labels: LabelSnapshot) -> Int32 {
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

    /// The complete uncompressed block: version, count, first seq, base timestamp,
    /// string table, events.
    mutating func assemble(into raw: inout ByteBuffer) {
        raw.count = 0
        raw.reserve(rawSize + 64)
        raw.append(LogFormat.blockVersion)
        raw.appendVarint(UInt64(count))
        raw.appendVarint(firstSeq)
        raw.appendVarint(firstTs)
        raw.appendVarint(UInt64(stringCount))
        raw.append(strings.bytes)
        raw.append(events.bytes)
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
