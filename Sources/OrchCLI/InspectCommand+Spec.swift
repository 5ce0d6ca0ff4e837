import OrchFlags

extension InspectCommand {
    /// `orchlog inspect`'s flags and help (a new flag: one `Flag(…)` line).
    static let spec = CommandSpec(
        "orchlog inspect", summary: "segments, blocks, events, compression ratio, time range",
        synopsis: """
        Usage: orchlog inspect [-o text|json] PATH

        Describes a log: for each segment its blocks, events, compressed and raw bytes,
        compression ratio and time range; then totals. PATH is a source directory or a root of
        sources.

        The time range (first/last, first_ts/last_ts) is the earliest and the latest event
        timestamp, whatever order events were written in: every block is inflated to read its
        timestamps (a frame header only names its first and last event's). A block that does not
        decode is a problem, as in `orchlog verify`.

        JSON keys: segments (count), blocks, events, compressed_bytes, raw_bytes, ratio,
        first_ts, last_ts (earliest and latest event timestamp, null without events), sources,
        and files (one object per segment with the same keys plus source, segment, path, bytes).
        """,
        flags: [
            Flag("--output", short: "-o", value: "FORMAT", default: "text", "text or json"),
            .help,
        ],
        epilogue: """
        A torn tail (a partial last frame a crash left, where no writer holds the source) is
        named once on stderr as a warning (orchlog: warning: SEGMENT:OFFSET: torn tail: ...); it
        does not change the exit status. `orchlog verify --repair` cuts it.

        Exit status: 0 ok, 1 problems found (listed on stderr), 2 usage.
        """)
}
