import Foundation
import OrchLog
import OrchReference

/// `overhead`: the reference orchestrator (Sources/OrchReference) running in real time at
/// 1,000 invocations/s on simulated backends with zero latency (issue 4's definition: the
/// `overhead-benchmark` scenario), with the event log on and off, same seed and so the same
/// work; the figure is the extra process CPU time (getrusage: user + system, all threads, the
/// log's flusher included) as a share of the CPU time without the log.
///
/// Paired differences of process CPU are noisy on a shared machine, so the log's cost is also
/// attributed directly: the flusher thread's own CPU time (`EventLogStats.flusherCPUNs`,
/// CLOCK_THREAD_CPUTIME_ID) over the same window, as a share of the CPU without the log.
/// CPU is counted after a short warm-up.
struct OverheadBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "overhead")
        let total = config.overheadWarmupSeconds + config.overheadSeconds
        let setup = Self.setup(perSecond: config.overheadInvocationsPerSecond, seconds: total)
        var shares: [Double] = [], off: [Double] = [], on: [Double] = [], rates: [Double] = [], perInvocation: [Double] = []
        var costs: [Double] = [], bytes: [Double] = [], flusher: [Double] = [], emitted: [Double] = []
        for pair in 0..<config.overheadPairs {
            let seed = UInt64(42 + pair)
            // Alternate which goes first, so a drift in machine load does not favour one side.
            let first = try runOnce(setup, seed: seed, logged: pair % 2 == 1)
            let second = try runOnce(setup, seed: seed, logged: pair % 2 == 0)
            let (without, with) = pair % 2 == 1 ? (second, first) : (first, second)
            off.append(without.cpu)
            on.append(with.cpu)
            shares.append((with.cpu - without.cpu) / without.cpu * 100)
            rates.append(Double(with.finished) / with.seconds)
            perInvocation.append(Double(with.events) / Double(max(1, with.finished)))
            costs.append(without.cpu / Double(max(1, without.finished)) * 1e6)
            bytes.append(with.bytesPerEvent)
            flusher.append(with.flusherCPU / without.cpu * 100)
            emitted.append(Double(with.events) / with.seconds)
        }
        result.add(Figure("cpu_overhead_percent", "%", shares, target: .atMost(3), zeroAllowed: true,
                          note: "(CPU with log − CPU without) ÷ CPU without, paired runs"))
        result.add(Figure("flusher_cpu_percent", "%", flusher, zeroAllowed: true,
                          note: "the flusher thread's CPU in the window ÷ process CPU without the log (emit calls not included)"))
        result.add(Figure("events_per_second", "events/s", emitted, zeroAllowed: true, note: "emitted in the window"))
        result.add(Figure("cpu_seconds_log_off", "s", off, note: "process CPU in the measured window"))
        result.add(Figure("cpu_seconds_log_on", "s", on, note: "process CPU in the measured window, flusher included"))
        result.add(Figure("invocations_per_second", "inv/s", rates, zeroAllowed: true, note: "finished per second in the window (0 in --quick: too short)"))
        result.add(Figure("events_per_invocation", "events", perInvocation))
        result.add(Figure("bytes_per_event_on_disk", "bytes", bytes, note: "the whole run's log (default options)"))
        result.add(Figure("orchestrator_cpu_us_per_invocation", "µs", costs, note: "log off: the simulated orchestrator's own cost"))
        result.note("reference orchestrator (overhead-benchmark: production-hardened, zero-latency backends without quotas, a flat \(Int(config.overheadInvocationsPerSecond)) invocations/s), simulated time paced to wall-clock time; \(config.overheadWarmupSeconds) s warm-up, then \(config.overheadSeconds) s measured")
        return result
    }

    private struct Run {
        let cpu: Double
        let seconds: Double
        let finished: Int
        let events: UInt64
        let bytesPerEvent: Double
        let flusherCPU: Double
    }

    /// One run; CPU, finished invocations and events are counted from the end of the warm-up.
    private func runOnce(_ setup: RunSetup, seed: UInt64, logged: Bool) throws -> Run {
        let dir = try TempDirectory("overhead", under: config.baseDirectory)
        defer { dir.remove() }
        let log = logged ? try EventLog(directory: dir.sub("reference")) : nil
        let orchestrator = Orchestrator(setup: setup, seed: seed, log: log, epochNs: Clock.realtimeNs())
        let warmup = config.overheadWarmupSeconds
        var mark: (cpu: Double, wall: UInt64, finished: Int, seq: UInt64, flusher: UInt64)?
        let summary = orchestrator.run(durationSeconds: warmup + config.overheadSeconds, pacing: .factor(1), progress: { p in
            if mark == nil && p.simulatedSeconds >= warmup {
                let stats = log?.stats
                mark = (Clock.processCPUSeconds(), Clock.nowNs(), p.finished, stats?.nextSequence ?? 0, stats?.flusherCPUNs ?? 0)
            }
        })
        log?.close()
        let cpu = Clock.processCPUSeconds()
        guard let mark else { throw BenchError("the orchestrator reported no progress past the warm-up") }
        if let log, log.stats.dropped > 0 { throw BenchError("the log dropped \(log.stats.dropped) events") }
        let finished = summary.invocations.total
        var bytesPerEvent = 0.0
        if let log {
            bytesPerEvent = Double(try OrchLogDirectory.segmentBytes(log.directory)) / Double(max(1, log.stats.nextSequence - 1))
        }
        return Run(cpu: cpu - mark.cpu, seconds: Clock.seconds(since: mark.wall), finished: finished - mark.finished,
                   events: (log?.stats.nextSequence ?? 0) &- mark.seq, bytesPerEvent: bytesPerEvent,
                   flusherCPU: Double((log?.stats.flusherCPUNs ?? 0) &- mark.flusher) / 1e9)
    }

    /// The `overhead-benchmark` scenario at `perSecond` invocations/s.
    static func setup(perSecond: Double, seconds: Double) -> RunSetup {
        Scenario.named("overhead-benchmark")!.setup(invocationsPerDay: perSecond * 86_400, durationSeconds: seconds)
    }
}
