import OrchFlags

extension GenerateCommand {
    /// `orchlog generate`'s flags and help (a new flag: one `Flag(…)` line).
    static let spec = CommandSpec(
        "orchlog generate", summary: "write a realistic synthetic event mix (tests, benchmarks, demos)",
        synopsis: """
        Usage: orchlog generate --out DIR [--events N] [--seed S] [--rate PER_SECOND] [--summary-json FILE]
                                [--fsync never|interval|always] [--segment.bytes N] [--retention.bytes N]
                                [--report-durable]

        Writes a realistic synthetic mix of every event type (invocations with their state reads
        and writes, LLM and tool calls, queue/pool/limiter samples, rejections, flushes, breaker
        transitions, key rotations) into the source directory DIR, through the real writer. For
        tests, benchmarks and demos.
        """,
        flags: [
            Flag("--out", value: "DIR", required: true, "source directory to write (created if needed)"),
            Flag("--events", value: "N", default: "100000", """
                stop after about N events (whole invocations are emitted, so the count may exceed N by up \
                to 20; with --rate and no --events, run until SIGINT/SIGTERM)
                """),
            Flag("--seed", value: "S", default: "1", "PRNG seed: the same seed gives the same events"),
            Flag("--rate", value: "PER_SECOND", """
                pace to this many events per second and run until N events (if given) or SIGINT/SIGTERM, \
                then close cleanly
                """),
            Flag("--summary-json", value: "FILE", """
                write what was emitted: events, by_type, invocations_by_outcome, llm_tokens {input, output} \
                (checked before anything is written: a FILE that cannot be written fails at once, with no \
                log written)
                """),
            Flag("--fsync", value: "POLICY", default: "interval", "never, interval or always"),
            Flag("--segment.bytes", value: "N", default: "67108864", "rotate to a new segment past N bytes (at least 4096)"),
            Flag("--retention.bytes", value: "N", "delete the oldest closed segments while the log is larger than N bytes (default: keep all)"),
            Flag("--report-durable", """
                print `durable SEQ` on stdout (flushed) whenever the writer's durable sequence number \
                advances (the reliability tests kill the writer and check what it said was durable)
                """),
            .help,
        ],
        epilogue: "Exit status: 0 ok, 1 the log could not be written, 2 usage.")
}
