import Foundation

/// Sizes and repetitions of every benchmark: the full run (`make bench`) or `--quick`, a smoke
/// run that only shows the benchmarks work (its figures are not to be quoted).
struct BenchConfig {
    var quick = false
    /// Where logs are written (default: the temporary directory).
    var baseDirectory = FileManager.default.temporaryDirectory.path

    var emitEvents = 1_000_000
    var emitWarmup = 3
    var emitRuns = 15
    /// Count allocations per emit exactly under valgrind (full run, when valgrind is installed).
    var emitValgrindCount = true

    var writeEvents = 500_000
    var writeWarmup = 1
    var writeRuns = 5
    /// Other zlib levels measured alone on the same blocks (for the limit's trade-off).
    var writeLevelSweep: [Int32] = [1, 3, 6, 9]
    var writeLevelRuns = 3

    var ingestEvents = 2_000_000
    var ingestWarmup = 1
    var ingestRuns = 7

    var relayEvents = 2_000_000
    var relayWarmup = 1
    var relayRuns = 5

    /// fleet: instance directories of one service, events in each, timed --once runs.
    var fleetInstances = 1_000
    var fleetEventsPerInstance = 2_000
    var fleetRuns = 5
    /// fleet-live: events/s each of `fleetInstances` sources writes, for this many seconds.
    var fleetLiveEventsPerSecond = 10.0
    var fleetLiveSeconds = 600.0

    var renderSizes = [1_000, 10_000, 100_000]
    var renderWarmup = 3
    var renderRuns = 21
    /// Distinct label values per kind in the collector-memory log (each makes ~40 series).
    var collectorMemoryValues = 2_000
    /// invocation-memory: invocations left open (started, never finished), and runs.
    var invocationMemoryOpen = 100_000
    var invocationMemoryRuns = 3

    var tailSeconds = 5.0
    var tailRuns = 3
    var tailEventsPerSecond = 2_000.0

    var overheadWarmupSeconds = 3.0
    var overheadSeconds = 10.0
    /// Pairs side by side: one pair's difference spreads over ±5 points of a ≈ 2–3% effect
    /// (run I: p10 −0.1%, p90 8.1% over 9 pairs), so the median needs many (15 since run J).
    var overheadPairs = 15
    var overheadAttributionRuns = 3
    var overheadInvocationsPerSecond = 1_000.0

    /// live-overhead: wall seconds per run, throughput runs (offered more than they can take)
    /// and side-by-side pairs (offered well under capacity).
    var liveSeconds = 20.0
    var liveThroughputRuns = 3
    var liveOfferedPerSecond = 1_000.0
    var livePairs = 15
    var livePairedPerSecond = 80.0

    static func quick() -> BenchConfig {
        var c = BenchConfig()
        c.quick = true
        c.emitEvents = 100_000
        c.emitWarmup = 1
        c.emitRuns = 3
        c.emitValgrindCount = false
        c.writeEvents = 60_000
        c.writeWarmup = 0
        c.writeRuns = 2
        c.writeLevelSweep = [1, 6]
        c.writeLevelRuns = 1
        c.ingestEvents = 60_000
        c.ingestWarmup = 0
        c.ingestRuns = 2
        c.relayEvents = 40_000
        c.relayWarmup = 0
        c.relayRuns = 1
        c.fleetInstances = 20
        c.fleetEventsPerInstance = 500
        c.fleetRuns = 1
        c.fleetLiveSeconds = 6
        c.renderSizes = [1_000, 10_000]
        c.renderWarmup = 1
        c.renderRuns = 2
        c.collectorMemoryValues = 50
        c.invocationMemoryOpen = 5_000
        c.invocationMemoryRuns = 1
        c.tailSeconds = 1
        c.tailRuns = 1
        c.overheadWarmupSeconds = 0.5
        c.overheadSeconds = 1
        c.overheadPairs = 1
        c.overheadAttributionRuns = 1
        c.liveSeconds = 3
        c.liveThroughputRuns = 1
        c.livePairs = 1
        return c
    }
}
