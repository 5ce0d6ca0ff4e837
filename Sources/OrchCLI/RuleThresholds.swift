import Foundation
import Glibc
import OrchCollector
import OrchYAML

/// A deployment's alert thresholds: for every alert (or alert signal) its threshold, `for:`
/// duration, severity and per-label overrides; the invocation-success SLO; the runbook base
/// URL; extra labels for every alert. `RuleRenderer` turns it into the rule file.
///
/// Read from a thresholds file (`alerts/thresholds.example.yml` lists every knob) by
/// `load(path:)`, which validates strictly and reports every problem, not just the first.
struct RuleThresholds: Sendable, Equatable {
    /// Alert severities: `critical` pages, `warning` makes a ticket, `info` is informational.
    enum Severity: String, Sendable, CaseIterable {
        case critical, warning, info
    }

    /// What a threshold measures; fixes its valid range and how errors describe it.
    enum Unit: Sendable {
        /// A share of something, 0 to 1.
        case ratio
        /// A number ≥ 0 (events, sources, seconds, per second, a multiple of a limit).
        case nonNegative(String)
        /// One of the bucket bounds of histogram `family` (a rule reads the share of
        /// observations at or below one).
        case bucketBound(family: String, bounds: [Double])
    }

    /// One alert knob set: one rule of the default file (one alert, or one signal of
    /// `OrchQueueBackpressure`). The raw value is its key path in the thresholds file.
    enum AlertKey: String, CaseIterable, Sendable {
        case stateLostUpdates = "state.lost_updates"
        case stateConflictRate = "state.conflict_rate"
        case memoryWriteTimeouts = "memory.write_timeouts"
        case memoryWriteLatency = "memory.write_latency"
        case memoryFlushFailures = "memory.flush_failures"
        case toolsCircuitOpen = "tools.circuit_open"
        case toolsTimeoutCascade = "tools.timeout_cascade"
        case toolsTimeouts = "tools.timeouts"
        case llmRateLimitSaturation = "llm.rate_limit_saturation"
        case llmConcurrencyOverLimit = "llm.concurrency_over_limit"
        case queueNearCapacity = "queue.near_capacity"
        case queueRejecting = "queue.rejecting"
        case queueGrowing = "queue.growing"
        case pipelineEventsDropped = "pipeline.events_dropped"
        case pipelineCollectorLagging = "pipeline.collector_lagging"
        case pipelineDecodeErrors = "pipeline.decode_errors"
        case pipelineEventsLost = "pipeline.events_lost"
        case agentRunaway = "agent.runaway"
        case llmSpendBudget = "llm.spend_budget"
        case llmLimiterMisconfigured = "llm.limiter_misconfigured"
        case queueBacklogAge = "queue.backlog_age"
        case latencySLO = "latency.slo"
        case pipelineSourceSilent = "pipeline.source_silent"
        case pipelineCollectorAbsent = "pipeline.collector_absent"

        /// The section of the thresholds file (`state`, `memory`, …).
        var section: String { String(rawValue.prefix { $0 != "." }) }
        /// The key inside the section.
        var key: String { String(rawValue.drop { $0 != "." }.dropFirst()) }

        /// The alert's name: a contract, never changed by a thresholds file.
        var alertName: String {
            switch self {
            case .stateLostUpdates: "OrchStateLostUpdates"
            case .stateConflictRate: "OrchStateConflictRateHigh"
            case .memoryWriteTimeouts: "OrchMemoryWriteTimeouts"
            case .memoryWriteLatency: "OrchMemoryWriteLatencyHigh"
            case .memoryFlushFailures: "OrchMemoryFlushFailures"
            case .toolsCircuitOpen: "OrchToolCircuitOpen"
            case .toolsTimeoutCascade: "OrchToolTimeoutCascade"
            case .toolsTimeouts: "OrchToolTimeoutRateHigh"
            case .llmRateLimitSaturation: "OrchLLMRateLimitSaturation"
            case .llmConcurrencyOverLimit: "OrchLLMConcurrencyOverLimit"
            case .queueNearCapacity, .queueRejecting, .queueGrowing: "OrchQueueBackpressure"
            case .pipelineEventsDropped: "OrchEventsDropped"
            case .pipelineCollectorLagging: "OrchCollectorLagging"
            case .pipelineDecodeErrors: "OrchCollectorDecodeErrors"
            case .pipelineEventsLost: "OrchCollectorEventsLost"
            case .agentRunaway: "OrchAgentRunaway"
            case .llmSpendBudget: "OrchLLMSpendBudgetBurn"
            case .llmLimiterMisconfigured: "OrchLLMLimiterMisconfigured"
            case .queueBacklogAge: "OrchQueueBacklogAge"
            case .latencySLO: "OrchInvocationLatencySLOBurn"
            case .pipelineSourceSilent: "OrchSourceSilent"
            case .pipelineCollectorAbsent: "OrchCollectorAbsent"
            }
        }

