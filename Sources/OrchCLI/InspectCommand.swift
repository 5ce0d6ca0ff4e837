import OrchLog
import OrchFlags

/// `orchlog inspect`: per segment, blocks, events, bytes, ratio and time range; totals.
enum InspectCommand {
    struct Totals {
        var blocks = 0, events = 0, compressed = 0, raw = 0, bytes: Int64 = 0
        var firstTs: UInt64?, lastTs: UInt64?

        mutating func add(_ other: Totals) {
            blocks += other.blocks; events += other.events; compressed += other.compressed; raw += other.raw
            bytes += other.bytes
            if let f = other.firstTs { firstTs = min(firstTs ?? f, f) }
            if let l = other.lastTs { lastTs = max(lastTs ?? l, l) }
        }

        var ratio: Double { compressed == 0 ? 0 : Double(raw) / Double(compressed) }
    }

    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
        guard args.positional.count == 1 else { throw CLIError.usage("inspect: give exactly one PATH (see --help)") }
        let json: Bool
        switch args.value("-o", "--output") ?? "text" {
        case "text": json = false
        case "json": json = true
        case let other: throw CLIError.usage("-o \(other): expected text or json")
        }
        let path = args.positional[0]
        let sources: [SourceDirectory]
        do { sources = try LogDirectory.sources(at: path) } catch let e as OrchLogError { throw CLIError.failure(e.message) }
        // No sources yet (a new host, a root before its first writer): a warning, as in
        // `tail` and the collector; a path that is not a directory is an error above.
        if sources.isEmpty { Output.err("orchlog: warning: no orchlog sources under \(path) yet") }

        var problems = 0
        var total = Totals()
        var rows: [(source: String, segment: SegmentFile, totals: Totals)] = []
        for source in sources {
            let segments: [SegmentFile]
            do { segments = try LogDirectory.segments(in: source.path) } catch let e as OrchLogError { throw CLIError.failure(e.message) }
            for segment in segments {
                let isNewest = segment.number == segments.last?.number
                var t = Totals()
                do {
                    t.bytes = try LogDirectory.fileSize(segment.path)
                    let reader = try SegmentReader(path: segment.path)
                    var offset = SegmentReader.firstFrameOffset
                    scan: while true {
                        switch try reader.readFrame(at: offset) {
                        case let .frame(h, at):
                            t.blocks += 1
                            t.events += Int(h.eventCount)
                            t.compressed += Int(h.payloadLength)
                            t.raw += Int(h.rawLength)
                            do {
                                try reader.decode(h, offset: at)
                                reader.columns.withView { v in
                                    for ts in v.timestamps {
                                        t.firstTs = min(t.firstTs ?? ts, ts)
                                        t.lastTs = max(t.lastTs ?? ts, ts)
                                    }
                                }
                            } catch let e as OrchLogError {
                                problems += 1
                                Output.err("\(segment.path):\(at): bad block: \(e.reason(at: segment.path, offset: at))")
                            }
                            offset = at + Int64(h.frameLength)
                        case let .corrupt(at, reason, resumeAt):
                            problems += 1
                            Output.err("\(segment.path):\(at): \(reason)")
                            offset = resumeAt
                        case .end:
                            break scan
                        case let .incomplete(at, available):
                            // The newest segment of a live writer ends in the frame being written.
                            if !isNewest || !LogDirectory.writerHoldsLock(source.path) {
                                Output.err("orchlog: warning: \(segment.path):\(at): \(LogProblem.tornTailReason(available: available, crashed: isNewest))")
                            }
                            break scan
                        }
                    }
                } catch let e as OrchLogError {
                    problems += 1
                    Output.err(e.message)
                }
                rows.append((source.name, segment, t))
                total.add(t)
            }
        }

        if json {
            var files: [String] = []
            for row in rows {
                files.append("{\"source\":\(JSON.string(row.source)),\"segment\":\(row.segment.number),\"path\":\(JSON.string(row.segment.path)),\(fields(row.totals)),\"bytes\":\(row.totals.bytes)}")
            }
            Output.out("{\"segments\":\(rows.count),\"sources\":\(sources.count),\(fields(total)),\"bytes\":\(total.bytes),\"files\":[\(files.joined(separator: ","))]}")
        } else {
            let header = ["source", "segment", "blocks", "events", "compressed", "raw", "ratio", "first", "last"]
            var table: [[String]] = [header]
            for row in rows {
                table.append([EventFormatter.displayed(row.source), String(row.segment.number)] + cells(row.totals))
            }
            table.append(["total", "\(rows.count) seg"] + cells(total))
            let widths = (0..<header.count).map { c in table.map { $0[c].count }.max() ?? 0 }
            for line in table {
                Output.out(line.enumerated().map { c, cell in
                    c < 2 || c >= 7 ? cell.padding(widths[c]) : String(repeating: " ", count: widths[c] - cell.count) + cell
                }.joined(separator: "  "))
            }
            if total.events > 0 {
                Output.out(String(format: "%.2f bytes per event on disk", Double(total.bytes) / Double(total.events)))
            }
        }
        return problems > 0 ? 1 : 0
    }

    private static func fields(_ t: Totals) -> String {
        let first = t.firstTs.map { "\"\(Timestamp.rfc3339($0))\"" } ?? "null"
        let last = t.lastTs.map { "\"\(Timestamp.rfc3339($0))\"" } ?? "null"
        return "\"blocks\":\(t.blocks),\"events\":\(t.events),\"compressed_bytes\":\(t.compressed),\"raw_bytes\":\(t.raw),\"ratio\":\(String(format: "%.3f", t.ratio)),\"first_ts\":\(first),\"last_ts\":\(last)"
    }

    private static func cells(_ t: Totals) -> [String] {
        [String(t.blocks), String(t.events), String(t.compressed), String(t.raw), String(format: "%.1fx", t.ratio),
         t.firstTs.map { Timestamp.rfc3339($0, digits: 3) } ?? "-", t.lastTs.map { Timestamp.rfc3339($0, digits: 3) } ?? "-"]
    }
}
