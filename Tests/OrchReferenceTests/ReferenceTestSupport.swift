import Foundation
import OrchLog
@testable import OrchReference
import OrchTestSupport
import Testing

/// Unix time (s) of simulated time 0 in every test run, so fault windows map to timestamps.
let testEpochSeconds = 1_700_000_000.0
let testEpochNs = UInt64(testEpochSeconds * 1e9)

/// Runs a named scenario in-process, its log in `dir/<scenario>`.
func runScenario(_ name: String, duration: Double, rate: Double? = nil, startHour: Double? = nil, seed: UInt64 = 1,
                 naive: [String] = [], protect: [String] = [], in dir: TempDir) throws -> RunSummary {
    var o = RunOptions()
    o.scenario = name
    o.out = dir.path
    o.durationSeconds = duration
    o.invocationsPerDay = rate
    o.startHour = startHour
    o.seed = seed
    o.naive = naive
    o.protect = protect
    o.startTime = testEpochSeconds
    return try ReferenceCLI.run(o)
}

/// Runs a custom setup with its log in `dir/<source>`.
func runSetup(_ setup: RunSetup, duration: Double, seed: UInt64 = 1, source: String = "custom", in dir: TempDir) throws -> RunSummary {
    var options = EventLogOptions()
    options.bufferCapacity = 1 << 16
    let log = try EventLog(directory: dir.sub(source), options: options)
    let orchestrator = Orchestrator(setup: setup, seed: seed, log: log, epochNs: testEpochNs)
    let summary = orchestrator.run(durationSeconds: duration)
    log.close()
    return summary
}

/// What a source directory's log says, counted as the collector counts, plus lost updates and
/// stale reads detected from versions alone (full per-key commit history, so this is the
/// exact rule: a committed write whose base is older than the newest committed version; a
/// read returning a version older than one committed before the read started).
struct LogAudit {
    struct Sample { let t: Double; let a: UInt64; let b: UInt64; let c: UInt64 }
    struct Transition { let t: Double; let tool: String; let from: BreakerState; let to: BreakerState }
    struct Write { let t: Double; let key: String; let outcome: WriteOutcome }
    struct Rejection { let t: Double; let reason: String; let retryAfterNs: UInt64 }

    var events = 0
    var byType: [EventType: Int] = [:]
    var invocations: [InvocationOutcome: Int] = [:]
    var started = 0
    var reads = 0, readsFromCache = 0
    var writes: [WriteOutcome: Int] = [:]
    var writeLog: [Write] = []
    var flushes: [FlushOutcome: Int] = [:]
    var tools: [ToolOutcome: Int] = [:]
    var fallbacks = 0
    var llm: [LLMOutcome: Int] = [:]
    var llmTimes: [(t: Double, outcome: LLMOutcome)] = []
    var tokensInput: UInt64 = 0, tokensOutput: UInt64 = 0
    var rejections: [Rejection] = []
    /// (t, depth, capacity).
    var queueSamples: [Sample] = []
    /// (t, inflight, concurrency limit, waiting).
    var limiterSamples: [Sample] = []
    /// (t, busy, size).
    var poolSamples: [Sample] = []
    var transitions: [Transition] = []
    var keyRotations = 0
    var lostUpdates = 0, staleReads = 0
    /// The same, by the collector's bounded rule (per key only the newest two commits).
    var lostUpdatesTwoVersion = 0, staleReadsTwoVersion = 0
    var dropped: UInt64 = 0
    var problems: [LogProblem] = []
    /// Sequence numbers in order, no gaps.
    var sequenceIsContiguous = true

    /// Simulated seconds of an event timestamp.
    static func sim(_ ts: UInt64) -> Double { Double(Int64(bitPattern: ts &- testEpochNs)) / 1e9 }

