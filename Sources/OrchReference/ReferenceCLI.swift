import Dispatch
import Foundation
import Glibc
import OrchLog
import OrchVersion
import Synchronization

/// Set by SIGINT or SIGTERM; the run stops at the next progress check.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// The `reference-orchestrator` command: everything but process exit.
public enum ReferenceCLI {
    /// Runs a scenario live (`--live`; the OrchLive module provides it): the parsed options
    /// and a check that turns true on SIGINT/SIGTERM; returns the run's summary.
    public typealias LiveRunner = @Sendable (_ options: RunOptions, _ shouldStop: @escaping @Sendable () -> Bool) throws -> RunSummary

    /// Runs the command with `arguments` (without the program name); prints to stdout and
    /// stderr and returns the exit status: 0 done, 1 failure, 2 usage. `live` runs `--live`
    /// scenarios (without it, `--live` is a usage error).
    public static func main(_ arguments: [String], live: LiveRunner? = nil) -> Int32 {
        // Before anything opens a file: a closed 1 or 2 would otherwise be reused by the log.
        StandardStreams.reopenClosed()
        let options: RunOptions
        do {
            options = try RunOptions.parse(arguments)
        } catch let error as ReferenceError {
            printError(error.message)
            return 2
        } catch {
            printError("\(error)")
            return 2
        }
        if options.help {
            print(RunOptions.help)
            return 0
        }
        if options.version {
            print(BuildInfo.versionText(program: "reference-orchestrator"))
            return 0
        }
        if options.helpMarkdown {
            print(RunOptions.spec.markdownTable, terminator: "")
            return 0
        }
        if options.listScenarios {
            let width = Scenario.all.map(\.name.count).max() ?? 0
            for s in Scenario.all {
                print(s.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + s.summary)
            }
            return 0
        }
        do {
            // Before the run: the summary is written at its end.
            if let path = options.summaryJSON { try OutputPath.checkWritable(path, flag: "--summary-json") }
            let tty = isatty(STDERR_FILENO) != 0 && !options.quiet
            let stop = StopFlag()
            // SIGINT (Ctrl-C) and SIGTERM (kill, timeout, a supervisor) both stop the run
            // cleanly: the log is closed and the summary, marked interrupted, written.
            let stopSignals = [SIGINT, SIGTERM]
            let sources = stopSignals.map { sig -> DispatchSourceSignal in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { stop.set() }
                source.resume()
                return source
            }
            // A parent may have spawned us with these blocked; Dispatch needs them delivered.
            var unblock = sigset_t()
            sigemptyset(&unblock)
            for sig in stopSignals { sigaddset(&unblock, sig) }
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            defer {
                for source in sources { source.cancel() }
                for sig in stopSignals { signal(sig, SIG_DFL) }
            }
            let summary: RunSummary
            if options.live {
                guard let live else { throw ReferenceError.usage("--live: this build has no live mode") }
                summary = try live(options, { stop.isSet })
            } else {
                var bar = ProgressBar(enabled: tty)
                summary = try run(options, shouldStop: { stop.isSet }, progress: { bar.update($0) })
                bar.clear()
            }
            if !options.quiet { print(summary.table()) }
            if let path = options.summaryJSON {
                do {
                    try summary.json().write(to: URL(fileURLWithPath: path))
                } catch {
                    throw ReferenceError(.failure, "cannot write summary \(path): \(error.localizedDescription)")
                }
            }
            return 0
        } catch let error as ReferenceError {
            printError(error.message)
            return error.code == .usage ? 2 : 1
        } catch let error as OrchLogError {
            printError(error.message)
            return 1
        } catch {
            printError("\(error)")
            return 1
        }
    }

    /// Runs the scenario the options name, writing its log, and returns the summary.
    /// - Throws: `ReferenceError` for bad options; `OrchLogError` when the log cannot be opened.
    public static func run(_ options: RunOptions, shouldStop: () -> Bool = { false },
                           progress: (RunProgress) -> Void = { _ in }) throws -> RunSummary {
        guard let scenario = Scenario.named(options.scenario) else {
            throw ReferenceError.usage("unknown scenario \(options.scenario)")
        }
        let rate = options.invocationsPerDay ?? scenario.defaultInvocationsPerDay
        let duration = options.durationSeconds ?? scenario.defaultDurationSeconds
        var setup = scenario.setup(invocationsPerDay: rate, durationSeconds: duration,
                                   faultStartSeconds: options.faultStartSeconds, faultDurationSeconds: options.faultDurationSeconds)
        if let h = options.startHour { setup.workload.startHour = h }
        if options.flatProfile { setup.workload.hourlyProfile = Array(repeating: 1, count: 24) }
        if let x = options.latencyScale { setup.world.latencyScale = x }
        for name in options.naive { _ = setup.config.components.set(name, to: false) }
        for name in options.protect { _ = setup.config.components.set(name, to: true) }
        let sourceName = options.source ?? scenario.name
        var log: EventLog?
        if !options.noLog, let out = options.out {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw ReferenceError(.failure, "cannot create \(out): \(error.localizedDescription)")
            }
            var logOptions = EventLogOptions()
            // A simulation at full speed emits far faster than a live system: a bigger buffer,
            // and zlib level 1 (about a third less CPU per event than the default 6 for
            // about 12% more bytes on disk).
            logOptions.bufferCapacity = 1 << 18
            logOptions.compressionLevel = 1
            log = try EventLog(directory: out + "/" + sourceName, options: logOptions)
        }
        let startTime = options.startTime ?? Date().timeIntervalSince1970.rounded(.down)
        let orchestrator = Orchestrator(setup: setup, seed: options.seed, log: log, epochNs: UInt64(startTime * 1e9))
        var summary = orchestrator.run(durationSeconds: duration, pacing: options.pacing, shouldStop: shouldStop, progress: progress)
        log?.close()
        if let stats = log?.stats, stats.dropped > 0 {
            printError("warning: the event log dropped \(stats.dropped) events (\(stats.lastError ?? "buffer full"))")
        }
        summary.scenario = scenario.name
        summary.source = options.noLog ? "" : sourceName
        summary.seed = options.seed
        summary.invocationsPerDay = rate
        return summary
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("reference-orchestrator: \(message)\n".utf8))
    }
}

/// A one-line progress bar on stderr (only on a TTY).
struct ProgressBar {
    let enabled: Bool
    private var shown = false

    init(enabled: Bool) {
        self.enabled = enabled
    }

    mutating func update(_ p: RunProgress) {
        guard enabled else { return }
        let fraction = p.totalSeconds > 0 ? min(1, p.simulatedSeconds / p.totalSeconds) : 1
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = "\r[\(bar)] \(Int(fraction * 100))%  sim \(RunSummary.clock(p.simulatedSeconds))  done \(p.finished)  queue \(p.queueDepth)  busy \(p.busyWorkers)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
        shown = true
    }

    mutating func clear() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
