import Foundation
import OrchFlags

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
    /// `--fault-start`: seconds into the run (simulated; live: of traffic, wall × K) a fault
    /// scenario's fault begins (default: a third of the duration).
    public var faultStartSeconds: Double?
    /// `--fault-duration`: how long the fault lasts (default: a third of the duration).
    public var faultDurationSeconds: Double?
    public var summaryJSON: String?
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
    /// `--version`, `--help-markdown`: print and exit.
    public var version = false
    public var helpMarkdown = false

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
        let parsed: ParsedFlags
        do { parsed = try ParsedFlags(arguments, spec: spec) } catch { throw ReferenceError.usage(error.message) }
        if let extra = parsed.positional.first { throw ReferenceError.usage("unknown argument \(extra) (see --help)") }
        for (arg, text) in parsed.given {
            // The flag's value (ParsedFlags read it; "" for a switch).
            func v() throws -> String { text }
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
            case "--invocations-per-day":
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
            case "--fault-start", "--fault-duration":
                let s = try v()
                guard let d = parseDuration(s), d >= 0, d <= 366 * 86_400 else {
                    throw ReferenceError.usage("\(arg) \(s): give simulated time such as 600, 10m or 1h (at most 366d)")
                }
                if arg == "--fault-start" { o.faultStartSeconds = d } else { o.faultDurationSeconds = d }
            case "--summary-json": o.summaryJSON = try v()
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
            case "--quiet": o.quiet = true
            case "--list-scenarios": o.listScenarios = true
            case "--help": o.help = true
            case "--version": o.version = true
            case "--help-markdown": o.helpMarkdown = true
            default: throw ReferenceError.usage("\(arg): in the flag spec but not parsed")
            }
        }
        if o.help || o.version || o.helpMarkdown || o.listScenarios { return o }
        guard !o.scenario.isEmpty else { throw ReferenceError.usage("--scenario is required (see --list-scenarios)") }
        guard Scenario.named(o.scenario) != nil else {
            throw ReferenceError.usage("unknown scenario \(o.scenario) (one of: \(Scenario.all.map(\.name).joined(separator: ", ")))")
        }
        if !o.noLog && o.out == nil { throw ReferenceError.usage("--out is required (or --no-log)") }
        try o.checkFaultWindow()
        if o.live {
            if o.speedIsMax { throw ReferenceError.usage("--speed max: a live run is in wall-clock time; give a factor K (latencies ÷ K, arrival rates × K)") }
            if o.stateStore == "redis" && o.postgresDSN != nil { throw ReferenceError.usage("--postgres needs --state-store postgres") }
            if o.stateStore == "postgres" && !o.redisURLs.isEmpty { throw ReferenceError.usage("--redis needs --state-store redis") }
        } else {
            var liveOnly: [String] = []
            if parsed.has("--state-store") { liveOnly.append("--state-store") }
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

    /// The run's length in scenario seconds: `--duration` (live: wall seconds × K, default 60 s).
    public func scenarioSeconds(_ scenario: Scenario) -> Double {
        guard live else { return durationSeconds ?? scenario.defaultDurationSeconds }
        let speed: Double
        if case .factor(let k) = pacing { speed = k } else { speed = 1 }
        return (durationSeconds ?? 60) * speed
    }

    /// `--fault-start` and `--fault-duration` need a fault scenario, and a start inside the run.
    private func checkFaultWindow() throws {
        guard faultStartSeconds != nil || faultDurationSeconds != nil, let scenario = Scenario.named(scenario) else { return }
        let flag = faultStartSeconds != nil ? "--fault-start" : "--fault-duration"
        guard scenario.injectsFault else {
            let faulty = Scenario.all.filter(\.injectsFault).map(\.name).joined(separator: ", ")
            throw ReferenceError.usage("\(flag): scenario \(scenario.name) injects no fault (fault scenarios: \(faulty))")
        }
        let length = scenarioSeconds(scenario)
        if let start = faultStartSeconds, start >= length {
            throw ReferenceError.usage("--fault-start \(String(format: "%g", start)) s: the run lasts \(String(format: "%g", length)) s; start the fault before its end")
        }
        if let d = faultDurationSeconds, d <= 0 {
            throw ReferenceError.usage("--fault-duration 0: give a positive duration")
        }
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
    public static var help: String { spec.help }
}
