import Foundation
import OrchPricing

/// The command line of `reference-orchestrator`, parsed.
public struct RunOptions: Sendable, Equatable {
    public var scenario: String = ""
    /// Root directory; the log goes to `out/source`.
    public var out: String?
    /// The source directory's name (default: the scenario's name).
    public var source: String?
    public var pacing: Pacing = .maxSpeed
    public var invocationsPerDay: Double?
    public var durationSeconds: Double?
    public var summaryJSON: String?
    /// `--pricing.file`: LLM prices for the summary's `llm.cost_usd` (default: deploy/pricing.yml
    /// when the working directory has it; else no prices).
    public var pricingFile: String?
    public var seed: UInt64 = 1
    /// Components switched off (`--naive`) and on (`--protect`), applied in that order.
    public var naive: [String] = []
    public var protect: [String] = []
    /// Unix time (s) of simulated time 0 (default: now).
    public var startTime: Double?
    /// Hour of the simulated day the run starts at (default: the workload's, 8).
    public var startHour: Double?
    /// Multiplies every simulated backend latency (0: instant backends).
    public var latencyScale: Double?
    /// A flat arrival rate instead of the working-hours profile.
    public var flatProfile = false
    /// Run without an event log (the uninstrumented baseline).
    public var noLog = false
    public var quiet = false
    public var listScenarios = false
    public var help = false

    // Live mode (`--live`): real threads, wall-clock time, a real state store.
    /// Run the scenario live instead of simulated.
    public var live = false
    /// `--state-store`: "redis" (default) or "postgres".
    public var stateStore = "redis"
    /// `--redis URL` (repeatable: one shard per server); empty: throwaway redis-server processes.
    public var redisURLs: [String] = []
    /// `--postgres DSN`; nil: a throwaway cluster.
    public var postgresDSN: String?
    /// `--tool-url URL`: the tools' base URL (`URL/tools/NAME`); nil: a reference-backends the run starts.
    public var toolURL: String?
    /// `--llm-url URL`: an OpenAI-compatible base URL (`URL/chat/completions`); nil: the run's reference-backends.
    public var llmURL: String?
    /// `--llm-key KEY` (repeatable): the API keys to use (default: reference-backends' key-a … key-p).
    public var llmKeys: [String] = []
    /// `--llm-model NAME`: the model asked for (and the `model` label of the LLM events); nil: the scenario's.
    public var llmModel: String?
    /// `--speed` was given as `max` (meaningless live).
    public var speedIsMax = false

    /// No scenario yet; everything else at its default.
    public init() {}

