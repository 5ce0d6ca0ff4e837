import Glibc
import OrchLog

/// The relay's core, without sockets: takes NDJSON lines (from datagrams or stream
/// connections), writes each event into `ROOT/<source>/` through one writer per source, and
/// counts what it cannot write: invalid events, events of sources past `maxSources`,
/// unreadable datagrams. Those counts go into the relay's own source as `events_dropped`
/// events (so the collector exposes them) and onto stderr, at most once a second.
///
/// Single-threaded: the socket loop (`RelayCommand`) calls it from one thread.
final class Relay {
    struct Config {
        /// The log root: one source directory per `source` below it.
        var root: String
        /// The source of events that carry no `source` field (`--source`); nil: such an event
        /// is invalid.
        var defaultSource: String?
        /// At most this many sources get a writer (`--max-sources`).
        var maxSources = 1000
        /// The relay's own source, where its counts are written (`--relay.source`).
        var relaySource = "orchlog-relay"
        var lenient = false
        var options = EventLogOptions()
    }

    /// What the relay has counted; `invalid`, `overLimit` and `unreadable` are written into the
    /// log as `events_dropped` with reasons `invalid_event`, `source_limit`, `unreadable_datagram`.
    struct Counts: Equatable {
        var accepted = 0
        var invalid = 0
        var overLimit = 0
        var unreadable = 0
        var unknownFields = 0
    }

    /// One source's writer, with a cache of its labels (so a hot label costs one lookup, not
    /// the writer's lock).
    final class Sink {
        let name: [UInt8]
        let log: EventLog
        var labels: [String: Label] = [:]
        var sinceCheck = 0

        init(name: [UInt8], log: EventLog) {
            self.name = name
            self.log = log
        }

        @inline(__always)
        func label(_ text: String) -> Label {
            if let l = labels[text] { return l }
            let l = log.label(text)
            if labels.count < 1 << 16 { labels[text] = l }
            return l
        }

        /// Recently used labels by a hash of their bytes (direct-mapped): a hit costs a hash
        /// of the bytes and one compare, no String and no dictionary.
        private var recent = [(bytes: [UInt8], label: Label)](repeating: ([], .none), count: 512)

