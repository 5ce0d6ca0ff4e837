import OrchCollector
import OrchMetrics

/// `render`: exposition time and size for 1,000 / 10,000 / 100,000 series (`SeriesSet`), text
/// 0.0.4 and OpenMetrics 1.0.0, without and with gzip (as the HTTP layer sends it: level 6),
/// and memory per series — of the registry alone and of a whole collector (`CollectorMemory`).
struct RenderBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "render")
        for size in config.renderSizes {
            let series = SeriesSet.seriesCount(size)
            let heapBefore = HeapStats.inUseBytes()
            let registry = try SeriesSet.build(size)
            let heapAfter = HeapStats.inUseBytes()
            guard registry.seriesCount == SeriesSet.shape(size).scalars + SeriesSet.shape(size).histograms else {
                throw BenchError("series set \(size): the registry holds \(registry.seriesCount) label sets")
            }
            let target: Figure.Target? = size == 10_000 ? .atMost(5) : size == 100_000 ? .atMost(50) : nil
            for (formatName, format) in [("text", ExpositionFormat.prometheusText), ("openmetrics", .openMetrics)] {
                var bytes = 0, gzipped = 0
                let plain = Measure.repeated(warmup: config.renderWarmup, runs: config.renderRuns) {
                    let start = Clock.nowNs()
                    var out: [UInt8] = []
                    registry.render(format: format, into: &out)
                    let ms = Double(Clock.nowNs() - start) / 1e6
                    bytes = out.count
                    return ms
                }
                let withGzip = try Measure.repeated(warmup: config.renderWarmup, runs: config.renderRuns) {
                    let start = Clock.nowNs()
                    var out: [UInt8] = []
                    registry.render(format: format, into: &out)
                    let gz = try Gzip.compress(out, level: HTTPResponse.gzipLevel)
                    let ms = Double(Clock.nowNs() - start) / 1e6
                    gzipped = gz.count
                    return ms
                }
                let tag = "\(size)_\(formatName)"
                result.add(Figure("render_\(tag)_ms", "ms", plain, target: target, note: "\(series) series"))
                result.add(Figure("render_\(tag)_gzip_ms", "ms", withGzip, note: "render + gzip level \(HTTPResponse.gzipLevel) (as the HTTP layer sends it)"))
                result.add(Figure("render_\(tag)_bytes", "bytes", [Double(bytes)]))
                result.add(Figure("render_\(tag)_gzip_bytes", "bytes", [Double(gzipped)]))
            }
            if let before = heapBefore, let after = heapAfter {
                result.add(Figure("registry_bytes_per_series_\(size)", "bytes", [Double(after - before) / Double(series)],
                                  note: "mallinfo2 growth building the set ÷ \(series) series (sample lines)"))
            }
        }
        let memory = try CollectorMemory(config: config).measure()
        result.add(Figure("collector_bytes_per_series", "bytes", [memory.bytesPerSeries],
                          note: "whole collector after ingesting a high-cardinality log: mallinfo2 growth ÷ \(memory.series) series (sample lines)"))
        result.add(Figure("collector_bytes_per_label_set", "bytes", [memory.bytesPerLabelSet],
                          note: "same growth ÷ \(memory.labelSets) label sets (a histogram's label set is one)"))
        result.note("series are counted as Prometheus counts them: every sample line (histogram buckets, _sum, _count) is one")
        return result
    }
}
