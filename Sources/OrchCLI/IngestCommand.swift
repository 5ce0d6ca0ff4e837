import Glibc
import OrchLog
import OrchFlags

/// `orchlog ingest`: reads NDJSON events (format version 1, docs/ndjson.md — the shape
/// `orchlog tail -o json` prints) on stdin and writes them into a source directory through
/// the real writer, so an orchestrator in any language can log without a library.
enum IngestCommand {
    /// Longest line accepted, in bytes; a longer line is rejected without being buffered.
    static let maxLineBytes = 1 << 20

    /// - Parameter stdinClosed: the process was started with standard input closed (it now
    ///   reads /dev/null): an error, before the log is opened, rather than an empty log.
    static func run(_ argv: [String], stdinClosed: Bool = false) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
        if args.has("--listen") {
            guard args.positional.isEmpty else { throw CLIError.usage("ingest: unexpected argument \(args.positional[0]) (events come on the --listen sockets)") }
            return try RelayCommand.run(args)
        }
        for flag in relayFlags where args.has(flag) {
            throw CLIError.usage("ingest: \(flag) is for the relay: give --listen ADDR too")
        }
        guard args.positional.isEmpty else { throw CLIError.usage("ingest: unexpected argument \(args.positional[0]) (events come on stdin)") }
        guard let out = args.value("--out") else { throw CLIError.usage("ingest: --out DIR is required") }
        var options = EventLogOptions()
        if let f = args.value("--fsync") {
            guard let policy = EventLogOptions.FsyncPolicy(parsing: f) else { throw CLIError.usage("--fsync \(f): expected never, interval or always") }
            options.fsync = policy
        }
        if stdinClosed {
            throw CLIError.failure("ingest: standard input is closed: no events to read, nothing written (pipe NDJSON in: PRODUCER | orchlog ingest --out DIR)")
        }
        let log: EventLog
        do { log = try EventLog(directory: out, options: options) } catch let e as OrchLogError { throw CLIError.failure(e.message) }
        installStopHandlers()

        var ingester = Ingester(log: log, highWater: options.bufferCapacity * 3 / 4, lenient: args.has("--lenient"))
        var splitter = LineSplitter(maxLineBytes: maxLineBytes)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var readError: String?
        reading: while !stopRequested.load(ordering: .relaxed) {
            // Wait with a timeout so SIGINT/SIGTERM (which do not interrupt a restarted read)
            // are noticed while stdin is quiet.
            var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 250)
            if ready < 0 && errno != EINTR { readError = String(cString: strerror(errno)); break }
            if ready <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                readError = String(cString: strerror(errno))
                break
            }
            if n == 0 {
                splitter.finish { ingester.take($0) }
                break reading
            }
            splitter.feed(chunk[0..<n]) { ingester.take($0) }
        }
        let unfinished = splitter.pendingBytes
        log.close()

        let stats = log.stats
        if let readError { Output.err("orchlog: ingest: reading stdin: \(readError)") }
        if unfinished > 0 { Output.err("orchlog: ingest: stopped with \(unfinished) bytes of an unfinished line \(splitter.lineNumber + 1) unread") }
        if stats.dropped > 0 {
            Output.err("orchlog: ingest: the writer dropped \(stats.dropped) events\(stats.lastError.map { ": \($0)" } ?? "")")
        }
        let written = ingester.accepted - Int(min(stats.dropped, UInt64(ingester.accepted)))
        let lenientNote = ingester.unknownFields > 0 ? ", \(ingester.unknownFields) unknown fields accepted (--lenient)" : ""
        Output.err("orchlog: ingest: \(written) events written to \(out), \(ingester.rejected) of \(splitter.lineNumber) lines rejected\(lenientNote)")
        return ingester.rejected == 0 && stats.dropped == 0 && readError == nil ? 0 : 1
    }
}

/// What ingest does with each line: parse, emit or report, keep count.
struct Ingester {
    let log: EventLog
    /// Wait for the flusher while more than this many events are buffered, so a fast
    /// producer is slowed down instead of having events dropped.
    let highWater: Int
    var parser = NDJSONEventParser(now: Ingester.wallClockNs)
    private(set) var accepted = 0
    private(set) var rejected = 0
    /// Fields the event types do not have, accepted under `--lenient`.
    private(set) var unknownFields = 0
    private var sinceCheck = 0

    init(log: EventLog, highWater: Int, lenient: Bool = false) {
        self.log = log
        self.highWater = highWater
        parser.lenient = lenient
    }

    mutating func take(_ line: Line) {
        switch line.content {
        case .overlong(let limit):
            reject(line.number, NDJSONLineError("line longer than \(limit) bytes"))
        case .bytes(let bytes):
            // Blank lines (and a CRLF's \r) are not events.
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
            do {
                let parsed = try parser.parse(bytes)
                unknownFields += parsed.unknownFields.count
                log.emit(record: parsed.record)
                accepted += 1
                sinceCheck += 1
                if sinceCheck >= 64 {
                    sinceCheck = 0
                    while log.bufferedCount > highWater { usleep(200) }
                }
            } catch {
                reject(line.number, error)
            }
        }
    }

    private mutating func reject(_ number: Int, _ error: NDJSONLineError) {
        rejected += 1
        Output.err("orchlog: ingest: line \(number): \(error.message)")
    }

    static func wallClockNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// One input line with its 1-based number.
struct Line {
    enum Content {
        /// The line without its `\n`.
        case bytes(ArraySlice<UInt8>)
        /// The line was longer than the limit (carried here, in bytes); its bytes were discarded.
        case overlong(Int)
    }
    let number: Int
    let content: Content
}

/// Splits a byte stream into lines, never buffering more than `maxLineBytes` of one line.
struct LineSplitter {
    let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = false
    /// Lines completed so far (the number of the last line delivered).
    private(set) var lineNumber = 0

    init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// Bytes of an unfinished line held back.
    var pendingBytes: Int { pending.count }

    mutating func feed(_ chunk: ArraySlice<UInt8>, _ deliver: (Line) -> Void) {
        var start = chunk.startIndex
        while start < chunk.endIndex {
            guard let nl = chunk[start...].firstIndex(of: 0x0A) else {
                append(chunk[start...], deliver)
                return
            }
            if discarding {
                discarding = false
            } else if pending.isEmpty {
                lineNumber += 1
                let whole = chunk[start..<nl]
                deliver(Line(number: lineNumber, content: whole.count > maxLineBytes ? .overlong(maxLineBytes) : .bytes(whole)))
            } else {
                append(chunk[start..<nl], deliver)
                if !discarding {
                    lineNumber += 1
                    deliver(Line(number: lineNumber, content: .bytes(pending[...])))
                }
                pending.removeAll(keepingCapacity: pending.count <= 1 << 16)
                discarding = false
            }
            start = nl + 1
        }
    }

    /// End of input: delivers a last line that had no newline.
    mutating func finish(_ deliver: (Line) -> Void) {
        if !pending.isEmpty {
            lineNumber += 1
            deliver(Line(number: lineNumber, content: .bytes(pending[...])))
            pending.removeAll()
        }
        discarding = false
    }

    /// Adds part of a line; past the limit, reports the line as overlong once and drops
    /// its bytes until the next newline.
    private mutating func append(_ part: ArraySlice<UInt8>, _ deliver: (Line) -> Void) {
        guard !discarding else { return }
        if pending.count + part.count > maxLineBytes {
            lineNumber += 1
            deliver(Line(number: lineNumber, content: .overlong(maxLineBytes)))
            pending.removeAll()
            discarding = true
            return
        }
        pending.append(contentsOf: part)
    }
}
