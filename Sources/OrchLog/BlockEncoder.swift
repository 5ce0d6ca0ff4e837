/// Builds one block in columnar form: the block's string table (each label value interned
/// once per block), then one stream per column — event types, timestamp deltas, and each
/// (type, field) — so that zlib sees similar values side by side (about 20% smaller on disk
/// than one row per event). Owned by the flusher thread; not thread-safe.
struct BlockEncoder {
    /// Stream key of the event-type column.
    static let typeStream = 0
    /// Stream key of the timestamp-delta column.
    static let timestampStream = 1
    /// Stream key of field `field` of event type `type` (fields < 16).
    @inline(__always)
    static func fieldStream(type: Int, field: Int) -> Int { type &* 16 &+ field }
    /// Streams this writer can produce (types ≤ 15).
    static let streamLimit = 256

    // Manually managed so the hot path indexes them without Array's uniqueness checks.
    private let streams: UnsafeMutablePointer<ByteBuffer> = {
        let p = UnsafeMutablePointer<ByteBuffer>.allocate(capacity: BlockEncoder.streamLimit)
        for i in 0..<BlockEncoder.streamLimit { (p + i).initialize(to: ByteBuffer(capacity: 256)) }
        return p
    }()
    private let used: UnsafeMutablePointer<Bool> = {
        let p = UnsafeMutablePointer<Bool>.allocate(capacity: BlockEncoder.streamLimit)
        p.initialize(repeating: false, count: BlockEncoder.streamLimit)
        return p
    }()
    private var usedKeys: [Int] = []
    private var streamBytes = 0
    private var strings = ByteBuffer(capacity: 4 << 10)
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

    /// Uncompressed size so far (block header excluded).
    var rawSize: Int { streamBytes + strings.count + 4 * usedKeys.count + 32 }

    func deallocate() {
        for i in 0..<Self.streamLimit { streams[i].deallocate() }
        streams.deinitialize(count: Self.streamLimit)
        streams.deallocate()
        used.deallocate()
        strings.deallocate()
    }

    mutating func reset() {
        for id in touched { blockIndex[Int(id)] = -1 }
        touched.removeAll(keepingCapacity: true)
        for key in usedKeys {
            streams[key].count = 0
            used[key] = false
        }
        usedKeys.removeAll(keepingCapacity: true)
        streamBytes = 0
        strings.count = 0
        stringCount = 0
        emptyIndex = -1
        count = 0
    }

    @inline(__always)
    private mutating func put(_ key: Int, _ value: UInt64) {
        if !used[key] {
            used[key] = true
            usedKeys.append(key)
        }
        let before = streams[key].count
        streams[key].appendVarint(value)
        streamBytes &+= streams[key].count &- before
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
        let type = Int(e.type.rawValue)
        put(Self.typeStream, UInt64(type))
        put(Self.timestampStream, zigzag(Int64(bitPattern: e.timestamp &- prevTs)))
        prevTs = e.timestamp
        EventSchema.layout.withUnsafeBufferPointer { layout in
            let row = type &* EventSchema.layoutStride
            let n = Int(layout[row])
            var i = 1
            while i <= n {
                let code = layout[row &+ i]
                let value = code < 0 ? UInt64(index(of: e.label(Int(-(code + 1))), labels)) : e.number(Int(code))
                put(Self.fieldStream(type: type, field: i &- 1), value)
                i &+= 1
            }
        }
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

    /// The complete uncompressed block: version, count, first seq, base timestamp, string
    /// table, then the streams in ascending key order (key, length, bytes).
    mutating func assemble(into raw: inout ByteBuffer) {
        raw.count = 0
        raw.reserve(rawSize + 64)
        raw.append(LogFormat.blockVersion)
        raw.appendVarint(UInt64(count))
        raw.appendVarint(firstSeq)
        raw.appendVarint(firstTs)
        raw.appendVarint(UInt64(stringCount))
        raw.append(strings.bytes)
        usedKeys.sort()
        raw.appendVarint(UInt64(usedKeys.count))
        for key in usedKeys {
            raw.appendVarint(UInt64(key))
            raw.appendVarint(UInt64(streams[key].count))
            raw.append(streams[key].bytes)
        }
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
