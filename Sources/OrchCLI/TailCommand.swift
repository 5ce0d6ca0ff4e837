import Glibc
import OrchLog

/// `orchlog tail`: shows events, optionally following live, like `journalctl -f`.
enum TailCommand {
    static let help = """
    Usage: orchlog tail [-f|--follow] [--from-start | -n N] [--type T,...] [--where key=value]... [-o text|json] PATH...

    Shows the last events of one or more logs. PATH is a source directory (one writer's
    log) or a root directory whose subdirectories are sources; events of several sources are
    interleaved by time and tagged with their source.

    Options:
      -f, --follow          keep running and print new events as they are written
      --from-start          show every event, not only the last ones
      -n, --lines N         show the last N events (default 10)
      --type T,...          only these event types (e.g. llm_request,tool_call)
      --where key=value     only events whose field equals value (repeatable; all must match;
                            keys: any event field, source, type, seq)
      -o, --output FORMAT   text (default) or json (NDJSON: seq, ts, source, type, fields)
      -h, --help            this help

    In text output a value that is empty or holds a space, quote, backslash or control
    character is quoted, with \\" \\\\ \\n \\r \\t and \\u{1B} (hex) escapes: one event is one line.

    Exit status: 0 ok, 1 corrupt data was found (and skipped, with a warning), 2 usage.
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, switches: ["-f", "--follow", "--from-start"],
                                 options: ["-n", "--lines", "--type", "--where", "-o", "--output"])
        if args.has("--help", "-h") { Output.out(help); return 0 }
        guard !args.positional.isEmpty else { throw CLIError.usage("tail: give at least one PATH (see --help)") }
        let follow = args.has("-f", "--follow")
        let fromStart = args.has("--from-start")
        if fromStart && args.has("-n", "--lines") { throw CLIError.usage("tail: --from-start and -n are exclusive") }
        let limitText = args.value("-n", "--lines")
        var limit = 10
        if let limitText {
            guard let v = Int(limitText), v >= 0 else { throw CLIError.usage("-n \(limitText): expected a whole number ≥ 0") }
            limit = v
        }
        let style: EventFormatter.Style
        switch args.value("-o", "--output") ?? "text" {
        case "text": style = .text
        case "json": style = .json
        case let other: throw CLIError.usage("-o \(other): expected text or json")
        }
        let filter = try EventFilter(types: args.all("--type"), wheres: args.all("--where"))
        let session = try TailSession(paths: args.positional, filter: filter)
        var formatter = EventFormatter(style: style, color: style == .text && Output.colorEnabled)

        // Initial output: everything, streamed (one block per source in memory), or the last
        // `limit` matching events.
        if fromStart {
            formatter.sourceWidth = session.sourceWidth
            try session.streamAvailable { Output.out(formatter.line($0)) }
        } else {
            let initial = try session.readAvailable(keepLast: limit)
            formatter.sourceWidth = session.sourceWidth
            for r in initial { Output.out(formatter.line(r)) }
        }
        Output.flush()
        guard follow else { return session.problemsSeen ? 1 : 0 }

        let watcher = DirectoryWatcher(paths: args.positional)
        while true {
            watcher.wait(timeoutMs: 250)
            var printed = false
            try session.streamAvailable { r in
                formatter.sourceWidth = session.sourceWidth
                Output.out(formatter.line(r))
                printed = true
            }
            if printed { Output.flush() }
            watcher.refresh(session.sourcePaths)
        }
    }
}

/// Readers over every source under the given paths, discovering new sources as they appear.
final class TailSession {
    let paths: [String]
    let filter: EventFilter
    private var readers: [String: SourceReader] = [:]
    private(set) var problemsSeen = false
    private(set) var sourceWidth = 6

    init(paths: [String], filter: EventFilter) throws {
        self.paths = paths
        self.filter = filter
        try discover(strict: true)
    }

    var sourcePaths: [String] { readers.keys.sorted() }

    /// Finds sources under `paths`. With `strict`, a bad PATH or a PATH with no sources is an error.
    private func discover(strict: Bool) throws {
        for path in paths {
            let sources: [SourceDirectory]
            do {
                sources = try LogDirectory.sources(at: path)
            } catch let error as OrchLogError {
                if strict { throw CLIError.failure(error.message) }
                continue
            }
            if strict && sources.isEmpty && !LogDirectory.isDirectory(path) {
                throw CLIError.failure("\(path): no such log")
            }
            for source in sources where readers[source.path] == nil {
                let reader = SourceReader(source: source)
                reader.onProblem = { [weak self] problem in
                    self?.problemsSeen = true
                    Output.err("orchlog: warning: \(problem.description)")
                }
                readers[source.path] = reader
                sourceWidth = max(sourceWidth, source.name.count)
            }
        }
        if strict && readers.isEmpty {
            Output.err("orchlog: warning: no orchlog sources under \(paths.joined(separator: " ")) yet")
        }
    }

    /// Delivers every matching record now available, merged by time across sources, holding
    /// one block per source in memory (not the whole log): each source's blocks are read one at
    /// a time and sorted by time within the block, and the source whose next record is the
    /// earliest goes first.
    func streamAvailable(_ body: (EventRecord) -> Void) throws {
        try discover(strict: false)
        let cursors = readers.sorted(by: { $0.key < $1.key }).map { SourceCursor(reader: $0.value, filter: filter) }
        var live: [SourceCursor] = []
        for c in cursors where try guarded({ try c.fill() }) { live.append(c) }
        while !live.isEmpty {
            var best = 0
            for i in 1..<live.count where live[i].head.before(live[best].head) { best = i }
            body(live[best].head)
            if try !guarded({ try live[best].advance() }) { live.remove(at: best) }
        }
    }

    /// Runs `step`; a read error is reported as a warning and ends that source for this round
    /// (false).
    private func guarded(_ step: () throws -> Bool) throws -> Bool {
        do {
            return try step()
        } catch let error as OrchLogError {
            problemsSeen = true
            Output.err("orchlog: warning: \(error.message)")
            return false
        }
    }

    /// Reads every complete frame now available and returns the last `keepLast` matching
    /// records, merged by time (holding at most a few times `keepLast` per source).
    func readAvailable(keepLast: Int) throws -> [EventRecord] {
        try discover(strict: false)
        var all: [EventRecord] = []
        for (_, reader) in readers.sorted(by: { $0.key < $1.key }) {
            var mine: [EventRecord] = []
            _ = try guarded {
                try reader.poll { block in
                    filter.collect(block, source: reader.source.name, into: &mine)
                    if mine.count > 4 * max(keepLast, 256) { mine.removeFirst(mine.count - keepLast) }
                }
                return true
            }
            if mine.count > keepLast { mine.removeFirst(mine.count - keepLast) }
            all += mine
        }
        all.sort { $0.before($1) }
        if all.count > keepLast { all.removeFirst(all.count - keepLast) }
        return all
    }
}

/// One source read a block at a time, for `TailSession.streamAvailable`.
final class SourceCursor {
    private let reader: SourceReader
    private let filter: EventFilter
    private var records: [EventRecord] = []
    private var index = 0

    init(reader: SourceReader, filter: EventFilter) {
        self.reader = reader
        self.filter = filter
    }

    /// The next record (valid after `fill` or `advance` returned true).
    var head: EventRecord { records[index] }

    /// Loads blocks until one has a matching record; false when the source has no more now.
    func fill() throws -> Bool {
        while index >= records.count {
            records.removeAll(keepingCapacity: true)
            index = 0
            let read = try reader.poll(maxFrames: 1) { block in
                filter.collect(block, source: reader.source.name, into: &records)
            }
            if read == 0 { return false }
            records.sort { $0.before($1) }
        }
        return true
    }

    /// Moves past `head`; false when the source has no more now.
    func advance() throws -> Bool {
        index += 1
        return try fill()
    }
}

extension EventRecord {
    /// Output order of `tail`: by time, then source, then sequence number.
    func before(_ other: EventRecord) -> Bool {
        (timestamp, source, seq) < (other.timestamp, other.source, other.seq)
    }
}
