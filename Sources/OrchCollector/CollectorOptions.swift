/// Settings of a collector, as `orchlog-collector` flags set them.
public struct CollectorOptions: Sendable, Equatable {
    /// The default listen port, 9478 (in the exporter range 9100–9999).
    public static let defaultPort = 9478

    /// `--web.listen-address` (default ":9478").
    public var listenAddress = ":\(CollectorOptions.defaultPort)"
    /// `--web.config.file`: exporter-toolkit web config (TLS, basic auth).
    public var webConfigFile: String?
    /// `--log.dir` (repeatable): roots whose subdirectories are sources, or source directories.
    public var logDirs: [String] = []
    /// `--checkpoint.file`: aggregated state and read positions, for exactly-once restarts.
    public var checkpointFile: String?
    /// `--checkpoint.reset`: start afresh, ignoring (and at the first write replacing) the
    /// checkpoint, e.g. one written for another `--log.dir` set.
    public var checkpointReset = false
    /// `--checkpoint.interval` seconds (default 5).
    public var checkpointInterval: Double = 5
    /// `--source.ttl` seconds a vanished source keeps its series (default 3600).
    public var sourceTTL: Double = 3600
    /// `--metrics.max-series-per-family` (default 10,000; at most `maxSeriesLimit`).
    public var seriesLimit = 10_000
    /// Largest `--metrics.max-series-per-family`: far past what a Prometheus scrape can take.
    public static let maxSeriesLimit = 10_000_000
    /// `--state.tracked-keys`: keys the lost-update/stale-read tracker remembers (default
    /// 100,000; at most `maxTrackedKeys`).
    public var trackedKeys = 100_000
    /// Largest `--state.tracked-keys`: about 8 GB of tracker at ≈ 80 bytes a key.
    public static let maxTrackedKeys = 100_000_000
    /// `--pricing.file`: LLM prices (YAML, deploy/pricing.yml); without it no request is priced.
    public var pricingFile: String?
    /// `--invocations.tracked`: invocations open at once whose fan-out is tallied (default
    /// 100,000; at most `maxTrackedInvocations`).
    public var trackedInvocations = 100_000
    /// Largest `--invocations.tracked`: about 1.5 GB of tracker at ≈ 150 bytes an invocation.
    public static let maxTrackedInvocations = 10_000_000
    /// `--poll.interval` seconds between scans when inotify is quiet (default 0.1).
    public var pollInterval: Double = 0.1
    /// `--source.group REGEX`: source directories whose name matches share the `source` named
    /// by the first capture group.
    public var sourceGroup: String?
    /// `--metrics.per-instance`: the collector's per-source families also carry `instance_dir`.
    public var perInstance = false
    /// `--metrics.keep REGEX` (repeatable): export only the families whose name matches one.
    public var metricsKeep: [String] = []
    /// `--metrics.drop REGEX` (repeatable): do not export (or feed) the families whose name matches.
    public var metricsDrop: [String] = []
    /// `--once`: ingest what is there, print the text exposition, exit.
    public var once = false
    /// `--status.sample-interval` seconds between the status page's samples (default 10: its
    /// 90-sample history spans 15 minutes).
    public var statusSampleInterval: Double = 10
    /// `--status.max-sources`: sources the status page keeps history for (default 500).
    public var statusMaxSources = StatusHistory.defaultMaxSources
    /// What the status page flags (the alert rules' defaults).
    public var statusThresholds = StatusThresholds.ruleDefaults

    public init() {}
}