        /// The labels the alert's series keep (besides `--group-by`'s): the ones an override
        /// may match on. Every failure-mode alert keeps `source`, the service.
        var labels: [String] {
            switch self {
            case .stateLostUpdates, .stateConflictRate, .memoryWriteTimeouts, .memoryWriteLatency, .memoryFlushFailures: ["source", "shard"]
            case .toolsCircuitOpen, .toolsTimeoutCascade, .toolsTimeouts: ["source", "tool"]
            case .llmRateLimitSaturation: ["source", "provider", "model"]
            case .llmConcurrencyOverLimit: ["source", "limiter"]
            case .queueNearCapacity, .queueRejecting, .queueGrowing: ["source", "queue"]
            case .pipelineEventsDropped: ["instance", "source", "reason"]
            case .pipelineCollectorLagging, .pipelineDecodeErrors, .pipelineEventsLost: ["instance", "source"]
            case .agentRunaway, .llmSpendBudget, .latencySLO: ["source", "agent"]
            case .llmLimiterMisconfigured: ["source", "provider", "model"]
            case .queueBacklogAge: ["source", "queue"]
            case .pipelineSourceSilent: ["instance", "source"]
            case .pipelineCollectorAbsent: ["job"]
            }
        }

        var unit: Unit {
            switch self {
            case .memoryWriteTimeouts, .memoryFlushFailures, .toolsTimeoutCascade, .toolsTimeouts, .llmRateLimitSaturation,
                 .queueNearCapacity: .ratio
            case .stateLostUpdates, .pipelineEventsDropped, .pipelineDecodeErrors, .pipelineEventsLost: .nonNegative("a number of events")
            case .memoryWriteLatency, .pipelineCollectorLagging: .nonNegative("a number of seconds")
            case .stateConflictRate: .nonNegative("conflicts per invocation")
            case .toolsCircuitOpen: .nonNegative("a number of sources")
            case .llmConcurrencyOverLimit: .nonNegative("a multiple of the concurrency limit")
            case .queueRejecting: .nonNegative("rejections per second")
            case .queueGrowing: .nonNegative("items per second")
            case .agentRunaway: .nonNegative("LLM calls per invocation")
            case .llmSpendBudget: .nonNegative("USD per day")
            case .llmLimiterMisconfigured, .latencySLO: .ratio
            case .queueBacklogAge: .nonNegative("a number of seconds")
            case .pipelineSourceSilent: .nonNegative("a number of minutes")
            case .pipelineCollectorAbsent: .nonNegative("a number of minutes")
            }
        }

        /// The alert's second knob beside `threshold`, if it has one (kept in
        /// `secondValue`): its key in the thresholds file and its unit.
        var secondKnob: (name: String, unit: Unit)? {
            switch self {
            case .toolsTimeoutCascade: ("pool_busy_threshold", .ratio)
            case .llmLimiterMisconfigured: ("headroom_threshold", .ratio)
            case .latencySLO: ("bound", .bucketBound(family: "orch_invocation_duration_seconds", bounds: MetricCatalog.invocationBuckets))
            default: nil
            }
        }

