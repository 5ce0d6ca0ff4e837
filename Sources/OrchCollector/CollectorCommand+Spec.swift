import OrchFlags

extension CollectorCommand {
    /// `orchlog-collector`'s flags and help: the parser, `--help` and the README's table
    /// (`--help-markdown`) all come from here. A new flag is one `Flag(…)` line below and a
    /// `case` in `parse` that sets its `CollectorOptions` field.
    public static let spec = CommandSpec(
        "orchlog-collector", summary: "follows orchlog event logs and serves them as Prometheus metrics",
        synopsis: """
        Usage: orchlog-collector --log.dir DIR [options]

        Follows orchlog event logs and serves them as Prometheus metrics.
        """,
        flags: [
            Flag("--log.dir", value: "DIR", repeatable: true, required: true, """
                root whose subdirectories are sources, or a source directory (repeatable; new sources are \
                picked up live)
                """),
            Flag("--web.listen-address", value: "ADDR", default: ":\(CollectorOptions.defaultPort)", """
                where to serve HTTP (9478 is orchlog's port in the exporter range)
                """),
            Flag("--web.config.file", value: "FILE", """
                exporter-toolkit web config: tls_server_config (client certificates, cipher suites, \
                curves, versions), http_server_config, basic_auth_users (bcrypt), rate_limit
                """),
            Flag("--checkpoint.file", value: "FILE", """
                aggregated state + read positions, written atomically every --checkpoint.interval and on \
                SIGTERM/SIGINT, so a restart neither loses nor double-counts an event
                """),
            Flag("--checkpoint.interval", value: "SECONDS", default: "5", "how often to checkpoint (also on SIGTERM/SIGINT)"),
            Flag("--checkpoint.reset", """
                start afresh: ignore the checkpoint (it records the --log.dir set and --source.group rule it \
                was written for, and others are refused at start; one collector per checkpoint: a lock names \
                the holder's pid)
                """),
            Flag("--source.ttl", value: "SECONDS", default: "3600", "how long a vanished source keeps its series"),
            Flag("--source.group", value: "REGEX", """
                source directories whose name matches share one `source`: the first capture group (e.g. \
                `'^(checkout-api)-[0-9a-f]+$'`); a root of service directories (ROOT/SERVICE/INSTANCE/) groups \
                by SERVICE without it. Counters and histograms sum; gauges combine as docs/metrics.md says
                """),
            Flag("--metrics.per-instance", "`orchlog_collector_*` per-source series also carry `instance_dir`"),
            Flag("--metrics.keep", value: "REGEX", repeatable: true, "export only families whose whole name matches one"),
            Flag("--metrics.drop", value: "REGEX", repeatable: true, """
                neither feed nor export families whose whole name matches (e.g. `'gen_ai_.*'` when the \
                `orch_*` twins suffice)
                """),
            Flag("--metrics.max-series-per-family", value: "N", default: "10000", """
                cardinality guard, at most 10000000: more label sets fold into an `__overflow__` series, counted
                """),
            Flag("--state.tracked-keys", value: "N", default: "100000", "keys tracked for lost updates and stale reads, at most 100000000"),
            Flag("--poll.interval", value: "SECONDS", default: "0.1", "scan interval when inotify is quiet, at most 3600"),
            Flag("--status.sample-interval", value: "SECONDS", default: "10", """
                how often the status page (/) samples each source, from 0.1 to 3600; it keeps 90 samples \
                (15 minutes at the default)
                """),
            Flag("--status.max-sources", value: "N", default: "500", """
                sources the status page keeps history for, at most 100000 (about 9.4 KB each); further ones \
                are followed but not on the page
                """),
            Flag("--once", "ingest what is there, print the text exposition, exit"),
            Flag("--metrics.reference", "print the metric reference (docs/metrics.md) and exit"),
            .version,
            .helpMarkdown,
            .help,
        ],
        epilogue: """
        Endpoints: /metrics, / (status page), /status.json, /-/healthy, /-/ready.
        Exit status: 0 ok, 1 failure (e.g. bad web config, address in use; with --once also corrupt
        data found, which is skipped and reported), 2 usage. A torn tail is a warning (status 0);
        a root with no sources yet is a warning too (docs/exit-status.md).
        """)
}
