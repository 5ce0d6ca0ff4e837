import Glibc
import OrchCollector
import OrchLog

/// Collector memory per tracked invocation (issue 19): the per-invocation tracker holds every
/// invocation between its `invocation_started` and its `invocation_finished`. Two logs share
/// a warm-up (finished invocations of three agents with LLM and tool calls, so every series
/// exists); one of them then opens `invocationMemoryOpen` invocations that never finish, each
/// with a trace id and one LLM request. A collector ingests each log in this process; the
/// difference of their heap growth (mallinfo2), divided by the invocations the second one
/// still tracks, is the cost of one open invocation. The same difference of the resident set
/// `orchlog-collector --once` reports for itself on each log (`process_resident_memory_bytes`,
/// read when it renders, the tracker still full) is what the process a deployment runs pays.
/// (Not the child's `ru_maxrss`: a `posix_spawn`ed child inherits this process's high-water
/// mark at exec, which is larger than either collector's.)
struct InvocationMemoryBenchmark {
    let config: BenchConfig

    /// Finished invocations in the warm-up of both logs.
    static let warmup = 2_000

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "invocation-memory")
        let open = config.invocationMemoryOpen
        var heap: [Double] = [], rss: [Double] = []
        var tracked = 0
        let binary = try ChildProcess.sibling("orchlog-collector")
        for _ in 0..<max(1, config.invocationMemoryRuns) {
            let dir = try TempDirectory("invocation-memory", under: config.baseDirectory)
            defer { dir.remove() }
            try writeLog(dir.sub("warm/bench"), open: 0)
            try writeLog(dir.sub("open/bench"), open: open)
            let base = try ingest(dir.sub("warm"), capacity: 2 * open + 2)
            let full = try ingest(dir.sub("open"), capacity: 2 * open + 2)
            tracked = open - full.untracked
            guard tracked > 0, base.untracked == 0 else { throw BenchError("the tracker dropped invocations: \(full.untracked) of \(open)") }
            heap.append(Double(full.heap - base.heap) / Double(tracked))
            let warm = try residentBytes(binary, dir, "warm", capacity: 2 * open + 2)
            let opened = try residentBytes(binary, dir, "open", capacity: 2 * open + 2)
            rss.append((opened - warm) / Double(tracked))
        }
        result.add(Figure("bytes_per_tracked_invocation", "bytes", heap,
                          note: "heap (mallinfo2) growth with \(open) open invocations − without, ÷ \(tracked) tracked"))
        result.add(Figure("rss_bytes_per_tracked_invocation", "bytes", rss, zeroAllowed: true,
                          note: "orchlog-collector --once's own process_resident_memory_bytes on the log with them − without, ÷ \(tracked)"))
        let median = heap.sorted()[heap.count / 2]
        result.add(Figure("heap_mb_at_default_bound", "MB", [median * Double(CollectorOptions().trackedInvocations) / 1e6],
                          note: "bytes_per_tracked_invocation × --invocations.tracked's default (\(CollectorOptions().trackedInvocations)) open at once"))
        return result
    }

    private struct Growth {
        let heap: Int, untracked: Int
    }

    /// Ingests `root` with a fresh collector (tracker bound `capacity`): what it grew by.
    private func ingest(_ root: String, capacity: Int) throws -> Growth {
        var options = CollectorOptions()
        options.logDirs = [root]
        options.once = true
        options.trackedInvocations = capacity
        let collector = try Collector(options: options)
        HeapStats.settle()
        guard let heapBefore = HeapStats.inUseBytes() else { throw BenchError("mallinfo2 is not callable on this architecture") }
        collector.ingestAll()
        guard let heapAfter = HeapStats.inUseBytes() else { throw BenchError("mallinfo2 is not callable on this architecture") }
        let text = String(decoding: collector.render(format: .prometheusText), as: UTF8.self)
        var untracked = 0.0
        for line in text.split(separator: "\n") where line.hasPrefix("orchlog_collector_invocations_untracked_total") {
            untracked += Double(line.split(separator: " ").last ?? "") ?? 0
        }
        withExtendedLifetime(collector) {}
        return Growth(heap: heapAfter - heapBefore, untracked: Int(untracked))
    }

    /// `process_resident_memory_bytes` of `orchlog-collector --once` on `dir/name`.
    private func residentBytes(_ binary: String, _ dir: TempDirectory, _ name: String, capacity: Int) throws -> Double {
        let out = dir.sub(name + ".prom")
        _ = try ChildProcess.spawn(binary, ["--log.dir", dir.sub(name), "--invocations.tracked", String(capacity), "--once"], stdout: out).wait()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("process_resident_memory_bytes ") }),
              let value = Double(line.split(separator: " ").last ?? "") else {
            throw BenchError("orchlog-collector --once printed no process_resident_memory_bytes")
        }
        return value
    }


    private func writeLog(_ source: String, open: Int) throws {
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: source, options: options)
        let agents = ["support", "billing", "research"].map { log.label($0) }
        let provider = log.label("openai"), model = log.label("gpt-4o"), key = log.label("key-a"), tool = log.label("crm")
        var events: [Event] = []
        events.reserveCapacity(Self.warmup * 4 + open * 2)
        var id: UInt64 = 0
        for i in 0..<Self.warmup {
            id += 1
            let agent = agents[i % agents.count]
            events.append(.invocationStarted(agent: agent, invocationID: id))
            events.append(.llmRequest(provider: provider, model: model, key: key, outcome: .success, inputTokens: 900, outputTokens: 80,
                                      latencyNs: 900_000_000, rateLimitWaitNs: 0, invocationID: id, agent: agent))
            events.append(.toolCall(tool: tool, outcome: .success, latencyNs: 120_000_000, fallbackUsed: false, invocationID: id, agent: agent))
            events.append(.invocationFinished(agent: agent, outcome: .success, durationNs: 4_000_000_000, queueWaitNs: 0, invocationID: id))
        }
        for i in 0..<open {
            id += 1
            let agent = agents[i % agents.count]
            events.append(.invocationStarted(agent: agent, invocationID: id, traceID: TraceID(hi: 0x4bf9_2f35_77b3_4da6, lo: id)))
            events.append(.llmRequest(provider: provider, model: model, key: key, outcome: .success, inputTokens: 900, outputTokens: 80,
                                      latencyNs: 900_000_000, rateLimitWaitNs: 0, invocationID: id, agent: agent))
        }
        LogFiller.fill(log, events)
        log.close()
        guard log.stats.dropped == 0 else { throw BenchError("\(source): the writer dropped \(log.stats.dropped) events") }
    }
}

private extension String {
    /// The string with leading zeros up to `width` characters.
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
