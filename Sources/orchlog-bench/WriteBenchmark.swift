import Foundation
import OrchLog

/// `write`: writer throughput (events/s from first emit to `close()` returning: encode,
/// compress, write, sync) and bytes per event on disk for the `generate` mix, per fsync
/// policy, against the issue's limit: Debian's zlib alone compressing the same raw blocks at
/// the same level; and, as a stricter goal, against the writer's own compressor (libdeflate,
/// about twice zlib's speed) alone on the same blocks.
struct WriteBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "write")
        let n = config.writeEvents
        let corpus = EventCorpus(count: n)
        let dir = try TempDirectory("write", under: config.baseDirectory)
        defer { dir.remove() }
        let level = EventLogOptions().compressionLevel
        let codec = try LibdeflateCodec(level: level)
        let zlib = try ZlibCodec(level: level)

        // The raw blocks the writer compresses, from one untimed run.
        let reference = dir.sub("reference")
        _ = try writeOnce(corpus, reference, .never)
        let frames = try LogFrames(source: reference)
        guard frames.events == n else { throw BenchError("\(reference): \(frames.events) events on disk, expected \(n)") }
        let blocks = try frames.rawBlocks(codec)
        let rawBytes = blocks.reduce(0) { $0 + $1.count }

        let policies: [(String, EventLogOptions.FsyncPolicy, Bool)] = [
            ("never", .never, true), ("interval", .interval(seconds: 1), true), ("always", .always, false),
        ]
        var limitRates: [Double] = [], zlibRates: [Double] = [], limitCPU: [Double] = []
        var flusherCPU: [Double] = [], cpuRatios: [Double] = []
        var limitBytes = 0, zlibBytes = 0
        for (name, policy, targeted) in policies {
            var rates: [Double] = [], ratios: [Double] = [], zlibRatios: [Double] = [], bytes: [Double] = []
            for run in 0..<(config.writeWarmup + config.writeRuns) {
                let source = dir.sub("\(name)-\(run)")
                let (rate, onDisk, flusherNs) = try writeOnce(corpus, source, policy)
                try? FileManager.default.removeItem(atPath: source)
                // The compressors alone right after, so each ratio compares runs made seconds apart.
                let (limitRate, compressed, limitNs) = try compressOnce(codec, blocks, events: n)
                let (zlibRate, zlibCompressed, _) = try compressOnce(zlib, blocks, events: n)
                guard run >= config.writeWarmup else { continue }
                if name == "never" {
                    flusherCPU.append(Double(flusherNs) / Double(n))
                    limitCPU.append(Double(limitNs) / Double(n))
                    cpuRatios.append(Double(limitNs) / Double(flusherNs))
                }
                rates.append(rate)
                bytes.append(Double(onDisk) / Double(n))
                ratios.append(rate / limitRate)
                zlibRatios.append(rate / zlibRate)
                limitRates.append(limitRate)
                zlibRates.append(zlibRate)
                limitBytes = compressed
                zlibBytes = zlibCompressed
            }
            result.add(Figure("events_per_second_fsync_\(name)", "events/s", rates, target: targeted ? .atLeast(2_000_000) : nil,
                              note: name == "interval" ? "the default policy" : nil))
            result.add(Figure("ratio_to_compressor_alone_fsync_\(name)", "ratio", ratios, goal: targeted ? .atLeast(0.70) : nil,
                              note: "writer events/s ÷ libdeflate-alone events/s (the compressor it uses, twice zlib's speed), paired runs"))
            result.add(Figure("ratio_to_zlib_alone_fsync_\(name)", "ratio", zlibRatios, target: targeted ? .atLeast(0.70) : nil,
                              note: "writer events/s ÷ Debian zlib-alone events/s at the same level (the issue's limit), paired runs"))
            result.add(Figure("bytes_per_event_on_disk_fsync_\(name)", "bytes", bytes, target: .atMost(8),
                              note: "segment files incl. headers"))
        }
        result.add(Figure("flusher_cpu_ns_per_event_fsync_never", "ns", flusherCPU,
                          note: "the writer's flusher thread CPU (CLOCK_THREAD_CPUTIME_ID) ÷ events: encode, compress, write"))
        result.add(Figure("compressor_alone_cpu_ns_per_event", "ns", limitCPU, note: "libdeflate alone, thread CPU ÷ events, same blocks"))
        result.add(Figure("cpu_ratio_compressor_to_flusher_fsync_never", "ratio", cpuRatios,
                          note: "compressor-alone CPU ÷ flusher CPU per event, paired runs: the writer's own work on top of compression, free of the producer thread and of scheduling"))
        result.add(Figure("compressor_alone_events_per_second", "events/s", limitRates,
                          note: "libdeflate level \(level) of the writer's \(blocks.count) raw blocks (\(rawBytes) bytes), one zlib stream per block"))
        result.add(Figure("compressor_alone_bytes_per_event", "bytes", [Double(limitBytes) / Double(n)], note: "compressed payload only"))
        result.add(Figure("zlib_alone_events_per_second", "events/s", zlibRates, note: "Debian zlib, deflate level \(level), same blocks"))
        result.add(Figure("zlib_alone_bytes_per_event", "bytes", [Double(zlibBytes) / Double(n)], note: "compressed payload only"))
        result.add(Figure("raw_bytes_per_event", "bytes", [Double(rawBytes) / Double(n)], note: "encoded block before zlib"))

        // Timestamps are nanoseconds, and the deltas between them carry the arrival process' noise.
        // The same events, written in bulk (full blocks), stamped exactly 1 µs apart (no noise),
        // and as Poisson arrivals at 2,000 events/s (what a real source's timestamps cost).
        for (name, stamps, note) in [
            ("constant_timestamps", LogFiller.Stamps.constant(ns: 1_000), "stamped exactly 1 µs apart: everything but timestamp noise"),
            ("poisson_2000_per_second", .poisson(meanNs: 500_000), "stamped as Poisson arrivals at 2,000 events/s, still in full 64 KiB blocks"),
        ] {
            let source = dir.sub(name)
            _ = try writeOnce(corpus, source, .never, stamps: stamps)
            result.add(Figure("bytes_per_event_on_disk_\(name)", "bytes", [Double(try OrchLogDirectory.segmentBytes(source)) / Double(n)], note: note))
        }

        // What other levels would give on the same blocks (where the limit moves with the level).
        for other in config.writeLevelSweep where other != level {
            let sweep = try LibdeflateCodec(level: other)
            var rates: [Double] = []
            var compressed = 0
            for _ in 0..<config.writeLevelRuns {
                let (rate, bytes, _) = try compressOnce(sweep, blocks, events: n)
                rates.append(rate)
                compressed = bytes
            }
            result.add(Figure("level_\(other)_events_per_second", "events/s", rates, note: "libdeflate alone, same blocks"))
            result.add(Figure("level_\(other)_bytes_per_event", "bytes", [Double(compressed) / Double(n)], note: "compressed payload only"))
        }
        result.note("\(n) events of the generate mix per run, default writer options except fsync; the producer waits while the buffer is > 3/4 full (no drops)")
        return result
    }

    /// Writes the corpus to a fresh source; returns events/s (first emit → close returned),
    /// bytes on disk and the flusher thread's CPU nanoseconds.
    private func writeOnce(_ corpus: EventCorpus, _ source: String, _ policy: EventLogOptions.FsyncPolicy, stamps: LogFiller.Stamps = .clock) throws -> (Double, Int64, UInt64) {
        var options = EventLogOptions()
        options.fsync = policy
        let log = try EventLog(directory: source, options: options)
        try corpus.prepare(log)
        let start = Clock.nowNs()
        LogFiller.fill(log, corpus.events, stamps: stamps)
        log.close()
        let seconds = Clock.seconds(since: start)
        let stats = log.stats
        guard stats.dropped == 0 else { throw BenchError("\(source): the writer dropped \(stats.dropped) events (\(stats.lastError ?? "buffer full"))") }
        return (Double(corpus.events.count) / seconds, try OrchLogDirectory.segmentBytes(source), stats.flusherCPUNs)
    }

    /// Compresses every block with `codec` alone; returns events/s, compressed bytes and
    /// the thread CPU nanoseconds it took.
    private func compressOnce(_ codec: any BlockCodec, _ blocks: [[UInt8]], events: Int) throws -> (Double, Int, UInt64) {
        var out: [UInt8] = []
        var total = 0
        let start = Clock.nowNs()
        let cpuStart = Clock.threadCPUNs()
        for b in blocks {
            total += try b.withUnsafeBytes { try codec.deflate($0, into: &out) }
        }
        let cpu = Clock.threadCPUNs() &- cpuStart
        return (Double(events) / Clock.seconds(since: start), total, cpu)
    }
}
