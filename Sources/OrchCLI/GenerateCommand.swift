import Foundation
import Glibc
import OrchLog
import Synchronization

/// Set by SIGINT/SIGTERM so long-running commands stop cleanly.
let stopRequested = Atomic<Bool>(false)

/// Installs SIGINT/SIGTERM handlers that set `stopRequested`.
func installStopHandlers() {
    let handler: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
    unblockStopSignals()
}

/// Unblocks SIGINT and SIGTERM: a parent (a test runner, a supervisor) may have spawned us
/// with them blocked, and then a clean stop would never come.
public func unblockStopSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// `orchlog generate`: writes a realistic synthetic event mix through the real writer.
enum GenerateCommand {
    static let help = """
    Usage: orchlog generate --out DIR [--events N] [--seed S] [--rate PER_SECOND] [--summary-json FILE]
                            [--fsync never|interval|always]

    Writes a realistic synthetic mix of every event type (invocations with their state reads
    and writes, LLM and tool calls, queue/pool/limiter samples, rejections, flushes, breaker
    transitions, key rotations) into the source directory DIR, through the real writer. For
    tests, benchmarks and demos.

    Options:
      --out DIR             source directory to write (created if needed)
      --events N            stop after about N events (default 100000; whole invocations
                            are emitted, so the count may exceed N by up to 20)
      --seed S              PRNG seed (default 1): the same seed gives the same events
      --rate PER_SECOND     pace to this many events per second and run until N events (if
                            given) or SIGINT/SIGTERM, then close cleanly
      --summary-json FILE   write what was emitted: events, by_type, invocations_by_outcome,
                            llm_tokens {input, output} (checked before anything is written:
                            a FILE that cannot be written fails at once, with no log written)
      --fsync POLICY        never, interval (default) or always

    Exit status: 0 ok, 1 the log could not be written, 2 usage.
    """

    static func run(_ argv: [String]) throws -> Int32 {
        // Hidden flags for the reliability suite (not in --help): --report-durable prints
        // `durable SEQ` to stdout (flushed) whenever the writer's durable sequence advances;
        // --retention.bytes / --segment.bytes set the writer's retention and rotation sizes.
        let args = try Arguments(argv, switches: ["--report-durable"],
                                 options: ["--out", "--events", "--seed", "--rate", "--summary-json", "--fsync", "--retention.bytes", "--segment.bytes"])
        if args.has("--help", "-h") { Output.out(help); return 0 }
        guard args.positional.isEmpty else { throw CLIError.usage("generate: unexpected argument \(args.positional[0])") }
        guard let out = args.value("--out") else { throw CLIError.usage("generate: --out DIR is required") }
        let rate = try args.double("--rate", range: 0.001...1e9)
        let limit: Int? = args.has("--events") ? try args.int("--events", default: 0, range: 0...Int(Int32.max) * 16)
            : (rate == nil ? 100_000 : nil)
        guard let seedValue = UInt64(args.value("--seed") ?? "1") else { throw CLIError.usage("--seed \(args.value("--seed")!): expected a whole number") }
        var options = EventLogOptions()
        if let f = args.value("--fsync") {
            guard let policy = EventLogOptions.FsyncPolicy(parsing: f) else { throw CLIError.usage("--fsync \(f): expected never, interval or always") }
            options.fsync = policy
        }
        if args.has("--retention.bytes") {
            options.retentionMaxBytes = Int64(try args.int("--retention.bytes", default: 0, range: 0...Int.max))
        }
        if args.has("--segment.bytes") {
            options.segmentMaxBytes = Int64(try args.int("--segment.bytes", default: 0, range: 4096...Int.max))
        }
        let reportDurable = args.has("--report-durable")
        // Before any event is written: the summary is written last.
        if let path = args.value("--summary-json") { try OutputPath.checkWritable(path, flag: "--summary-json") }
        let log: EventLog
        do { log = try EventLog(directory: out, options: options) } catch let e as OrchLogError { throw CLIError.failure(e.message) }
        installStopHandlers()
        var mix = SyntheticMix(seed: seedValue, intern: log.label)
        let start = DispatchTime.now().uptimeNanoseconds
        let highWater = options.bufferCapacity * 3 / 4
        var sinceCheck = 0
        var reportedDurable: UInt64 = 0
        while !stopRequested.load(ordering: .relaxed) {
            if let limit, mix.summary.events >= limit { break }
            mix.step { log.emit($0) }
            sinceCheck += 1
            if reportDurable { reportedDurable = report(durable: log.durableSequence, after: reportedDurable) }
            if let rate {
                let due = start + UInt64(Double(mix.summary.events) / rate * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32(min(due - now, 200_000_000) / 1000)) }
            } else if sinceCheck >= 256 {
                // Generating as fast as possible: keep the buffer from overflowing, so the
                // summary matches the log exactly.
                sinceCheck = 0
                while log.bufferedCount > highWater { usleep(200) }
            }
        }
        log.close()
        if reportDurable { _ = report(durable: log.durableSequence, after: reportedDurable) }
        let stats = log.stats
        if let path = args.value("--summary-json") {
            do {
                try mix.summary.json().write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError.failure("\(path): cannot write summary: \(error.localizedDescription)")
            }
        }
        Output.err("orchlog: generated \(mix.summary.events) events into \(out) (\(stats.blocksWritten) blocks, \(stats.bytesWritten) bytes, \(stats.dropped) dropped)")
        if let error = stats.lastError, stats.dropped > 0 { throw CLIError.failure("\(out): \(error)") }
        return 0
    }

    /// Prints `durable SEQ` (flushed at once, so a parent that kills us has seen it) when the
    /// writer's durable sequence number has moved past `previous`; returns the new high mark.
    private static func report(durable: UInt64, after previous: UInt64) -> UInt64 {
        guard durable > previous else { return previous }
        Output.out("durable \(durable)")
        Output.flush()
        return durable
    }
}