        @inline(__always)
        func label(bytes: UnsafeBufferPointer<UInt8>) -> Label {
            var h: UInt32 = 2_166_136_261
            for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
            let slot = Int(h & 511)
            let entry = recent[slot]
            if entry.label != .none, entry.bytes.count == bytes.count,
               bytes.isEmpty || entry.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }) {
                return entry.label
            }
            let l = label(String(decoding: bytes, as: UTF8.self))
            recent[slot] = (Array(bytes), l)
            return l
        }
    }

    let config: Config
    private(set) var counts = Counts()
    /// Counts already written into the relay's own source.
    private var reported = Counts()
    /// Counts already summarised on stderr, and the first problem since.
    private var summarised = Counts()
    private var firstProblem: String?
    private var sinks: [String: Sink] = [:]
    /// Source names refused for being over the limit (each named once on stderr).
    private var refused: Set<String> = []
    private var last: Sink?
    private let own: EventLog
    private var parser: NDJSONEventParser
    private let highWater: Int
    /// Per event type code, how many label slots it has.
    private let labelSlots: [Int]

    /// Opens the relay's own source (created if needed).
    /// - Throws: `CLIError.failure` when ROOT or the relay's source cannot be written.
    init(_ config: Config) throws {
        self.config = config
        if let problem = Relay.sourceNameProblem(config.relaySource) {
            throw CLIError.usage("ingest: --relay.source \(config.relaySource): \(problem)")
        }
        if let d = config.defaultSource, let problem = Relay.sourceNameProblem(d) {
            throw CLIError.usage("ingest: --source \(d): \(problem)")
        }
        guard mkdir(config.root, 0o755) == 0 || errno == EEXIST else {
            throw CLIError.failure("ingest: --out \(config.root): \(String(cString: strerror(errno)))")
        }
        do {
            own = try EventLog(directory: config.root + "/" + config.relaySource, options: config.options)
        } catch let e as OrchLogError {
            throw CLIError.failure(e.message)
        }
        parser = NDJSONEventParser(now: Ingester.wallClockNs)
        parser.lenient = config.lenient
        highWater = config.options.bufferCapacity * 3 / 4
        var slots = [Int](repeating: 0, count: EventSchema.codeLimit)
        for type in EventType.allCases { slots[Int(type.rawValue)] = EventSchema.of(type).labelCount }
        labelSlots = slots
    }

    /// The sources with a writer, by name.
    var sourceNames: [String] { sinks.keys.sorted() }

    /// The label values source `name`'s writer has interned (nil: no such source yet).
    func labelTableCount(source name: String) -> Int? { sinks[name]?.log.labelTableCount }

    /// A source name's problem as a directory name, or nil: 1–128 bytes of letters, digits,
    /// `.`, `_` and `-`, starting with a letter or digit.
    static func sourceNameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { return "a source name cannot be empty" }
        guard bytes.count <= 128 else { return "a source name is at most 128 bytes (this one has \(bytes.count))" }
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard alnum(bytes[0]) else { return "a source name starts with a letter or digit" }
        guard bytes.allSatisfy({ alnum($0) || $0 == 46 || $0 == 95 || $0 == 45 }) else {
            return "a source name holds only letters, digits, '.', '_' and '-' (it names a directory)"
        }
        return nil
    }

    /// The time stamped on events without `ts`: read once per datagram (or line), so the
    /// events of one datagram share it.
    private var readTime: UInt64 = 0

    /// Takes one datagram: one or more NDJSON lines.
    func take(datagram: UnsafeBufferPointer<UInt8>, from origin: String) {
        guard let base = datagram.baseAddress else { return }
        readTime = Ingester.wallClockNs()
        var start = 0
        let end = datagram.count
        while start < end {
            let nl = memchr(base + start, 0x0A, end - start).map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) - base } ?? end
            takeLine(UnsafeBufferPointer(start: base + start, count: nl - start), from: origin)
            start = nl + 1
        }
    }

    /// Takes one line (without its newline), read now.
    func take(line: UnsafeBufferPointer<UInt8>, from origin: String) {
        readTime = Ingester.wallClockNs()
        takeLine(line, from: origin)
    }

    @inline(__always)
    private func takeLine(_ line: UnsafeBufferPointer<UInt8>, from origin: String) {
        if let fast = FastEventParser.parse(line) {
            takeFast(fast, line)
            return
        }
        // Blank lines (and a CRLF's \r) are not events.
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
        let parsed: ParsedEvent
        do {
            parsed = try parser.parse(ArraySlice(line))
        } catch {
            invalid("\(origin): \(error.message)")
            return
        }
        guard let sink = sink(named: parsed.source, origin: origin) else { return }
        counts.unknownFields += parsed.unknownFields.count
        var raw = RawEvent(type: parsed.record.type, timestamp: parsed.record.timestamp)
        for (i, s) in parsed.record.labels.enumerated() where i < RawEvent.labelSlots { raw.setLabel(i, sink.label(s).id) }
        for (i, n) in parsed.record.numbers.enumerated() where i < RawEvent.numberSlots { raw.setNumber(i, n) }
        write(raw, to: sink)
    }

    /// A line the schema accepts as it stands, from the fast path.
    @inline(__always)
    private func takeFast(_ fast: FastEventParser.Parsed, _ line: UnsafeBufferPointer<UInt8>) {
        let sink: Sink
        if fast.sourceCount >= 0 {
            let span = UnsafeBufferPointer(rebasing: line[fast.sourceStart..<fast.sourceStart + fast.sourceCount])
            if let last, last.name.count == span.count, last.name.withUnsafeBufferPointer({ memcmp($0.baseAddress!, span.baseAddress!, span.count) == 0 }) {
                sink = last
            } else {
                guard let s = self.sink(named: String(decoding: span, as: UTF8.self), origin: "") else { return }
                sink = s
            }
        } else {
            guard let s = self.sink(named: nil, origin: "") else { return }
            sink = s
        }
        var raw = fast.raw
        if !fast.hasTimestamp { raw.timestamp = readTime }
        let slots = labelSlots[Int(raw.type.rawValue)]
        for i in 0..<slots {
            let (start, count) = fast.label(i)
            raw.setLabel(i, sink.label(bytes: UnsafeBufferPointer(rebasing: line[start..<start + max(count, 0)])).id)
        }
        write(raw, to: sink)
    }

    @inline(__always)
    private func write(_ raw: RawEvent, to sink: Sink) {
        sink.log.emit(raw: raw)
        counts.accepted += 1
        sink.sinceCheck += 1
        if sink.sinceCheck >= 64 {
            sink.sinceCheck = 0
            // Wait for the writer rather than have it drop: the sockets' queues fill, and
            // clients count what they could not send.
            while sink.log.bufferedCount > highWater { usleep(200) }
        }
    }

    /// The writer of a source, opened on first use; nil (counted) when the name is invalid,
    /// the relay's own, over the limit, or its directory cannot be opened.
    private func sink(named given: String?, origin: String) -> Sink? {
        guard let name = given ?? config.defaultSource else {
            invalid("\(origin.isEmpty ? "" : origin + ": ")an event without \"source\" (and the relay has no --source default)")
            return nil
        }
        if let s = sinks[name] {
            last = s
            return s
        }
        if let problem = Relay.sourceNameProblem(name) {
            invalid("source \(JSON.string(name)): \(problem)")
            return nil
        }
        guard name != config.relaySource else {
            invalid("source \(JSON.string(name)) is the relay's own (--relay.source)")
            return nil
        }
        guard sinks.count < config.maxSources else {
            counts.overLimit += 1
            if refused.count < 64, refused.insert(name).inserted {
                problem("source \(JSON.string(name)) is past --max-sources \(config.maxSources): its events are rejected and counted")
            }
            return nil
        }
        let log: EventLog
        do {
            log = try EventLog(directory: config.root + "/" + name, options: config.options)
        } catch {
            invalid("source \(JSON.string(name)): \((error as? OrchLogError)?.message ?? "\(error)")")
            return nil
        }
        let s = Sink(name: Array(name.utf8), log: log)
        sinks[name] = s
        last = s
        return s
    }

    /// An event the relay could not read (counted as `invalid_event`).
    func invalid(_ message: String) {
        counts.invalid += 1
        problem(message)
    }

    /// A datagram or connection the relay could not read (counted as `unreadable_datagram`).
    func unreadable(_ message: String) {
        counts.unreadable += 1
        problem(message)
    }

    private func problem(_ message: String) {
        if firstProblem == nil { firstProblem = message }
    }

    /// Once a second: writes the new counts into the relay's source and summarises them on stderr.
    func tick() {
        let now = Ingester.wallClockNs()
        for (count, done, reason) in [(counts.invalid, reported.invalid, DropReason.invalidEvent),
                                      (counts.overLimit, reported.overLimit, .sourceLimit),
                                      (counts.unreadable, reported.unreadable, .unreadableDatagram)] where count > done {
            own.emit(.eventsDropped(count: UInt64(count - done), reason: reason), at: now)
        }
        reported = counts
        let invalid = counts.invalid - summarised.invalid
        let over = counts.overLimit - summarised.overLimit
        let unreadable = counts.unreadable - summarised.unreadable
        if invalid + over + unreadable > 0 {
            var parts: [String] = []
            if invalid > 0 { parts.append("\(invalid) invalid event\(invalid == 1 ? "" : "s")") }
            if over > 0 { parts.append("\(over) event\(over == 1 ? "" : "s") of sources past --max-sources \(config.maxSources)") }
            if unreadable > 0 { parts.append("\(unreadable) unreadable datagram\(unreadable == 1 ? "" : "s")") }
            Output.err("orchlog: ingest: rejected \(parts.joined(separator: ", ")) (first: \(firstProblem ?? "?"))")
        }
        summarised = counts
        firstProblem = nil
    }

    /// Writes the last counts, closes every writer; returns the events the writers dropped.
    func close() -> UInt64 {
        tick()
        var dropped: UInt64 = 0
        for s in sinks.values {
            s.log.close()
            let stats = s.log.stats
            if stats.dropped > 0 {
                dropped += stats.dropped
                Output.err("orchlog: ingest: the writer of \(String(decoding: s.name, as: UTF8.self)) dropped \(stats.dropped) events\(stats.lastError.map { ": \($0)" } ?? "")")
            }
        }
        own.close()
        return dropped
    }
}
