import Dispatch
import Foundation
import Glibc

/// The writer's background half: drains the emit buffer, encodes and compresses blocks,
/// appends frames to segments, syncs, rotates and applies retention.
///
/// `@unchecked Sendable`: after `start` only the flusher thread touches its mutable state;
/// `init` runs before the thread exists.
final class LogFlusher: @unchecked Sendable {
    let directory: String
    let options: EventLogOptions
    let writerID: UInt64
    /// The sequence number the first emitted event gets.
    let nextSeq: UInt64

    @exclusivity(unchecked) private var lockFD: Int32
    @exclusivity(unchecked) private var encoder = BlockEncoder()
    @exclusivity(unchecked) private var labels = LabelSnapshot()
    private let deflater: Deflater
    /// Sized for a block of twice `blockSize` (what the size estimate allows), so that steady
    /// state never grows them: `emit`'s zero-allocation figure counts the flusher too.
    @exclusivity(unchecked) private var raw: ByteBuffer
    @exclusivity(unchecked) private var frame: ByteBuffer

    @exclusivity(unchecked) private var segmentFD: Int32 = -1
    @exclusivity(unchecked) private var segmentNumber: UInt64
    @exclusivity(unchecked) private var segmentPath = ""
    @exclusivity(unchecked) private var segmentSize: Int64 = 0
    @exclusivity(unchecked) private var segmentOpenedMono: UInt64 = 0
    @exclusivity(unchecked) private var segmentBroken = false

    @exclusivity(unchecked) private var blockStartedMono: UInt64 = 0
    @exclusivity(unchecked) private var lastSyncMono: UInt64 = 0
    @exclusivity(unchecked) private var writtenSeq: UInt64 = 0
    @exclusivity(unchecked) private var syncedSeq: UInt64 = 0
    /// Drops not yet recorded in the log, by `DropReason` code.
    @exclusivity(unchecked) private var pendingDrops = [UInt64](repeating: 0, count: DropReason.allCases.count)
    @exclusivity(unchecked) private var lastReportedError = ""
    /// The last `flush()` generation completed.
    @exclusivity(unchecked) private var completedFlush: UInt64 = 0
    /// A `flush(durable: true)` request whose pass was not complete (`DrainResult.complete`).
    @exclusivity(unchecked) private var syncCarried = false
    /// The buffers `drain` merges threads' events in.
    @exclusivity(unchecked) private var scratch = DrainScratch()
    /// Room for one `events_dropped` record per reason.
    private let dropRecords = UnsafeMutableBufferPointer<RawEvent>.allocate(capacity: DropReason.allCases.count)

