import Glibc
import OrchLog

/// `orchlog ingest`: reads NDJSON events (format version 1, docs/ndjson.md — the shape
/// `orchlog tail -o json` prints) on stdin and writes them into a source directory through
/// the real writer, so an orchestrator in any language can log without a library.
enum IngestCommand {
    static let help = """
    Usage: orchlog ingest --out DIR [--fsync never|interval|always] [--lenient]
           orchlog ingest --listen ADDR [--listen ADDR…] --out ROOT [--source NAME]
                          [--max-sources N] [--socket.mode MODE] [--socket.group GROUP]
                          [--listen.allow-remote] [--relay.source NAME] [--fsync …] [--lenient]

    Reads events as NDJSON on standard input, one JSON object per line in the shape
    `orchlog tail -o json` prints (format version 1: docs/ndjson.md), and writes them into
    the source directory DIR through the real writer, until end of input or SIGINT/SIGTERM.

      {"type":"tool_call","ts":"2025-01-31T12:00:00.5Z","tool":"crm","outcome":"timeout","latency_ns":30000000000,"fallback":true}

    "type" is required. "ts" is optional (RFC 3339 UTC; absent: the time the line is read).
    "seq" and "source" are ignored: the writer numbers events, DIR names the source. Every
    required field of the type must be given (`orchlog schema` lists them); an optional field
    left out is "", 0 or false. A field the type does not have is an error naming it
    (--lenient accepts and counts such fields instead). Integral floats (1.0, 3e9) are
    accepted for whole numbers. A malformed line (bad JSON, unknown type, field or
    enumeration value, a missing required field, a negative or fractional number, a bad or
    out-of-range ts) is reported on stderr with its line number and skipped; the stream goes
    on. Blank lines are skipped. At the end a summary line goes to stderr.

    With --listen, ingest is a relay (docs/python.md, docs/ndjson.md "The relay"): it
    listens on sockets instead of stdin, and every event names its source with a "source"
    field (or takes --source); each source is written into ROOT/<source>/ by its own writer.
    A sender never waits for the relay: when the socket is full or the relay is down the
    send fails at once and the client counts the event as dropped. What the relay cannot
    write (invalid events, events of sources past --max-sources, unreadable datagrams) it
    counts into ROOT/<relay source>/ as events_dropped events (the collector exposes them)
    and summarises on stderr at most once a second.

    Options:
      --out DIR             source directory to write (created if needed; one writer at a time);
                            with --listen, the root of the source directories
      --fsync POLICY        never, interval (default) or always
      --lenient             accept fields the event type does not have (counted in the summary)
      --listen ADDR         relay: unix:PATH (Unix datagram socket, one or more NDJSON events
                            per datagram), unix-stream:PATH (NDJSON lines over connections) or
                            udp:HOST:PORT (datagrams; loopback only unless --listen.allow-remote;
                            port 0 picks a free one); repeatable
      --source NAME         relay: the source of events without a "source" field (default: such
                            an event is invalid)
      --max-sources N       relay: sources that get a writer (default 1000); the events of more
                            are rejected and counted
      --socket.mode MODE    relay: the Unix socket files' mode, octal (default 0660)
      --socket.group GROUP  relay: the Unix socket files' group (name or id)
      --listen.allow-remote relay: allow a udp: address that is not loopback
      --relay.source NAME   relay: the source its own counts go into (default orchlog-relay)
      -h, --help            this help

    Standard input closed (`orchlog ingest --out DIR <&-`) is an error: nothing is written.
    A relay socket path that exists and is not a socket is refused; a socket left by a dead
    relay is replaced; one a live relay listens on is refused. SIGINT/SIGTERM: the relay reads
    what its datagram sockets already hold, then flushes and closes every writer.

    Exit status: 0 every line was written, 1 a line (or datagram) was rejected, the log could
    not be written or standard input is closed, 2 usage.
    """

    /// Longest line accepted, in bytes; a longer line is rejected without being buffered.
    static let maxLineBytes = 1 << 20

    /// - Parameter stdinClosed: the process was started with standard input closed (it now
    ///   reads /dev/null): an error, before the log is opened, rather than an empty log.
    static func run(_ argv: [String], stdinClosed: Bool = false) throws -> Int32 {
        let relayOptions = ["--listen", "--source", "--max-sources", "--socket.mode", "--socket.group", "--relay.source"]
        let args = try Arguments(argv, switches: ["--lenient", "--listen.allow-remote"], options: Set(["--out", "--fsync"] + relayOptions))
        if args.has("--help", "-h") { Output.out(help); return 0 }
        if args.has("--listen") {
            guard args.positional.isEmpty else { throw CLIError.usage("ingest: unexpected argument \(args.positional[0]) (events come on the --listen sockets)") }
            return try RelayCommand.run(args)
        }
        for flag in relayOptions + ["--listen.allow-remote"] where args.has(flag) {
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