        /// The defaults (docs/alerts.md says why each).
        var defaults: Knobs {
            func k(_ t: Double, _ minutes: Int64, _ s: Severity, second: Double? = nil) -> Knobs {
                Knobs(threshold: t, secondValue: second, forDuration: .minutes(minutes), severity: s, overrides: [])
            }
            switch self {
            case .stateLostUpdates: return k(0, 0, .critical)
            case .stateConflictRate: return k(0.25, 1, .warning)
            case .memoryWriteTimeouts: return k(0.05, 1, .critical)
            case .memoryWriteLatency: return k(0.5, 10, .warning)
            case .memoryFlushFailures: return k(0.1, 1, .critical)
            case .toolsCircuitOpen: return k(0, 1, .warning)
            case .toolsTimeoutCascade: return k(0.1, 5, .critical, second: 0.9)
            case .toolsTimeouts: return k(0.25, 1, .warning)
            case .llmRateLimitSaturation: return k(0.05, 1, .warning)
            case .llmConcurrencyOverLimit: return k(1, 5, .warning)
            case .queueNearCapacity: return k(0.8, 5, .warning)
            case .queueRejecting: return k(0, 5, .warning)
            case .queueGrowing: return k(0.1, 15, .warning)
            case .pipelineEventsDropped: return k(0, 0, .warning)
            case .pipelineCollectorLagging: return k(60, 5, .warning)
            case .pipelineDecodeErrors: return k(0, 0, .warning)
            case .pipelineEventsLost: return k(0, 0, .warning)
            case .agentRunaway: return k(20, 10, .warning)
            case .llmSpendBudget: return k(1000, 0, .warning)
            case .llmLimiterMisconfigured: return k(0.01, 10, .warning, second: 0.2)
            case .queueBacklogAge: return k(300, 5, .warning)
            case .latencySLO: return k(0.99, 0, .warning, second: 60)
            case .pipelineSourceSilent: return k(15, 0, .warning)
            case .pipelineCollectorAbsent: return k(5, 1, .critical)
            }
        }
    }

    /// A threshold (and `for:`, severity) for the series whose `label` is `value`.
    struct Override: Sendable, Equatable {
        var label: String
        var value: String
        var threshold: Double
        /// The second knob (`AlertKey.secondKnob`): the busiest pool's busy ratio
        /// (`tools.timeout_cascade`), the limiter's headroom (`llm.limiter_misconfigured`), the
        /// latency bound in seconds (`latency.slo`).
        var secondValue: Double?
        var forDuration: PromDuration
        var severity: Severity
    }

    /// The knobs of one alert rule.
    struct Knobs: Sendable, Equatable {
        var threshold: Double
        /// The second knob (`AlertKey.secondKnob`): the busiest pool's busy ratio
        /// (`tools.timeout_cascade`), the limiter's headroom (`llm.limiter_misconfigured`), the
        /// latency bound in seconds (`latency.slo`).
        var secondValue: Double?
        var forDuration: PromDuration
        var severity: Severity
        /// In file order; the first override matching a series wins.
        var overrides: [Override]
    }

    /// One tier of the multi-window, multi-burn-rate SLO alert.
    struct BurnTier: Sendable, Equatable {
        var forDuration: PromDuration
        var severity: Severity
    }

    /// The invocation-success SLO (per agent).
    struct SLO: Sendable, Equatable {
        /// The share of invocations that must succeed, strictly between 0 and 1.
        var target: Double
        /// Burn rates 14.4 (1h/5m) and 6 (6h/30m).
        var fastBurn: BurnTier
        /// Burn rates 3 (1d/2h) and 1 (3d/6h).
        var slowBurn: BurnTier
        /// Agents with their own target, in file order.
        var overrides: [(agent: String, target: Double)]

        static func == (a: SLO, b: SLO) -> Bool {
            a.target == b.target && a.fastBurn == b.fastBurn && a.slowBurn == b.slowBurn
                && a.overrides.map(\.agent) == b.overrides.map(\.agent) && a.overrides.map(\.target) == b.overrides.map(\.target)
        }
    }

    static let defaultRunbookBaseURL = "https://github.com/orchlog/orchlog/blob/main/docs/runbooks.md"