    init(source path: String) throws {
        let reader = SourceReader(source: SourceDirectory(name: LogDirectory.baseName(path), path: path))
        var found: [LogProblem] = []
        reader.onProblem = { found.append($0) }
        // Per key: commits (time, version) in log order, and the newest committed version.
        var commits: [String: [(at: UInt64, version: UInt64)]] = [:]
        var newest: [String: UInt64] = [:]
        var twoVersions: [String: (version: UInt64, at: UInt64, previous: UInt64, previousAt: UInt64)] = [:]
        var lastSeq: UInt64 = 0
        try reader.pollBlocks { block in
            let s = block.strings
            func str(_ id: UInt32) -> String { Int(id) < s.count ? s[Int(id)] : "" }
            for e in block.events {
                events += 1
                if lastSeq != 0 && e.seq != lastSeq + 1 { sequenceIsContiguous = false }
                lastSeq = e.seq
                byType[e.type, default: 0] += 1
                let t = LogAudit.sim(e.timestamp)
                switch Event(raw: e) {
                case nil:
                    Issue.record("event \(e.seq) carries an enumeration code this build does not know")
                case .invocationStarted:
                    started += 1
                case let .invocationFinished(_, outcome, _, _, _, _):
                    invocations[outcome, default: 0] += 1
                case let .queueSample(_, depth, capacity, oldestAge, _):
                    queueSamples.append(Sample(t: t, a: depth, b: capacity, c: oldestAge))
                case let .queueRejection(_, reason, retryAfter):
                    rejections.append(Rejection(t: t, reason: str(reason.id), retryAfterNs: retryAfter))
                case let .workerPoolSample(_, busy, size):
                    poolSamples.append(Sample(t: t, a: busy, b: size, c: 0))
                case let .stateRead(shard, key, version, source, latency, _):
                    reads += 1
                    if source == .cache { readsFromCache += 1 }
                    let k = str(shard.id) + "|" + str(key.id)
                    let start = e.timestamp &- latency
                    if let history = commits[k], let before = history.last(where: { $0.at < start }), before.version > version {
                        staleReads += 1
                    }
                    if let tv = twoVersions[k],
                       (tv.version > version && tv.at < start) || (tv.previous > version && tv.previousAt != 0 && tv.previousAt < start) {
                        staleReadsTwoVersion += 1
                    }
                case let .stateWrite(shard, key, base, new, outcome, _, _, _):
                    writes[outcome, default: 0] += 1
                    writeLog.append(Write(t: t, key: str(key.id), outcome: outcome))
                    guard outcome == .committed else { break }
                    let k = str(shard.id) + "|" + str(key.id)
                    if let n = newest[k], base < n { lostUpdates += 1 }
                    if let tv = twoVersions[k] {
                        if base < tv.version { lostUpdatesTwoVersion += 1 }
                        if new >= tv.version { twoVersions[k] = (new, e.timestamp, tv.version, tv.at) }
                    } else {
                        twoVersions[k] = (new, e.timestamp, base, 0)
                    }
                    if new >= newest[k, default: 0] {
                        newest[k] = new
                        commits[k, default: []].append((e.timestamp, new))
                    }
                case let .memoryFlush(_, _, _, outcome):
                    flushes[outcome, default: 0] += 1
                case let .toolCall(_, outcome, _, fallback, _, _):
                    tools[outcome, default: 0] += 1
                    if fallback { fallbacks += 1 }
                case let .breakerTransition(tool, from, to):
                    transitions.append(Transition(t: t, tool: str(tool.id), from: from, to: to))
                case let .llmRequest(_, _, _, outcome, input, output, _, _, _, _, _, _, _, _, _, _, _):
                    llm[outcome, default: 0] += 1
                    llmTimes.append((t, outcome))
                    tokensInput += input
                    tokensOutput += output
                case let .rateLimiterSample(_, _, _, waiting, inflight, limit):
                    limiterSamples.append(Sample(t: t, a: inflight, b: limit, c: waiting))
                case .keyRotation:
                    keyRotations += 1
                case let .eventsDropped(count, _):
                    dropped += count
                case .llmProviderLimits:
                    break
                }
            }
        }
        problems = found
    }

    func count(_ o: InvocationOutcome) -> Int { invocations[o, default: 0] }
    func count(_ o: WriteOutcome) -> Int { writes[o, default: 0] }
    func count(_ o: ToolOutcome) -> Int { tools[o, default: 0] }
    func count(_ o: LLMOutcome) -> Int { llm[o, default: 0] }
    func count(_ o: FlushOutcome) -> Int { flushes[o, default: 0] }
    func count(_ t: EventType) -> Int { byType[t, default: 0] }
}
