import OrchLog
import OrchFlags

/// `orchlog schema`: prints the event schema — every type, its code and fields (kind, unit,
/// enumeration values, required or optional) — as a text table, Markdown or JSON. The
/// Python client's checks, the NDJSON docs and docs/log-format.md's type table are compared
/// with this output by tests.
enum SchemaCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
        guard args.positional.isEmpty else { throw CLIError.usage("schema: unexpected argument \(args.positional[0])") }
        let format = args.value("-o", "--output") ?? "text"
        guard format == "text" || format == "json" else { throw CLIError.usage("schema: -o \(format): expected text or json") }
        if args.has("--markdown") || args.has("--log-format") {
            guard args.value("-o", "--output") == nil, !(args.has("--markdown") && args.has("--log-format")) else {
                throw CLIError.usage("schema: --markdown, --log-format and -o go alone")
            }
            Output.out(args.has("--markdown") ? markdown() : logFormat(), terminator: "")
        } else if format == "json" {
            Output.out(json())
        } else {
            Output.out(text(), terminator: "")
        }
        return 0
    }

    /// The kind's name in the schema's JSON and docs.
    static func kindName(_ kind: FieldKind) -> String {
        switch kind {
        case .label: return "label"
        case .enumeration: return "enum"
        case .flag: return "flag"
        case .number: return "number"
        case .nanoseconds: return "duration"
        case .traceID: return "trace_id"
        }
    }

    static var schemas: [EventSchema] { EventType.allCases.map(EventSchema.of) }

    /// One JSON object: `{"ndjson_version":1,"types":[{"name","code","summary","fields":[{"name","kind","values"?,"unit"?,"required","doc"}]}]}`.
    static func json() -> String {
        var out = "{\"ndjson_version\":1,\"types\":["
        for (t, schema) in schemas.enumerated() {
            if t > 0 { out += "," }
            out += "{\"name\":\(JSON.string(schema.name)),\"code\":\(schema.type.rawValue),\"summary\":\(JSON.string(schema.summary)),\"fields\":["
            for (i, field) in schema.fields.enumerated() {
                if i > 0 { out += "," }
                out += "{\"name\":\(JSON.string(field.name)),\"kind\":\"\(kindName(field.kind))\""
                if case .enumeration(let names) = field.kind {
                    out += ",\"values\":[" + names.map(JSON.string).joined(separator: ",") + "]"
                }
                if let unit = field.unit { out += ",\"unit\":\(JSON.string(unit))" }
                out += ",\"required\":\(field.required),\"doc\":\(JSON.string(field.doc))}"
            }
            out += "]}"
        }
        return out + "]}"
    }

    static func describe(_ field: FieldSpec) -> String {
        var kind = kindName(field.kind)
        if case .enumeration(let names) = field.kind { kind += ": " + names.joined(separator: ", ") }
        if let unit = field.unit { kind += " (\(unit))" }
        return kind
    }

    static func text() -> String {
        var out = ""
        for schema in schemas {
            out += "\(schema.name) (type \(schema.type.rawValue))\n"
            let width = schema.fields.map(\.name.count).max() ?? 0
            for field in schema.fields {
                let pad = String(repeating: " ", count: width - field.name.count)
                out += "  \(field.name)\(pad)  \(field.required ? "required" : "optional")  \(describe(field))\n"
            }
        }
        return out
    }

    /// The Markdown of docs/ndjson.md's "Event types" tables (a test keeps the doc equal to it).
    static func markdown() -> String {
        var out = ""
        for schema in schemas {
            out += "### `\(schema.name)`\n\n\(schema.summary)\n\n| field | kind | required | meaning |\n|---|---|---|---|\n"
            for field in schema.fields {
                var kind = kindName(field.kind)
                if case .enumeration(let names) = field.kind { kind += ": " + names.map { "`\($0)`" }.joined(separator: ", ") }
                out += "| `\(field.name)` | \(kind) | \(field.required ? "yes" : "no") | \(field.doc) |\n"
            }
            out += "\n"
        }
        return out
    }

    /// docs/log-format.md's "Event types" table (a test keeps the doc equal to it): per type
    /// its code and its fields in stream order (field i is stream 64 × code + i), each with
    /// its kind — enumerations with their names in code order (the first is code 0). A trace
    /// id is its streams: the former label (when it was one), then the high and low words.
    static func logFormat() -> String {
        var out = "| code | type | fields in stream order: name (kind) |\n|---|---|---|\n"
        for schema in schemas {
            let fields = schema.fields.flatMap { field -> [String] in
                switch field.kind {
                case .enumeration(let names): return ["\(field.name) (enum: \(names.joined(separator: ", ")))"]
                case .nanoseconds: return ["\(field.name) (duration, ns)"]
                case .traceID:
                    return (field.formerLabelSlot == nil ? [] : ["\(field.name) (label: the former form, written as \"\")"])
                        + ["\(field.name) (trace id: high 64 bits)", "\(field.name) (trace id: low 64 bits)"]
                default: return ["\(field.name) (\(kindName(field.kind)))"]
                }
            }
            out += "| \(schema.type.rawValue) | `\(schema.name)` | \(fields.joined(separator: ", ")) |\n"
        }
        return out
    }
}
