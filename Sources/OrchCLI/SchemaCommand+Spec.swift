import OrchFlags

extension SchemaCommand {
    /// `orchlog schema`'s flags and help (a new flag: one `Flag(…)` line).
    static let spec = CommandSpec(
        "orchlog schema", summary: "the event types and their fields (text, --markdown, -o json)",
        synopsis: """
        Usage: orchlog schema [--markdown | --log-format | -o json]

        Prints the event types orchlog stores, each with its type code and fields: the NDJSON
        field name, its kind (label, enum, flag, number, duration), unit, enumeration values and
        whether an event must carry it. This is the schema `orchlog ingest` checks events
        against (docs/ndjson.md).
        """,
        flags: [
            Flag("--markdown", "a Markdown table per event type (docs/ndjson.md)"),
            Flag("--log-format", "one Markdown table of the type codes and the fields in stream order, as the log stores them (docs/log-format.md)"),
            Flag("--output", short: "-o", value: "FORMAT", default: "text", "text or json (one object: ndjson_version, types)"),
            .help,
        ])
}
