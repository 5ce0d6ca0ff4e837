import Foundation
import OrchReference

/// `live-overhead`: the reference orchestrator's **live** mode (`--live`: agent tasks on real
/// threads, state in a real redis-server, LLM and tools over HTTP to reference-backends) on
/// the `overhead-benchmark` scenario — production-hardened, instant backends without quotas —
/// in wall-clock time.
///
/// Two figures, measured apart because they need opposite conditions:
/// - **throughput**: one logged run at a time, offered `liveOfferedPerSecond` (more than it
///   can take), finished invocations per second of the run's wall time;
/// - **instrumentation CPU**: pairs of runs side by side, one with the log and one with
///   `--no-log`, each offered `livePairedPerSecond` (well under capacity, so both do the same
///   work); the orchestrator process's CPU (wait4: user + system, all its threads) per
///   finished invocation, log on against log off.
///
/// The benchmark starts each run's redis-server and reference-backends itself and passes
/// them with `--redis`, `--tool-url` and `--llm-url`: the orchestrator then has no child
/// processes, so its wait4 CPU is its own and not the servers'.
struct LiveOverheadBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "live-overhead")
        let binary = try ChildProcess.sibling("reference-orchestrator")
        let backends = try ChildProcess.sibling("reference-backends")
        let dir = try TempDirectory("live-overhead", under: config.baseDirectory)
        defer { dir.remove() }

        var rates: [Double] = [], success: [Double] = [], soloCPU: [Double] = []
        for run in 0..<config.liveThroughputRuns {
            let world = try LiveBenchWorld(backends: backends, dir: dir.sub("solo-\(run)"))
            defer { world.stop() }
            let summaryPath = dir.sub("solo-\(run).json")
            let child = try ChildProcess.spawn(binary, common(seed: 42 + run, perSecond: config.liveOfferedPerSecond) + world.arguments
                + ["--out", dir.sub("solo-\(run)/log"), "--summary-json", summaryPath])
            let cpu = try child.wait()
            let s = try RunSummary.decode(Data(contentsOf: URL(fileURLWithPath: summaryPath)))
            rates.append(Double(s.invocations.success) / max(1e-9, s.wallSeconds))
            success.append(s.successRate * 100)
            soloCPU.append(cpu / Double(max(1, s.invocations.total)) * 1e3)
        }

        var shares: [Double] = [], on: [Double] = [], off: [Double] = []
        for pair in 0..<config.livePairs {
            let worlds = try (0..<2).map { try LiveBenchWorld(backends: backends, dir: dir.sub("pair-\(pair)-\($0)")) }
            defer { for w in worlds { w.stop() } }
            let args = common(seed: 100 + pair, perSecond: config.livePairedPerSecond)
            let onPath = dir.sub("pair-\(pair)-on.json"), offPath = dir.sub("pair-\(pair)-off.json")
            let logged = try ChildProcess.spawn(binary, args + worlds[0].arguments + ["--out", dir.sub("pair-\(pair)-0/log"), "--summary-json", onPath])
            let bare = try ChildProcess.spawn(binary, args + worlds[1].arguments + ["--no-log", "--summary-json", offPath])
            let cpuOn = try logged.wait()
            let cpuOff = try bare.wait()
            let sOn = try RunSummary.decode(Data(contentsOf: URL(fileURLWithPath: onPath)))
            let sOff = try RunSummary.decode(Data(contentsOf: URL(fileURLWithPath: offPath)))
            let perOn = cpuOn / Double(max(1, sOn.invocations.total)) * 1e3
            let perOff = cpuOff / Double(max(1, sOff.invocations.total)) * 1e3
            on.append(perOn)
            off.append(perOff)
            shares.append((perOn - perOff) / perOff * 100)
        }
        result.add(Figure("invocations_per_second", "inv/s", rates, target: .atLeast(300),
                          note: "successful invocations per wall second, one logged run at a time, offered \(Int(config.liveOfferedPerSecond))/s"))
        result.add(Figure("success_percent", "%", success, note: "of the throughput runs (the rest: OCC conflicts on hot accounts, queue rejections)"))
        result.add(Figure("orchestrator_cpu_ms_per_invocation_saturated", "ms", soloCPU, note: "orchestrator process CPU per finished invocation in the throughput runs"))
        result.add(Figure("cpu_overhead_percent", "%", shares, target: .atMost(3), zeroAllowed: true,
                          note: "(CPU per invocation with log − without) ÷ without; each pair two processes side by side, offered \(Int(config.livePairedPerSecond))/s each"))
        result.add(Figure("orchestrator_cpu_ms_per_invocation_log_on", "ms", on))
        result.add(Figure("orchestrator_cpu_ms_per_invocation_log_off", "ms", off))
        result.note("reference-orchestrator --live --scenario overhead-benchmark --speed 1 (wall-clock), one redis-server (all shards) and one reference-backends (instant, no quotas) per run, started by the benchmark; \(config.liveThroughputRuns) throughput run(s) of \(Int(config.liveSeconds)) s, \(config.livePairs) pair(s) of \(Int(config.liveSeconds)) s")
        return result
    }

    private func common(seed: Int, perSecond: Double) -> [String] {
        ["--scenario", "overhead-benchmark", "--live", "--speed", "1", "--duration", String(config.liveSeconds),
         "--invocations-per-day", String(Int(perSecond * 86_400)), "--seed", String(seed), "-q"]
    }
}