    /// Each alert's `runbook_url` is this, `#`, and the lowercased alert name.
    var runbookBaseURL = RuleThresholds.defaultRunbookBaseURL
    /// Labels added to every alert (never to recording rules).
    var extraLabels: [String: String] = [:]
    /// Labels a deployment adds to every series (relabelling, `external_labels`: `cluster`,
    /// `namespace`) that every rule keeps, before `source`, when it aggregates. Set by
    /// `orchlog rules --group-by`; checked by `groupByProblems`.
    var groupBy: [String] = []
    var alerts: [AlertKey: Knobs] = Dictionary(uniqueKeysWithValues: AlertKey.allCases.map { ($0, $0.defaults) })
    var slo = SLO(target: 0.99, fastBurn: BurnTier(forDuration: .minutes(2), severity: .critical),
                  slowBurn: BurnTier(forDuration: .minutes(15), severity: .warning), overrides: [])

    /// The defaults: what `alerts/orchlog.rules.yml` is rendered from.
    static let defaults = RuleThresholds()

    subscript(_ key: AlertKey) -> Knobs { alerts[key] ?? key.defaults }

    /// Labels an extra label may not be named: the rules set or keep them.
    static let reservedLabels = Set(["alertname", "severity", "signal", "anomaly", "le", "agent", "pool"]
        + AlertKey.allCases.flatMap(\.labels))

    /// Labels of orchlog's own metrics that a rule selects on or splits by: grouping by one
    /// would split a ratio's numerator from its denominator.
    static let metricLabels: Set<String> = ["outcome", "state", "key", "read_source", "type", "from", "to"]

