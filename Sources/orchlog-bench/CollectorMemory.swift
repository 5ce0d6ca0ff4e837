import Glibc
import OrchCollector
import OrchLog

/// Memory a collector holds per series: ingest a log whose events carry `values` distinct
/// tools, agents, queues, shards, models, keys and limiters (each value opening its families'
/// series: counters by outcome, histograms, gauges), and divide the heap growth of the whole
/// collector (registry, aggregation bundles, interned strings, reader buffers) by the series.
struct CollectorMemory {
    let config: BenchConfig

    struct Result {
        let bytesPerSeries: Double
        let bytesPerLabelSet: Double
        let series: Int
        let labelSets: Int
    }

    func measure() throws -> Result {
        let dir = try TempDirectory("collector-memory", under: config.baseDirectory)
        defer { dir.remove() }
        let root = dir.sub("logs")
        try writeLog(root + "/bench", values: config.collectorMemoryValues)

        var options = CollectorOptions()
        options.logDirs = [root]
        options.once = true
        options.seriesLimit = 10_000_000
        let collector = try Collector(options: options)
        HeapStats.settle()
        guard let before = HeapStats.inUseBytes() else { throw BenchError("mallinfo2 is not callable on this architecture") }
        collector.ingestAll()
        guard let after = HeapStats.inUseBytes() else { throw BenchError("mallinfo2 is not callable on this architecture") }

        let text = String(decoding: collector.render(format: .prometheusText), as: UTF8.self)
        var series = 0
        var labelSets = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            series += 1
            if line.hasPrefix("orchlog_collector_series ") { labelSets = Int(Double(line.split(separator: " ").last ?? "") ?? 0) }
        }
        guard series > 0, labelSets > 0 else { throw BenchError("the collector rendered no series") }
        let grown = Double(max(0, after - before))
        return Result(bytesPerSeries: grown / Double(series), bytesPerLabelSet: grown / Double(labelSets), series: series, labelSets: labelSets)
    }


    private func writeLog(_ source: String, values: Int) throws {
        var options = EventLogOptions()
        options.fsync = .never
        let log = try EventLog(directory: source, options: options)
        let provider = log.label("openai"), key = log.label("account:1")
        var events: [Event] = []
        for i in 0..<values {
            let tool = log.label("tool-\(i)"), agent = log.label("agent-\(i)"), queue = log.label("queue-\(i)")
            let shard = log.label("shard-\(i)"), model = log.label("model-\(i)"), apiKey = log.label("key-\(i)")
            let limiter = log.label("limiter-\(i)")
            events.append(.toolCall(tool: tool, outcome: .success, latencyNs: 120_000_000, fallbackUsed: false))
            events.append(.invocationFinished(agent: agent, outcome: .success, durationNs: 4_000_000_000, queueWaitNs: 30_000_000, invocationID: UInt64(i), queue: queue))
            events.append(.stateWrite(shard: shard, key: key, baseVersion: UInt64(i), newVersion: UInt64(i + 1), outcome: .committed, latencyNs: 4_000_000, attempt: 1))
            events.append(.llmRequest(provider: provider, model: model, key: apiKey, outcome: .success, inputTokens: 500, outputTokens: 200, latencyNs: 900_000_000, rateLimitWaitNs: 0))
            events.append(.rateLimiterSample(limiter: limiter, available: 10, capacity: 60, waiting: 1, inflight: 5, concurrencyLimit: 20))
        }
        LogFiller.fill(log, events)
        log.close()
        guard log.stats.dropped == 0 else { throw BenchError("\(source): the writer dropped \(log.stats.dropped) events") }
    }
}