    /// Parses arguments (without the program name).
    /// - Throws: `.usage` naming the flag or value at fault.
    public static func parse(_ arguments: [String]) throws -> RunOptions {
        var o = RunOptions()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw ReferenceError.usage("\(flag) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            var arg = arguments[i]
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                inline = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            func v() throws -> String {
                if let inline { return inline }
                return try value(arg)
            }
            switch arg {
            case "--scenario": o.scenario = try v()
            case "--out": o.out = try v()
            case "--source": o.source = try v()
            case "--speed":
                let s = try v()
                if s == "max" {
                    o.pacing = .maxSpeed
                    o.speedIsMax = true
                } else if let k = Double(s), k > 0, k.isFinite {
                    o.pacing = .factor(k)
                    o.speedIsMax = false
                } else {
                    throw ReferenceError.usage("--speed \(s): give a positive factor (1 = real time) or max")
                }
            case "--invocations-per-day", "--rate":
                let s = try v()
                guard let n = Double(s.replacingOccurrences(of: "_", with: "")), n >= 0, n.isFinite, n <= 100_000_000 else {
                    throw ReferenceError.usage("\(arg) \(s): give a number of invocations per day (0...100000000)")
                }
                o.invocationsPerDay = n
            case "--duration":
                let s = try v()
                guard let d = parseDuration(s), d > 0, d <= 366 * 86_400 else {
                    throw ReferenceError.usage("--duration \(s): give simulated time such as 3600, 90m, 6h or 1d (at most 366d)")
                }
                o.durationSeconds = d
            case "--summary-json": o.summaryJSON = try v()
            case "--pricing.file": o.pricingFile = try v()
            case "--seed":
                let s = try v()
                guard let n = UInt64(s) else { throw ReferenceError.usage("--seed \(s): give an unsigned integer") }
                o.seed = n
            case "--naive", "--protect":
                let list = try v().split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                var probe = Components.none
                for name in list where !probe.set(name, to: true) {
                    throw ReferenceError.usage("\(arg) \(name): unknown component (use \((Components.names + ["all"]).joined(separator: ", ")))")
                }
                if arg == "--naive" { o.naive += list } else { o.protect += list }
            case "--start-time":
                let s = try v()
                guard let t = Double(s), t >= 0, t < 4e9 else { throw ReferenceError.usage("--start-time \(s): give Unix seconds") }
                o.startTime = t
            case "--start-hour":
                let s = try v()
                guard let h = Double(s), h >= 0, h < 24 else { throw ReferenceError.usage("--start-hour \(s): give an hour of the day, 0 to 24") }
                o.startHour = h
            case "--latency-scale":
                let s = try v()
                guard let x = Double(s), x >= 0, x <= 1_000 else { throw ReferenceError.usage("--latency-scale \(s): give a factor, 0 (instant backends) to 1000") }
                o.latencyScale = x
            case "--profile":
                let s = try v()
                switch s {
                case "flat": o.flatProfile = true
                case "working-hours": o.flatProfile = false
                default: throw ReferenceError.usage("--profile \(s): give working-hours or flat")
                }
            case "--live": o.live = true
            case "--state-store":
                let s = try v()
                guard s == "redis" || s == "postgres" else { throw ReferenceError.usage("--state-store \(s): give redis or postgres") }
                o.stateStore = s
            case "--redis": o.redisURLs.append(try v())
            case "--postgres": o.postgresDSN = try v()
            case "--llm-url":
                let u = try v()
                guard u.hasPrefix("http://") || u.hasPrefix("https://") else { throw ReferenceError.usage("--llm-url \(u): give http://HOST:PORT/v1") }
                o.llmURL = u.hasSuffix("/") ? String(u.dropLast()) : u
            case "--llm-key": o.llmKeys.append(try v())
            case "--llm-model":
                let m = try v()
                guard !m.isEmpty, !m.contains("\""), !m.contains("\\") else { throw ReferenceError.usage("--llm-model \(m): give the model's name") }
                o.llmModel = m
            case "--tool-url":
                let u = try v()
                guard u.hasPrefix("http://") || u.hasPrefix("https://") else { throw ReferenceError.usage("--tool-url \(u): give http://HOST:PORT") }
                o.toolURL = u.hasSuffix("/") ? String(u.dropLast()) : u
            case "--no-log": o.noLog = true
            case "--quiet", "-q": o.quiet = true
            case "--list-scenarios": o.listScenarios = true
            case "--help", "-h": o.help = true
            default:
                throw ReferenceError.usage("unknown argument \(arguments[i]) (see --help)")
            }
            i += 1
        }
        if o.help || o.listScenarios { return o }
        guard !o.scenario.isEmpty else { throw ReferenceError.usage("--scenario is required (see --list-scenarios)") }
        guard Scenario.named(o.scenario) != nil else {
            throw ReferenceError.usage("unknown scenario \(o.scenario) (one of: \(Scenario.all.map(\.name).joined(separator: ", ")))")
        }
        if !o.noLog && o.out == nil { throw ReferenceError.usage("--out is required (or --no-log)") }
        if o.live {
            if o.speedIsMax { throw ReferenceError.usage("--speed max: a live run is in wall-clock time; give a factor K (latencies ÷ K, arrival rates × K)") }
            if o.stateStore == "redis" && o.postgresDSN != nil { throw ReferenceError.usage("--postgres needs --state-store postgres") }
            if o.stateStore == "postgres" && !o.redisURLs.isEmpty { throw ReferenceError.usage("--redis needs --state-store redis") }
        } else {
            var liveOnly: [String] = []
            if arguments.contains(where: { $0 == "--state-store" || $0.hasPrefix("--state-store=") }) { liveOnly.append("--state-store") }
            if !o.redisURLs.isEmpty { liveOnly.append("--redis") }
            if o.postgresDSN != nil { liveOnly.append("--postgres") }
            if o.toolURL != nil { liveOnly.append("--tool-url") }
            if o.llmURL != nil { liveOnly.append("--llm-url") }
            if !o.llmKeys.isEmpty { liveOnly.append("--llm-key") }
            if o.llmModel != nil { liveOnly.append("--llm-model") }
            if let flag = liveOnly.first { throw ReferenceError.usage("\(flag) needs --live") }
        }
        if let s = o.source, s.isEmpty || s.contains("/") || s.hasPrefix(".") {
            throw ReferenceError.usage("--source \(s): give a plain directory name")
        }
        return o
    }

