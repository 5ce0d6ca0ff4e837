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

        // Initial output: the last `limit` matching events (or all).
        let initial = try session.readAvailable(keepLast: fromStart ? nil : limit)
        formatter.sourceWidth = session.sourceWidth
        for r in initial { Output.out(formatter.line(r)) }
        Output.flush()
        guard follow else { return session.problemsSeen ? 1 : 0 }

        let watcher = DirectoryWatcher(paths: args.positional)
        while true {
            watcher.wait(timeoutMs: 250)
            let fresh = try session.readAvailable(keepLast: nil)
            formatter.sourceWidth = session.sourceWidth
            for r in fresh { Output.out(formatter.line(r)) }
            if !fresh.isEmpty { Output.flush() }
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

    /// Reads every complete frame now available, returns matching records merged by time.
    /// With `keepLast`, only the last N of them.
    func readAvailable(keepLast: Int?) throws -> [EventRecord] {
        try discover(strict: false)
        var all: [EventRecord] = []
        for (_, reader) in readers.sorted(by: { $0.key < $1.key }) {
            var mine: [EventRecord] = []
            let name = reader.source.name
            do {
                try reader.poll { block in
                    for e in block.events where filter.accepts(e.type) {
                        let r = EventRecord(raw: e, strings: block.strings, source: name)
                        if filter.matches(r) { mine.append(r) }
                    }
                    if let keepLast, mine.count > 4 * max(keepLast, 256) {
                        mine.removeFirst(mine.count - keepLast)
                    }
                }
            } catch let error as OrchLogError {
                problemsSeen = true
                Output.err("orchlog: warning: \(error.message)")
            }
            if let keepLast, mine.count > keepLast { mine.removeFirst(mine.count - keepLast) }
            all += mine
        }
        all.sort { ($0.timestamp, $0.source, $0.seq) < ($1.timestamp, $1.source, $1.seq) }
        if let keepLast, all.count > keepLast { all.removeFirst(all.count - keepLast) }
        return all
    }
}
