import OrchFlags

extension IngestCommand {
    /// `orchlog ingest`'s flags and help, the relay's (`--listen`) among them (a new flag: one
    /// `Flag(…)` line; a relay-only flag also goes in `relayFlags`).
    static let spec = CommandSpec(
        "orchlog ingest", summary: "write NDJSON events from stdin into a log (any language; docs/ndjson.md); --listen: the relay",
        synopsis: """
        Usage: orchlog ingest --out DIR [--fsync never|interval|always] [--lenient]
               orchlog ingest --listen ADDR [--listen ADDR…] --out ROOT [--source NAME]
                              [--max-sources N] [--socket.mode MODE] [--socket.group GROUP]
                              [--listen.allow-remote] [--relay.source NAME] [--fsync …] [--lenient]

        Reads events as NDJSON on standard input, one JSON object per line in the shape
        `orchlog tail -o json` prints (format version 1: docs/ndjson.md), and writes them into
        the source directory DIR through the real writer, until end of input or SIGINT/SIGTERM.

          {"type":"tool_call","ts":"2025-01-31T12:00:00.5Z","tool":"crm","outcome":"timeout","latency_ns":30000000000,"fallback":true}

        "type" is required. "ts" is optional (RFC 3339 UTC; absent: the time the line is read).
        "seq" and "source" are ignored: the writer numbers events, DIR names the source. Every
        required field of the type must be given (`orchlog schema` lists them); an optional field
        left out is "", 0 or false. A field the type does not have is an error naming it
        (--lenient accepts and counts such fields instead). Integral floats (1.0, 3e9) are
        accepted for whole numbers. A malformed line (bad JSON, unknown type, field or
        enumeration value, a missing required field, a negative or fractional number, a bad or
        out-of-range ts) is reported on stderr with its line number and skipped; the stream goes
        on. Blank lines are skipped. At the end a summary line goes to stderr.

        With --listen, ingest is a relay (docs/python.md, docs/ndjson.md "The relay"): it
        listens on sockets instead of stdin, and every event names its source with a "source"
        field (or takes --source); each source is written into ROOT/<source>/ by its own writer.
        A sender never waits for the relay: when the socket is full or the relay is down the
        send fails at once and the client counts the event as dropped. What the relay cannot
        write (invalid events, events of sources past --max-sources, unreadable datagrams) it
        counts into ROOT/<relay source>/ as events_dropped events (the collector exposes them)
        and summarises on stderr at most once a second.
        """,
        flags: [
            Flag("--out", value: "DIR", required: true, "source directory to write (created if needed; one writer at a time); with --listen, the root of the source directories"),
            Flag("--fsync", value: "POLICY", default: "interval", "never, interval or always"),
            Flag("--lenient", "accept fields the event type does not have (counted in the summary)"),
            Flag("--listen", value: "ADDR", repeatable: true, """
                relay: unix:PATH (Unix datagram socket, one or more NDJSON events per datagram), \
                unix-stream:PATH (NDJSON lines over connections) or udp:HOST:PORT (datagrams; loopback only \
                unless --listen.allow-remote; port 0 picks a free one)
                """),
            Flag("--source", value: "NAME", "relay: the source of events without a \"source\" field (default: such an event is invalid)"),
            Flag("--max-sources", value: "N", default: "1000", "relay: sources that get a writer; the events of more are rejected and counted"),
            Flag("--socket.mode", value: "MODE", default: "0660", "relay: the Unix socket files' mode, octal"),
            Flag("--socket.group", value: "GROUP", "relay: the Unix socket files' group (name or id)"),
            Flag("--listen.allow-remote", "relay: allow a udp: address that is not loopback"),
            Flag("--relay.source", value: "NAME", default: "orchlog-relay", "relay: the source its own counts go into"),
            .help,
        ],
        epilogue: """
        Standard input closed (`orchlog ingest --out DIR <&-`) is an error: nothing is written.
        A relay socket path that exists and is not a socket is refused; a socket left by a dead
        relay is replaced; one a live relay listens on is refused. SIGINT/SIGTERM: the relay reads
        what its datagram sockets already hold, then flushes and closes every writer.

        Exit status: 0 every line was written, 1 a line (or datagram) was rejected, the log could
        not be written or standard input is closed, 2 usage.
        """)

    /// The flags only the relay (`--listen`) takes.
    static let relayFlags = ["--listen", "--source", "--max-sources", "--socket.mode", "--socket.group", "--relay.source", "--listen.allow-remote"]
}