    /// Parses "3600", "3600s", "90m", "6h", "1d", "1.5h".
    public static func parseDuration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") { continue }
            if let n = Double(number), n.isFinite { return n * factor }
        }
        if let n = Double(text), n.isFinite { return n }
        return nil
    }

    /// The usage text.
    public static let help = """
    reference-orchestrator — a reference AI-agent orchestrator on simulated backends, instrumented with OrchLog

    USAGE
      reference-orchestrator --scenario NAME --out ROOT [options]
      reference-orchestrator --list-scenarios

    OPTIONS
      --scenario NAME             the scenario to run (see --list-scenarios)
      --out ROOT                  write the event log to ROOT/<source>/
      --source NAME               the source directory's name (default: the scenario's name)
      --speed K|max               simulated time runs K× faster than real time (1: real time; default max);
                                  live: every backend latency and timeout ÷ K, arrival rates × K (default 1)
      --invocations-per-day N     mean arrival rate (alias --rate; default: the scenario's)
      --duration D                simulated time to run: seconds, or 90m, 6h, 1d (default: the scenario's);
                                  live: wall-clock time to run (default 60s), covering D × K of traffic
      --seed S                    random seed (default 1); the same seed gives the same run
      --summary-json FILE         also write the summary as JSON to FILE
      --pricing.file FILE         LLM prices for the summary's llm.cost_usd, as orchlog-collector
                                  reads them (default: deploy/pricing.yml when it exists here)
      --naive LIST                switch components off: queue, occ, cache, breaker, limiter, all
      --protect LIST              switch components on (applied after --naive)
      --start-hour H              hour of the simulated day to start at (default 8: the working day's ramp)
      --start-time UNIX_SECONDS   wall-clock time of the simulation's start (default: now)
      --profile working-hours|flat  arrivals follow the working day (default, peak ≈ 3× the mean) or a flat rate
      --latency-scale X           multiply every simulated backend latency (0: instant backends, for benchmarks)
      --no-log                    run without writing events (the uninstrumented baseline)

    LIVE MODE
      --live                      run the scenario for real: agent tasks on real threads, wall-clock time,
                                  a real state store (the summary gains mode "live", state.store and
                                  state.lost_updates counted by the store itself)
      --state-store redis|postgres  the state store (default redis)
      --redis URL                 a Redis server (redis://HOST:PORT), one per shard, repeatable; without it
                                  throwaway redis-server processes on free loopback ports. Keys orch:rec:*
                                  on it are deleted at the start of the run
      --postgres DSN              a libpq connection string; without it a throwaway cluster (initdb as an
                                  unprivileged user, a free loopback port). Table orch_state is emptied
                                  at the start of the run
      --tool-url URL              the tools over HTTP at URL/tools/NAME (default: a reference-backends the run
                                  starts on a free loopback port; faults are scripted on its admin endpoint)
      --llm-url URL               an OpenAI-compatible API (URL/chat/completions, e.g. http://127.0.0.1:8000/v1 for
                                  vLLM or Ollama) instead of the run's reference-backends
      --llm-key KEY               an API key (Authorization: Bearer KEY), repeatable: the limiter rotates over
                                  them (default: reference-backends' key-a … key-p)
      --llm-model NAME            the model to ask for (default gpt-4o, which reference-backends serves);
                                  the model label of the LLM metrics
      --quiet, -q                 no progress bar and no summary table
      --list-scenarios            list the scenarios and exit
      --version                   version, revision, build date, Swift version, platform
      --help, -h                  show this help

    SIGINT (Ctrl-C) or SIGTERM stops the run early: the log is closed and the summary, marked
    interrupted, printed and written as usual.

    Exit status: 0 done (or stopped by SIGINT/SIGTERM), 1 the run failed (log or summary not writable), 2 usage error.
    """
}

extension RunOptions {
    /// The price table `--pricing.file` names (deploy/pricing.yml here by default; none without).
    /// - Throws: `ReferenceError` when the file is not a pricing table.
    public func pricing() throws -> PriceTable {
        let path = pricingFile ?? "deploy/pricing.yml"
        if pricingFile == nil && access(path, R_OK) != 0 { return PriceTable() }
        do { return try PriceTable.load(path: path) } catch { throw ReferenceError(.failure, error.message) }
    }
}
