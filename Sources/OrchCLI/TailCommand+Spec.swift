import OrchFlags

extension TailCommand {
    /// `orchlog tail`'s flags and help. A new flag is one `Flag(…)` line here; read it in
    /// `run` with `args.value("--name")` (or `args.has`, `args.all`).
    static let spec = CommandSpec(
        "orchlog tail", summary: "show events, live with -f (like journalctl -f)",
        synopsis: """
        Usage: orchlog tail [-f|--follow] [--from-start | -n N] [--type T,...] [--where key=value]... [--since T] [--until T] [-o text|json] PATH...

        Shows the last events of one or more logs. PATH is a source directory (one writer's
        log) or a root directory whose subdirectories are sources.

        Order: each source's events in the order they were written (sequence order), never
        re-sorted, so events whose timestamps go back in time stay where they were written.
        Several sources are merged: the next event printed is the one, among each source's next
        unprinted event, with the earliest timestamp (ties: source name, then sequence number).
        When every source writes in time order that is time order. -n N prints the last N
        events of exactly that order (what --from-start would end with); with -f, each batch of
        new events is merged the same way. With one source, -n reads only the end of the log
        (frame headers, then the frames the last N matches are in), so it is quick on any size
        of log; corruption before that point is not looked at (`orchlog verify` checks it all).
        -n 0 -f starts every source at its end: only events written from now on are printed.
        """,
        flags: [
            Flag("--follow", short: "-f", "keep running and print new events as they are written"),
            Flag("--from-start", "show every event, not only the last ones"),
            Flag("--lines", short: "-n", value: "N", default: "10", "show the last N events (-n5 as well as -n 5)"),
            Flag("--type", value: "T,...", repeatable: true, "only these event types (e.g. llm_request,tool_call)"),
            Flag("--where", value: "key=value", repeatable: true, """
                only events whose field equals value (repeatable; all must match; keys: any event field, \
                source, type, seq). Numbers and *_ns durations compare as whole numbers, enumerations by name \
                (outcome=timeout), flags as true or false. Also key!=value, and for numbers, durations and seq \
                key<value, <=, >, >=; a duration takes a unit under its name without _ns or with it: \
                latency>1.5s, duration_ns>=250ms, queue_wait<=250ms (ns, us, ms, s, m, h, d). A filter that \
                cannot match (an unknown type or field, a value the field cannot hold, conditions no type \
                meets together) is a usage error.
                """),
            Flag("--since", value: "TIME", """
                only events at or after TIME: RFC 3339 (2026-12-03T06:00:00Z, or with an offset such as \
                +02:00) or a time ago (-15m, -2h, -1d; now)
                """),
            Flag("--until", value: "TIME", "only events at or before TIME (same forms)"),
            Flag("--output", short: "-o", value: "FORMAT", default: "text", "text or json (NDJSON: seq, ts, source, type, fields)"),
            .help,
        ],
        epilogue: """
        In text output a value (and a source name) that is empty or holds a space, quote,
        backslash, control character, line or paragraph separator or format character (such as
        the bidirectional overrides U+202A-U+202E and isolates U+2066-U+2069) is quoted, with
        \\" \\\\ \\n \\r \\t and \\u{1B} (hex) escapes: one event is one line, shown as written.

        A torn tail (a partial last frame a crash left, where no writer holds the source) is
        named once on stderr as a warning (orchlog: warning: SEGMENT:OFFSET: torn tail: ...); it
        does not change the exit status. `orchlog verify --repair` cuts it.

        Exit status: 0 ok, 1 corrupt data was found (and skipped, with a warning), 2 usage.
        """)
}
