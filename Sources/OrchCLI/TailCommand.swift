import Glibc
import OrchFlags
import OrchLog

/// `orchlog tail`: shows events, optionally following live, like `journalctl -f`.
enum TailCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
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
        var filter = try EventFilter(types: args.all("--type"), wheres: args.all("--where"))
        try filter.limitTime(since: args.value("--since"), until: args.value("--until"), now: Ingester.wallClockNs())
        let session = try TailSession(paths: args.positional, filter: filter)
        var formatter = EventFormatter(style: style, color: style == .text && Output.colorEnabled)

        // Initial output: everything, streamed (one block per source in memory), or the last
        // `limit` matching events.
        if fromStart {
            formatter.sourceWidth = session.sourceWidth
            try session.streamAvailable { Output.out(formatter.line($0)) }
        } else {
            let initial = try session.readLast(limit)
            formatter.sourceWidth = session.sourceWidth
            for r in initial { Output.out(formatter.line(r)) }
        }
        session.reportTornTails()
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
                readers[source.path] = reporting(SourceReader(source: source))
                sourceWidth = max(sourceWidth, EventFormatter.displayed(source.name).count)
            }
        }
        if strict && readers.isEmpty {
            Output.err("orchlog: warning: no orchlog sources under \(paths.joined(separator: " ")) yet")
        }
    }

    /// `reader`, its problems printed by this session.
    private func reporting(_ reader: SourceReader) -> SourceReader {
        reader.onProblem = { [weak self] problem in self?.report(problem) }
        return reader
    }

    /// Torn tails already named (`SEGMENT:OFFSET`), so each is named once.
    private var tornTailsSeen: Set<String> = []

    /// Prints a problem a reader found. Corruption, unreadable segments and missing data make
    /// the exit status 1; a torn tail (named once) and a recreated source are warnings only.
    private func report(_ problem: LogProblem) {
        switch problem.kind {
        case .tornTail:
            guard tornTailsSeen.insert("\(problem.path):\(problem.offset)").inserted else { return }
        case .restarted:
            break
        case .corrupt, .badSegment, .missingData:
            problemsSeen = true
        }
        Output.err("orchlog: warning: \(problem.description)")
    }

    /// Names the torn tail each source's reader has stopped at, if a crash left one (once).
    func reportTornTails() {
        for (_, reader) in readers.sorted(by: { $0.key < $1.key }) {
            if let problem = reader.tornTailAtEnd() { report(problem) }
        }
    }

    /// Delivers every matching record now available in `tail`'s order (see its help), holding
    /// one block per source in memory (not the whole log): each source's records in write
    /// order, and among the sources' next records the earliest (`before`) goes first.
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

    /// The last `n` matching records (`readAvailable(keepLast:)`). A lone source is read
    /// from near its end: from the frame after which `n` events follow, then from four times
    /// as many frames back while fewer than `n` of them match, so a long log is not decoded
    /// whole. Several sources are read whole: where their merge puts each record depends on
    /// every earlier one when timestamps are out of order.
    func readLast(_ n: Int) throws -> [EventRecord] {
        if n == 0 {
            // Nothing to print: every source starts after its last complete frame (`-n 0 -f`
            // prints only what is written from now on, at once on any size of log).
            for (path, reader) in readers where reader.position == LogPosition() {
                guard let last = (try? FrameIndex(source: reader.source))?.entries.last else { continue }
                readers[path] = reporting(SourceReader(source: reader.source, from: last.next))
            }
            return try readAvailable(keepLast: 0)
        }
        guard readers.count == 1, let (path, reader) = readers.first, reader.position == LogPosition() else {
            return try readAvailable(keepLast: n)
        }
        // A directory that cannot be listed is read (and its problem reported) the usual way.
        guard let index = try? FrameIndex(source: reader.source) else { return try readAvailable(keepLast: n) }
        var frames = index.entries.count - index.start(covering: n)
        while true {
            let first = index.entries.count - frames
            guard first > 0 else {
                readers[path] = reader
                return try readAvailable(keepLast: n)
            }
            // Problems are reported for the final read only (a retry would repeat them).
            var found: [LogProblem] = []
            let near = SourceReader(source: reader.source, from: index.entries[first].position)
            near.onProblem = { found.append($0) }
            readers[path] = near
            let records = try readAvailable(keepLast: n)
            if records.count >= n {
                for problem in found { report(problem) }
                _ = reporting(near)
                return records
            }
            frames *= 4
        }
    }

    /// Reads every complete frame now available and returns the last `keepLast` matching
    /// records of the order `streamAvailable` delivers (holding at most a few times
    /// `keepLast` records, and one block per source).
    func readAvailable(keepLast: Int) throws -> [EventRecord] {
        var kept: [EventRecord] = []
        let bound = 2 * max(keepLast, 256)
        try streamAvailable { r in
            guard keepLast > 0 else { return }
            kept.append(r)
            if kept.count > bound { kept.removeFirst(kept.count - keepLast) }
        }
        if kept.count > keepLast { kept.removeFirst(kept.count - keepLast) }
        return kept
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
            let read = try reader.pollBlocks(maxFrames: 1) { block in
                filter.collect(block, source: reader.source.name, into: &records)
            }
            if read == 0 { return false }
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
    /// Which of two sources' next records `tail` prints first: by time, then source, then
    /// sequence number. (Within a source, records keep their write order.)
    func before(_ other: EventRecord) -> Bool {
        (timestamp, source, seq) < (other.timestamp, other.source, other.seq)
    }
}