    init(directory: String, options: EventLogOptions) throws {
        self.directory = directory
        self.options = options
        deflater = try Deflater(level: options.compressionLevel)
        let blockBytes = 2 * max(options.blockSize, 1 << 10) + (16 << 10)
        raw = ByteBuffer(capacity: blockBytes)
        frame = ByteBuffer(capacity: blockBytes + LogFormat.frameHeaderSize + blockBytes / 1000 + 64)
        var seed = SystemRandomNumberGenerator()
        writerID = seed.next()

        // Create the directory (and parents) if needed.
        var path = ""
        for part in directory.split(separator: "/", omittingEmptySubsequences: false) {
            path += (path.isEmpty && directory.hasPrefix("/") ? "" : (path.isEmpty ? "" : "/")) + part
            if path.isEmpty { path = "/"; continue }
            if mkdir(path, 0o750) != 0 && errno != EEXIST {
                throw OrchLogError.system("cannot create directory \(path)")
            }
        }
        guard LogDirectory.isDirectory(directory) else {
            throw OrchLogError(.io, "\(directory): not a directory")
        }

        // One writer per directory.
        let lockPath = directory + "/" + LogFormat.lockFileName
        let lockFD = try Sys.call("open \(lockPath)") { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o640) }
        if !Self.lockExclusively(lockFD) {
            let e = errno
            var holder = [UInt8](repeating: 0, count: 32)
            let n = holder.withUnsafeMutableBytes { Glibc.pread(lockFD, $0.baseAddress!, 31, 0) }
            let pid = n > 0 ? String(decoding: holder[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            Glibc.close(lockFD)
            if e == EWOULDBLOCK {
                throw OrchLogError(.locked, "\(directory): another writer holds the lock (pid \(pid)); one writer per source directory")
            }
            throw OrchLogError.system("lock \(lockPath)", errno: e)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(lockFD, 0)
        _ = pid.withUnsafeBytes { Glibc.pwrite(lockFD, $0.baseAddress!, $0.count, 0) }

        do {
            let existing = try LogDirectory.segments(in: directory)
            segmentNumber = (existing.last?.number ?? 0)
            let last = try LogDirectory.lastSequence(in: directory) ?? 0
            guard last < UInt64.max else {
                throw OrchLogError(.corrupt, "\(directory): sequence numbers are exhausted (the last frame ends at \(last)); start a new source directory")
            }
            nextSeq = last + 1
        } catch {
            Glibc.close(lockFD)
            throw error
        }
        self.lockFD = lockFD
        writtenSeq = nextSeq - 1
        syncedSeq = writtenSeq
        do {
            try openSegment(firstSeq: nextSeq)
        } catch {
            Glibc.close(lockFD)
            self.lockFD = -1
            throw error
        }
    }

    deinit {
        dropRecords.deallocate()
        encoder.deallocate()
        raw.deallocate()
        frame.deallocate()
    }

    func start(log: EventLog) {
        let thread = Thread { [self] in self.run(log) }
        thread.name = "orchlog-flusher"
        thread.start()
    }

    // MARK: loop

    private func run(_ log: EventLog) {
        // Here, not where the log is opened: registering waits for an RCU grace period.
        log.stripes.useMembarrier()
        // The flusher sleeps until something is due: the age deadline of the block being
        // built, a sync, or — with nothing pending — until `emit` wakes it for the first new
        // event (or a thread's buffer reaching half full). No fixed tick: at moderate rates it
        // wakes at most twice per block (its first event, then its age deadline).
        var waitNs: UInt64 = 0
        while true {
            if waitNs > 0 { _ = log.wake.wait(timeout: .now() + .nanoseconds(Int(min(waitNs, 1_000_000_000)))) }
            if log.stripes.flags.load(ordering: .relaxed) & StripeRegistry.idleFlag != 0 { _ = log.stripes.takeIdle() }
            // The wall-clock offset `emit` adds to its stamps (it changes when the clock is stepped).
            log.stripes.calibrate()
            // Requests first: a `flush()` covers what its caller emitted before it, and that was
            // published before the request was made. `sealed` before the drain, likewise.
            var requests = log.takeRequests()
            requests.sync = requests.sync || syncCarried
            let closing = log.stripes.sealed.load(ordering: .acquiring)
            // Drops left from earlier passes (a block that could not be written) first: their
            // records go before the events emitted since, as they happened.
            var recorded = recordDrops(log)
            var labelsFresh = false
            let taken = log.stripes.drain(&scratch, everything: closing) { events, firstSeq in
                // After the drain has read the tails: every label an event it took uses was
                // interned before that event was published.
                if !labelsFresh {
                    log.refreshLabels(&labels)
                    labelsFresh = true
                }
                encode(events, firstSeq: firstSeq, log)
            }
            if taken.dropped > 0 {
                // Right after the events drained with them.
                pendingDrops[Int(DropReason.bufferFull.rawValue)] &+= taken.dropped
                log.counters.addDropped(taken.dropped, .bufferFull)
                recorded = recordDrops(log) || recorded
            }
            let now = Sys.monotonicNs()
            let flushRequested = requests.flushGeneration > completedFlush
            if encoder.count > 0 && (closing || flushRequested || now &- blockStartedMono >= options.flushAgeNs) {
                writeBlock(log)
                if closing || flushRequested {
                    // A block that failed to write left drop records to write.
                    if recordDrops(log) { writeBlock(log) }
                    recorded = false
                }
            }
            syncIfDue(log, force: closing || requests.sync)
            if !closing, segmentFD >= 0, Sys.monotonicNs() &- segmentOpenedMono >= options.segmentMaxAgeNs {
                rotate(log)
            }
            log.counters.flusherCPUNs.store(Sys.threadCPUNs(), ordering: .relaxed)
            if closing {
                finish(log)
                log.stripes.releaseBuffers()
                log.counters.flusherCPUNs.store(Sys.threadCPUNs(), ordering: .relaxed)
                log.flushDone.complete(requests.flushGeneration, stopped: true)
                log.stopped.signal()
                return
            }
            if taken.complete {
                log.flushDone.complete(requests.flushGeneration)
                completedFlush = requests.flushGeneration
                syncCarried = false
            } else {
                // An emit was caught under way and waited for: events from before the request
                // may still be pending. The next pass completes it (and syncs, if asked).
                syncCarried = requests.sync
            }
            let idle = encoder.count == 0 && !recorded && taken.events == 0 && !taken.left && log.stripes.goIdle()
            waitNs = nextWait(idle: idle)
            if waitNs == 0 && taken.events == 0 && !recorded {
                // Events were left for the next pass (stamped after the watermark, or behind an
                // emit caught under way): look again shortly, not at once.
                waitNs = 50_000
            }
        }
    }

    /// Adds events to the block being built, writing blocks as they fill.
    private func encode(_ events: UnsafeBufferPointer<RawEvent>, firstSeq: UInt64, _ log: EventLog) {
        var next = 0
        while next < events.count {
            if encoder.count == 0 { blockStartedMono = Sys.monotonicNs() }
            next &+= encoder.append(UnsafeBufferPointer(rebasing: events[next...]), firstSeq: firstSeq &+ UInt64(next), labels: labels, blockSize: options.blockSize)
            if encoder.isFull(blockSize: options.blockSize) { writeBlock(log) }
        }
    }

    /// How long to sleep before the next round: until the block's age deadline when one is
    /// being built; not at all when events may be waiting unseen (the block was just written
    /// and the buffer not found empty, or drop records were just queued); otherwise until a
    /// sync or rotation is due (at most a second: `emit` wakes an idle flusher).
    private func nextWait(idle: Bool) -> UInt64 {
        let now = Sys.monotonicNs()
        if encoder.count > 0 {
            let deadline = blockStartedMono &+ options.flushAgeNs
            return deadline > now ? deadline - now : 0
        }
        guard idle else { return 0 }
        var wait: UInt64 = 1_000_000_000
        if case .interval(let seconds) = options.fsync, writtenSeq > syncedSeq {
            let due = lastSyncMono &+ UInt64(seconds * 1e9)
            wait = min(wait, due > now ? due - now : 0)
        }
        let rotation = segmentOpenedMono &+ options.segmentMaxAgeNs
        wait = min(wait, rotation > now ? rotation - now : 0)
        return max(wait, 1_000_000)
    }

    /// Records pending drop counts as `events_dropped` events in the block being built (they
    /// take the next sequence numbers). Returns true when it added any.
    private func recordDrops(_ log: EventLog) -> Bool {
        var n = 0
        for reason in DropReason.allCases where pendingDrops[Int(reason.rawValue)] > 0 {
            dropRecords[n] = Event.eventsDropped(count: pendingDrops[Int(reason.rawValue)], reason: reason).raw(seq: 0, timestamp: Sys.nowNs())
            pendingDrops[Int(reason.rawValue)] = 0
            n += 1
        }
        guard n > 0 else { return false }
        let records = UnsafeMutableBufferPointer(rebasing: dropRecords[0..<n])
        log.stripes.number(records)
        encode(UnsafeBufferPointer(records), firstSeq: records[0].seq, log)
        return true
    }

    // MARK: blocks

    private func writeBlock(_ log: EventLog) {
        guard encoder.count > 0 else { return }
        encoder.assemble(into: &raw)
        frame.count = 0
        frame.reserve(LogFormat.frameHeaderSize)
        frame.count = LogFormat.frameHeaderSize
        do {
            try deflater.compress(raw.bytes, into: &frame)
            let payload = UnsafeRawBufferPointer(start: frame.base + LogFormat.frameHeaderSize, count: frame.count - LogFormat.frameHeaderSize)
            FrameHeader.write(into: frame.base, payload: payload, rawLength: raw.count, eventCount: encoder.count,
                              firstSeq: encoder.firstSeq, firstTs: encoder.firstTs, lastTs: encoder.lastTs)
            if segmentFD < 0 || segmentBroken { try reopenSegment(log) }
            let before = segmentSize
            do {
                try Sys.writeAll(segmentFD, frame.bytes, path: segmentPath)
            } catch {
                // Undo a partial frame so the segment stays valid; if that fails, start a new one.
                if ftruncate(segmentFD, off_t(before)) != 0 { segmentBroken = true }
                throw error
            }
            segmentSize += Int64(frame.count)
            writtenSeq = encoder.lastSeq
            log.counters.writtenThrough.store(writtenSeq, ordering: .releasing)
            log.counters.blocks.add(1, ordering: .relaxed)
            log.counters.bytes.add(UInt64(frame.count), ordering: .relaxed)
            if options.fsync == .always { try sync(log) }
        } catch {
            dropBlock(log, error)
        }
        encoder.reset()
        if segmentSize >= options.segmentMaxBytes { rotate(log) }
    }

    /// The block could not be written: count its events as dropped, and carry the counts of
    /// the drop records it held, so the next successful block records them.
    private func dropBlock(_ log: EventLog, _ error: Error) {
        let e = (error as? OrchLogError)?.errno ?? 0
        let reason: DropReason = (e == ENOSPC || e == EDQUOT) ? .diskFull : .ioError
        let (ordinary, records) = encoder.dropAccounting()
        pendingDrops[Int(reason.rawValue)] &+= ordinary
        log.counters.addDropped(ordinary, reason)
        for i in records.indices { pendingDrops[i] &+= records[i] }
        report(log, "\(error)")
    }

    private func report(_ log: EventLog, _ message: String) {
        log.counters.lastError.withLock { $0 = message }
        if message != lastReportedError {
            lastReportedError = message
            FileHandle.standardError.write(Data("orchlog: writer \(directory): \(message)\n".utf8))
        }
    }

    // MARK: sync, segments, retention

    private func sync(_ log: EventLog) throws {
        guard segmentFD >= 0, writtenSeq > syncedSeq else { return }
        try Sys.fsync(segmentFD, path: segmentPath)
        syncedSeq = writtenSeq
        lastSyncMono = Sys.monotonicNs()
        log.counters.durableThrough.store(syncedSeq, ordering: .releasing)
    }

    private func syncIfDue(_ log: EventLog, force: Bool) {
        let due: Bool
        switch options.fsync {
        case .never: due = false
        case .always: due = force
        case .interval(let seconds): due = force || Sys.monotonicNs() &- lastSyncMono >= UInt64(seconds * 1e9)
        }
        guard due else { return }
        do { try sync(log) } catch {
            segmentBroken = true
            report(log, "\(error)")
        }
    }

    private func openSegment(firstSeq: UInt64) throws {
        var attempts = 0
        while true {
            segmentNumber += 1
            let path = directory + "/" + LogFormat.segmentFileName(segmentNumber)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, mode_t(options.fileMode))
            if fd < 0 {
                let e = errno
                attempts += 1
                if e == EEXIST && attempts < 1000 { continue }
                segmentNumber -= 1
                throw OrchLogError.system("create segment \(path)", errno: e)
            }
            let header = SegmentHeader(writerID: writerID, segmentNumber: segmentNumber, firstSeq: firstSeq, createdNs: Sys.nowNs())
            do {
                try header.encoded().withUnsafeBytes { try Sys.writeAll(fd, $0, path: path) }
                if options.fsync != .never {
                    try Sys.fsync(fd, path: path)
                    try Sys.fsyncDirectory(directory)
                }
            } catch {
                Glibc.close(fd)
                unlink(path)
                segmentNumber -= 1
                throw error
            }
            segmentFD = fd
            segmentPath = path
            segmentSize = Int64(LogFormat.segmentHeaderSize)
            segmentOpenedMono = Sys.monotonicNs()
            segmentBroken = false
            return
        }
    }

    private func closeSegment(_ log: EventLog) {
        guard segmentFD >= 0 else { return }
        if options.fsync != .never {
            do { try sync(log) } catch { report(log, "\(error)") }
        }
        Glibc.close(segmentFD)
        segmentFD = -1
    }

    private func reopenSegment(_ log: EventLog) throws {
        closeSegment(log)
        try openSegment(firstSeq: writtenSeq &+ 1)
        log.counters.segments.add(1, ordering: .relaxed)
    }

    private func rotate(_ log: EventLog) {
        do {
            try reopenSegment(log)
        } catch {
            report(log, "\(error)")
        }
        applyRetention(log)
    }

    /// Deletes whole closed segments, oldest first, past the size or age limits.
    private func applyRetention(_ log: EventLog) {
        guard options.retentionMaxBytes != nil || options.retentionMaxAgeNs != nil else { return }
        guard let segments = try? LogDirectory.segments(in: directory) else { return }
        var sizes: [(SegmentFile, Int64, UInt64)] = []
        var total: Int64 = 0
        for s in segments {
            var st = stat()
            guard stat(s.path, &st) == 0 else { continue }
            let mtime = UInt64(st.st_mtim.tv_sec) * 1_000_000_000 + UInt64(st.st_mtim.tv_nsec)
            sizes.append((s, Int64(st.st_size), mtime))
            total += Int64(st.st_size)
        }
        let now = Sys.nowNs()
        for (s, size, mtime) in sizes where s.path != segmentPath {
            let tooBig = options.retentionMaxBytes.map { total > $0 } ?? false
            let tooOld = options.retentionMaxAgeNs.map { now > mtime && now - mtime > $0 } ?? false
            guard tooBig || tooOld else { continue }
            if unlink(s.path) == 0 { total -= size }
        }
    }

    private func finish(_ log: EventLog) {
        closeSegment(log)
        if lockFD >= 0 {
            Glibc.close(lockFD)
            lockFD = -1
        }
    }

    /// How long a starting writer waits for a lock held shared: readers probe for a live
    /// writer with a shared lock held for microseconds (`LogDirectory.writerHoldsLock`), and a
    /// writer starting at that moment must not fail as if another writer held it.
    static let lockRetryNs: UInt64 = 250_000_000

    /// Takes `fd`'s exclusive lock, retrying every 5 ms for `lockRetryNs` while it is held
    /// (by a reader's probe, or by another writer, which keeps it and so still fails). False
    /// with errno set when it could not.
    static func lockExclusively(_ fd: Int32) -> Bool {
        var waited: UInt64 = 0
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            let e = errno
            if e == EINTR { continue }
            guard e == EWOULDBLOCK, waited < lockRetryNs else {
                errno = e
                return false
            }
            usleep(5_000)
            waited += 5_000_000
        }
    }

}
