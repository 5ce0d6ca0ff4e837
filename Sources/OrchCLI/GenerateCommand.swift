import Foundation
import Glibc
import OrchLog
import Synchronization
import OrchFlags

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
    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
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