    /// What is wrong with `labels` as `--group-by` labels beside these `extraLabels`: one
    /// message per problem (an invalid name, a label the rules set or keep, an extra label,
    /// a repeat); empty when they can be used.
    static func groupByProblems(_ labels: [String], extraLabels: [String: String]) -> [String] {
        var problems: [String] = []
        var seen = Set<String>()
        for label in labels {
            if !Reader.isLabelName(label) {
                problems.append("\(label.isEmpty ? "an empty name" : label) is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
            } else if reservedLabels.contains(label) || metricLabels.contains(label) {
                problems.append("\(label) is set, kept or selected on by the rules themselves; group by the labels your deployment adds (cluster, namespace, ...)")
            } else if extraLabels[label] != nil {
                problems.append("\(label) is also in extra_labels: a static label would overwrite the series' own value")
            } else if !seen.insert(label).inserted {
                problems.append("\(label) is given twice")
            }
        }
        return problems
    }

    // MARK: Loading

    /// One problem in a thresholds file: where, which key, what is wrong.
    struct Problem: Sendable, Equatable, CustomStringConvertible {
        var file: String
        var line: Int?
        /// The key path (`llm.rate_limit_saturation.threshold`); empty for the whole file.
        var path: String
        var message: String

        var description: String {
            var s = file
            if let line { s += ":\(line)" }
            if !path.isEmpty { s += ": \(path)" }
            return s + ": " + message
        }
    }

    /// A thresholds file with problems; `problems` lists every one found.
    struct Invalid: Error, Sendable {
        var problems: [Problem]
    }

    static let maxFileBytes = 1 << 20

    /// Reads and validates the thresholds file at `path`: JSON when the name ends in
    /// `.json`, else YAML (libyaml). An empty file means the defaults.
    /// - Throws: `Invalid` listing every problem (including an unreadable file or bad syntax).
    static func load(path: String) throws -> RuleThresholds {
        let data = try readFile(path)
        let root: Node?
        if path.lowercased().hasSuffix(".json") {
            do {
                root = Node(json: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
            } catch {
                let detail = (error as NSError).userInfo["NSDebugDescription"] as? String ?? "\(error)"
                throw Invalid(problems: [Problem(file: path, path: "", message: "invalid JSON: \(detail)")])
            }
        } else {
            do {
                root = try YAMLNode.load([UInt8](data), name: path).map(Node.init(yaml:))
            } catch let e as YAMLError {
                // The message names the file, line and column: "path: line 3 column 5: invalid YAML: …".
                let prefix = path + ": "
                var problem = Problem(file: path, path: "",
                                      message: e.message.hasPrefix(prefix) ? String(e.message.dropFirst(prefix.count)) : e.message)
                // "line 3 column 5: invalid YAML: …" → file:3: "invalid YAML (column 5): …", as every other problem.
                if let m = problem.message.firstMatch(of: #/^line (\d+) column (\d+): invalid YAML: /#) {
                    problem.line = Int(m.1)
                    problem.message = "invalid YAML (column \(m.2)): " + problem.message[m.range.upperBound...]
                } else if let m = problem.message.firstMatch(of: #/^line (\d+): /#) {
                    problem.line = Int(m.1)
                    problem.message = String(problem.message[m.range.upperBound...])
                }
                throw Invalid(problems: [problem])
            } catch {
                throw Invalid(problems: [Problem(file: path, path: "", message: "\(error)")])
            }
        }
        var reader = Reader(file: path)
        let thresholds = reader.thresholds(root)
        guard reader.problems.isEmpty else {
            // In file order; problems without a line (cross-key checks) last.
            let ordered = reader.problems.enumerated().sorted { a, b in
                (a.element.line ?? .max, a.offset) < (b.element.line ?? .max, b.offset)
            }
            throw Invalid(problems: ordered.map(\.element))
        }
        return thresholds
    }

    /// All of `path`, at most `maxFileBytes`. Throws `Invalid` naming the file and the reason.
    private static func readFile(_ path: String) throws -> Data {
        func problem(_ message: String) -> Invalid { Invalid(problems: [Problem(file: path, path: "", message: message)]) }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw problem("cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw problem("not a regular file")
        }
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw problem("cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maxFileBytes else { throw problem("larger than \(maxFileBytes) bytes") }
        }
    }
}

extension RuleThresholds {
    /// A Prometheus duration (`30s`, `5m`, `1h30m`, `0m`), kept as written.
    struct PromDuration: Sendable, Equatable {
        /// As written in the thresholds file, and as rendered into `for:`.
        let text: String
        /// Its length.
        let milliseconds: Int64

        /// `n` minutes, written `<n>m`.
        static func minutes(_ n: Int64) -> PromDuration { PromDuration(text: "\(n)m", milliseconds: n * 60_000) }

        private init(text: String, milliseconds: Int64) {
            self.text = text
            self.milliseconds = milliseconds
        }

        /// Parses Prometheus' duration syntax: units y w d h m s ms, each at most once, largest
        /// first; or `0`. Nil for anything else (including a negative duration).
        init?(_ text: String) {
            if text == "0" { self.text = text; milliseconds = 0; return }
            let units: [(String, Int64)] = [("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
                                            ("h", 3_600_000), ("ms", 1), ("m", 60_000), ("s", 1000)]
            let order = ["y", "w", "d", "h", "m", "s", "ms"]
            var total: Int64 = 0
            var lastRank = -1
            var rest = Substring(text)
            guard !rest.isEmpty else { return nil }
            while !rest.isEmpty {
                let digits = rest.prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty, let n = Int64(digits) else { return nil }
                rest = rest.dropFirst(digits.count)
                guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
                rest = rest.dropFirst(unit.count)
                let rank = order.firstIndex(of: unit) ?? 0
                guard rank > lastRank else { return nil }
                lastRank = rank
                let (product, o1) = n.multipliedReportingOverflow(by: scale)
                let (sum, o2) = total.addingReportingOverflow(product)
                guard !o1, !o2 else { return nil }
                total = sum
            }
            self.text = text
            milliseconds = total
        }

        /// In words, for annotations: "5 minutes", "1 hour", "90 seconds".
        var spoken: String {
            let ms = milliseconds
            func plural(_ n: Int64, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s")" }
            if ms % 86_400_000 == 0 { return plural(ms / 86_400_000, "day") }
            if ms % 3_600_000 == 0 { return plural(ms / 3_600_000, "hour") }
            if ms % 60_000 == 0 { return plural(ms / 60_000, "minute") }
            if ms % 1000 == 0 { return plural(ms / 1000, "second") }
            return plural(ms, "millisecond")
        }
    }
}
