import Foundation

/// The status page's side of the collector: sampling into `StatusHistory` and the report.
extension Collector {
    /// Takes a status sample when `--status.sample-interval` has passed since the last one
    /// (called by the ingest loop after every pass).
    func sampleStatusIfDue(now: Double = Date().timeIntervalSince1970) {
        let due = locked { now - $0.lastStatusSample >= options.statusSampleInterval }
        if due { sampleStatus(now: now) }
    }

    /// Samples every source into the status history. The first call is the baseline: the
    /// counters the checkpoint restored (or none); sources first seen later start from zero
    /// at the previous sample.
    func sampleStatus(now: Double = Date().timeIntervalSince1970) {
        locked { s in
            let samples = StatusSample.read(s.registry, s.catalog, at: now)
            let names = Set(s.readers.values.map(\.aggregation.name)).union(samples.keys)
            s.statusHistory.record(samples, sources: Array(names), at: now,
                                   newSourcesSince: s.lastStatusSample > 0 ? s.lastStatusSample : nil)
            s.lastStatusSample = now
        }
    }

    /// The status report: every sampled source's indicators, from its history and a sample
    /// taken now (for `/` and `/status.json`).
    public func statusReport(now: Double = Date().timeIntervalSince1970) -> StatusReport {
        locked { s in
            let current = StatusSample.read(s.registry, s.catalog, at: now)
            let sources = s.statusHistory.rings.keys.sorted().map { name in
                StatusReport.evaluate(name: name, history: s.statusHistory.rings[name]!.samples,
                                      now: current[name] ?? StatusSample(time: now), thresholds: options.statusThresholds)
            }
            return StatusReport(time: now, sampleInterval: options.statusSampleInterval, capacity: s.statusHistory.capacity,
                                sources: sources, unsampledSources: s.statusHistory.unsampledSources)
        }
    }

    /// The page at `/`.
    public func statusPage() -> String {
        StatusPage.render(statusReport(), sources: sourceStatus(), version: Collector.version)
    }
}
