import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

@Suite struct EventLogTests {
    @Test func emittedEventsReadBackInOrderWithSequenceNumbers() throws {
        let dir = TempDir("roundtrip")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        let agent = log.label("support")
        let crm = log.label("crm")
        for i in 0..<10_000 {
            log.emit(.invocationFinished(agent: agent, outcome: i % 7 == 0 ? .failure : .success, durationNs: UInt64(i) * 1000, queueWaitNs: 5, invocationID: UInt64(i)))
            log.emit(.toolCall(tool: crm, outcome: .timeout, latencyNs: 30_000_000_000, fallbackUsed: i % 2 == 0))
        }
        log.close()
        #expect(log.stats.dropped == 0)
        #expect(log.stats.flusherCPUNs > 0, "the flusher's CPU time is reported")
        let records = try readAll(dir.sub("src"))
        #expect(records.count == 20_000)
        #expect(records.map(\.seq) == Array(1...20_000))
        #expect(records[0].text(of: "agent") == "support")
        #expect(records[14].text(of: "outcome") == "failure")
        #expect(records[1].text(of: "fallback") == "true")
        #expect(records[1].number(of: "latency_ns") == 30_000_000_000)
        #expect(records.allSatisfy { $0.source == "src" })
    }

    @Test func secondWriterOnSameDirectoryFailsNamingIt() throws {
        let dir = TempDir("lock")
        defer { dir.remove() }
        let first = try EventLog(directory: dir.sub("src"))
        defer { first.close() }
        #expect {
            _ = try EventLog(directory: dir.sub("src"))
        } throws: { error in
            let e = error as? OrchLogError
            return e?.code == .locked && e!.message.contains(dir.sub("src"))
        }
    }

    /// A reader's probe for a live writer holds the lock shared for a moment: a writer that
    /// starts then waits for it instead of failing as if another writer held the directory.
    @Test func aWriterStartingDuringAReadersLockProbeWaitsForIt() throws {
        let dir = TempDir("probe")
        defer { dir.remove() }
        try EventLog(directory: dir.sub("src")).close()
        let fd = open(dir.sub("src") + "/.lock", O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_SH | LOCK_NB) == 0)
        #expect(!LogDirectory.writerHoldsLock(dir.sub("src")), "a shared holder is not a writer")
        let released = Thread { usleep(30_000); flock(fd, LOCK_UN); close(fd) }
        released.start()
        let log = try EventLog(directory: dir.sub("src"))
        #expect(LogDirectory.writerHoldsLock(dir.sub("src")))
        log.close()
    }

    @Test func reopeningStartsANewSegmentAndContinuesSequence() throws {
        let dir = TempDir("reopen")
        defer { dir.remove() }
        for round in 0..<3 {
            let log = try EventLog(directory: dir.sub("src"))
            let q = log.label("main")
            for i in 0..<100 { log.emit(.queueSample(queue: q, depth: UInt64(round * 100 + i), capacity: 1000)) }
            log.close()
        }
        let segments = try LogDirectory.segments(in: dir.sub("src"))
        #expect(segments.map(\.number) == [1, 2, 3])
        let records = try readAll(dir.sub("src"))
        #expect(records.map(\.seq) == Array(1...300))
        #expect(records.map { $0.number(of: "depth")! } == (0..<300).map(UInt64.init))
    }

    @Test func flushMakesEventsVisibleToAFollowerBeforeClose() throws {
        let dir = TempDir("flush")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        defer { log.close() }
        let pool = log.label("workers")
        log.emit(.workerPoolSample(pool: pool, busy: 3, size: 10))
        log.flush()
        let reader = SourceReader(source: SourceDirectory(name: "src", path: dir.sub("src")))
        var seen: [UInt64] = []
        try reader.pollBlocks { block in seen += block.events.map(\.n0) }
        #expect(seen == [3])
        log.emit(.workerPoolSample(pool: pool, busy: 4, size: 10))
        log.flush()
        try reader.pollBlocks { block in seen += block.events.map(\.n0) }
        #expect(seen == [3, 4])
    }

    @Test func fullBufferDropsAreCountedAndRecordedInTheLog() throws {
        let dir = TempDir("drops")
        defer { dir.remove() }
        let log = try overflowingLog(dir)
        let q = log.label("q")
        for i in 0..<200_000 { log.emit(.queueSample(queue: q, depth: UInt64(i), capacity: 1)) }
        log.close()
        let stats = log.stats
        #expect(stats.droppedBufferFull > 0)
        let records = try readAll(dir.sub("src"))
        let ordinary = records.filter { $0.type == .queueSample }.count
        let recordedDrops = records.filter { $0.type == .eventsDropped }.reduce(UInt64(0)) { $0 + $1.number(of: "count")! }
        // Nothing lost silently: every event is either in the log or counted by a drop record.
        #expect(UInt64(ordinary) + recordedDrops == 200_000)
        #expect(recordedDrops == stats.droppedBufferFull)
    }

    @Test func segmentFilesAreNotWorldReadable() throws {
        let dir = TempDir("perm")
        defer { dir.remove() }
        let log = try EventLog(directory: dir.sub("src"))
        log.close()
        let segment = try LogDirectory.segments(in: dir.sub("src"))[0]
        var st = stat()
        #expect(stat(segment.path, &st) == 0)
        #expect(st.st_mode & 0o007 == 0)
    }

    @Test func rotationBySizeAndRetentionBySize() throws {
        let dir = TempDir("rotate")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.segmentMaxBytes = 8192
        options.blockSize = 4096
        options.compressionLevel = 0
        options.retentionMaxBytes = 40_000
        let log = try EventLog(directory: dir.sub("src"), options: options)
        let k = log.label("k")
        for i in 0..<20_000 { log.emit(.stateRead(shard: k, key: k, version: UInt64(i), source: .store, latencyNs: UInt64(i))) }
        log.close()
        let segments = try LogDirectory.segments(in: dir.sub("src"))
        #expect(segments.count > 2)
        #expect(segments.first!.number > 1)  // oldest deleted by retention
        let total = try segments.reduce(Int64(0)) { $0 + (try LogDirectory.fileSize($1.path)) }
        #expect(total <= 40_000 + 8192 + 8192)
        // What remains is a contiguous tail ending at the last event.
        let records = try readAll(dir.sub("src"))
        #expect(records.last?.seq == 20_000)
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.seq == $0.seq + 1 })
    }

    /// Blocks are cut by an estimate of their raw size (learned per event type from earlier
    /// blocks): they must stay close to `blockSize` — not far past it, which would cost the
    /// reader memory, and not far short, which would cost compression — as the mix changes.
    @Test(arguments: [4096, 65_536])
    func blocksAreCutNearTheirConfiguredRawSizeAsTheMixChanges(blockSize: Int) throws {
        let dir = TempDir("blocksize")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.blockSize = blockSize
        options.bufferCapacity = 1 << 20
        let log = try EventLog(directory: dir.sub("src"), options: options)
        let keys = (0..<500).map { log.label("key-\($0)") }
        let shard = log.label("shard-0"), queue = log.label("requests")
        var rng = SystemRandomNumberGenerator()
        var emitted = 0
        // Three phases with very different bytes per event: small samples, wide state
        // writes with large numbers, then an even mix.
        for phase in 0..<3 {
            for i in 0..<60_000 {
                let wide = phase == 1 || (phase == 2 && i % 2 == 0)
                if wide {
                    log.emit(.stateWrite(shard: shard, key: keys[i % keys.count], baseVersion: UInt64.random(in: 0...UInt64.max, using: &rng),
                                         newVersion: UInt64.random(in: 0...UInt64.max, using: &rng), outcome: .committed,
                                         latencyNs: UInt64.random(in: 0...UInt64(1) << 50, using: &rng), attempt: 1))
                } else {
                    log.emit(.queueSample(queue: queue, depth: UInt64(i % 3), capacity: 100))
                }
                emitted += 1
            }
            log.flush()
        }
        log.close()
        #expect(log.stats.dropped == 0)
        var rawSizes: [Int] = []
        for segment in try LogDirectory.segments(in: dir.sub("src")) {
            let reader = try SegmentReader(path: segment.path)
            var offset = SegmentReader.firstFrameOffset
            while case .frame(let header, _) = try reader.readFrame(at: offset) {
                rawSizes.append(Int(header.rawLength))
                offset += Int64(header.frameLength)
            }
        }
        // Every block is a full one but the last of each phase (cut by the flush) and the
        // first of each new type (sized by the widest encoding until the type is learned).
        let full = rawSizes.sorted().dropFirst(6)
        #expect(full.allSatisfy { $0 <= blockSize * 2 }, "largest block \(rawSizes.max() ?? 0) for \(blockSize)")
        let median = full[full.startIndex + full.count / 2]
        #expect(median >= blockSize * 3 / 4 && median <= blockSize * 5 / 4, "median block \(median) for \(blockSize)")
        let records = try readAll(dir.sub("src"))
        #expect(records.count == emitted)
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.seq == $0.seq + 1 })
    }

    /// After a `flush()` the writer goes back to batching: later events wait for the flush
    /// age (or size) like any others, instead of each round of the flusher cutting a block.
    @Test func afterAFlushEventsAreBatchedByAgeAgain() throws {
        let dir = TempDir("batching")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.flushAgeNs = 30_000_000_000
        let log = try EventLog(directory: dir.sub("src"), options: options)
        let q = log.label("q")
        log.emit(.queueSample(queue: q, depth: 0, capacity: 1))
        log.flush()
        #expect(log.stats.blocksWritten == 1)
        for depth in 1...4 {
            log.emit(.queueSample(queue: q, depth: UInt64(depth), capacity: 1))
            usleep(60_000)
        }
        #expect(log.stats.blocksWritten == 1)
        log.close()
        #expect(log.stats.blocksWritten == 2)
        #expect(try readAll(dir.sub("src")).map(\.seq) == [1, 2, 3, 4, 5])
    }

    /// An idle flusher (nothing pending: it sleeps up to a second, until a sync or rotation
    /// could be due) is woken by the next `emit`, so that event waits for the flush age, not
    /// for the rest of that second. Each round lets the flusher go idle for 300 ms, then
    /// times one event to disk: with the wake-up about the 10 ms age, without it ≥ 0.7 s.
    /// The fastest of three rounds must be under half a second (a slow machine may delay one
    /// round, not make a missing wake-up fast).
    @Test func emitWakesAnIdleFlusher() throws {
        let dir = TempDir("idle-wake")
        defer { dir.remove() }
        var options = EventLogOptions()
        options.flushAgeNs = 10_000_000
        options.fsync = .never
        let log = try EventLog(directory: dir.sub("src"), options: options)
        defer { log.close() }
        let q = log.label("q")
        var fastest = Double.infinity
        for round in 0..<3 {
            usleep(300_000)
            let start = Date()
            log.emit(.queueSample(queue: q, depth: UInt64(round), capacity: 1))
            let seq = log.stats.nextSequence - 1
            while log.stats.writtenThrough < seq && Date().timeIntervalSince(start) < 5 { usleep(1_000) }
            #expect(log.stats.writtenThrough >= seq, "round \(round): not written within 5 s")
            fastest = min(fastest, Date().timeIntervalSince(start))
        }
        #expect(fastest < 0.5, "fastest round took \(fastest) s: emit did not wake the idle flusher")
    }
}
