import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// `orchlog ingest`: NDJSON in, through the real writer, identical events out.
@Suite struct IngestTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func tailThenIngestReproducesTheLogExactly() throws {
        let dir = TempDir("ingest-roundtrip")
        defer { dir.remove() }
        let gen = try runTool("orchlog", ["generate", "--out", dir.sub("a/app"), "--events", "20000", "--seed", "11"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let first = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("a/app")])
        #expect(first.status == 0)
        let lineCount = first.stdout.split(separator: "\n").count
        #expect(lineCount >= 20000)

        // Same leaf name, so even the `source` column matches.
        let ingest = try runTool("orchlog", ["ingest", "--out", dir.sub("b/app")], stdin: first.stdout)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr == "orchlog: ingest: \(lineCount) events written to \(dir.sub("b/app")), 0 of \(lineCount) lines rejected\n")
        let second = try runTool("orchlog", ["tail", "--from-start", "-o", "json", dir.sub("b/app")])
        #expect(second.status == 0)
        #expect(second.stdout == first.stdout, "tail | ingest | tail must print the same NDJSON")

        // And the stored events themselves: types, sequence numbers, timestamps, every field.
        let original = try readAll(dir.sub("a/app"))
        let copy = try readAll(dir.sub("b/app"))
        #expect(copy.count == original.count)
        #expect(copy == original)
        #expect(Set(original.map(\.type)).count >= 12, "the generated mix covers the event types")
    }

    /// One line per event type with every field set to a non-default value (the last
    /// enumeration name, `true`, big numbers, labels that need escaping), and the exact line
    /// `tail -o json` must print back for it.
    static func everyTypeWithEveryField() -> (input: [String], expected: [String]) {
        var input: [String] = []
        var expected: [String] = []
        for (i, type) in EventType.allCases.enumerated() {
            let ts = "2025-03-0\(1 + i % 9)T0\(i % 10):1\(i % 10):2\(i % 10).\(String(format: "%09d", 123_456_789 - i))Z"
            var fields = ""
            for (k, field) in EventSchema.of(type).fields.enumerated() {
                let value: String
                switch field.kind {
                case .label: value = "\"\(field.name) \\\"q\\\" \\\\ é ☃ \\u00e9 \\ud83d\\ude00 \(k)\""
                case .enumeration(let names): value = "\"\(names.last!)\""
                case .flag: value = "true"
                case .number, .nanoseconds: value = k == 0 ? "18446744073709551615" : "\(1_000_000_007 * (k + 1))"
                case .traceID: value = "\"ffffffffffffffff000000000000000\(k)\""
                }
                fields += ",\"\(field.name)\":\(value)"
            }
            // seq and source on input are ignored; tail prints the writer's.
            input.append("{\"seq\":999,\"source\":\"elsewhere\",\"ts\":\"\(ts)\",\"type\":\"\(type.name)\"\(fields)}")
            let outFields = fields.replacingOccurrences(of: "\\u00e9", with: "é").replacingOccurrences(of: "\\ud83d\\ude00", with: "😀")
            expected.append("{\"seq\":\(i + 1),\"ts\":\"\(ts)\",\"source\":\"svc\",\"type\":\"\(type.name)\"\(outFields)}")
        }
        return (input, expected)
    }

    @Test func everyTypeAndFieldKindIsStoredAsGiven() throws {
        let dir = TempDir("ingest-types")
        defer { dir.remove() }
        let (input, expected) = IngestTests.everyTypeWithEveryField()
        // The times are not in arrival order on purpose: events are stored (and numbered) as they arrive.
        let r = try runTool("orchlog", ["ingest", "--out", dir.sub("svc")], stdin: input.joined(separator: "\n") + "\n")
        #expect(r.status == 0, "\(r.stderr)")
        let records = try readAll(dir.sub("svc"))
        #expect(records.map(\.type) == EventType.allCases)
        #expect(records.map(\.seq) == Array(1...UInt64(EventType.allCases.count)))
        let tail = try runTool("orchlog", ["tail", "-n", "100", "-o", "json", dir.sub("svc")])
        let lines = tail.stdout.split(separator: "\n").map(String.init)
        // tail orders by time; compare as sets of exact lines.
        #expect(lines.sorted() == expected.sorted())
        for (got, want) in zip(lines.sorted(), expected.sorted()) where got != want {
            Issue.record("got  \(got)\nwant \(want)")
        }
        let finished = try #require(records.first { $0.type == .invocationFinished })
        #expect(finished.text(of: "outcome") == "timeout")
        #expect(finished.number(of: "duration_ns") == 3_000_000_021)
        #expect(finished.text(of: "agent") == "agent \"q\" \\ é ☃ é 😀 0")
    }

    @Test func optionalFieldsDefaultAndTsDefaultsToNow() throws {
        let dir = TempDir("ingest-defaults")
        defer { dir.remove() }
        let before = UInt64(Date().timeIntervalSince1970 * 1e9)
        let input = """
        {"type":"tool_call","tool":"crm","outcome":"success","latency_ns":5}
        {"type":"llm_request","ts":null,"provider":"p","model":"m","outcome":"success","input_tokens":1,"output_tokens":2,"latency_ns":3,"key":null}
        {"type":"queue_sample","ts":"2025-01-31T12:00:00+00:00","queue":"q","depth":3,"capacity":4.0}
        """
        let r = try runTool("orchlog", ["ingest", "--out", dir.sub("src")], stdin: input)  // no final newline
        let after = UInt64(Date().timeIntervalSince1970 * 1e9)
        #expect(r.status == 0, "\(r.stderr)")
        let records = try readAll(dir.sub("src"))
        try #require(records.count == 3)
        #expect(records[0].labels == ["crm", ""] && records[0].numbers == [0, 5, 0, 0])
        #expect(records[0].text(of: "fallback") == "false", "an optional flag left out is false")
        #expect(records[1].labels == ["p", "m", "", ""] && records[1].number(of: "ratelimit_wait_ns") == 0)
        for rec in records[0...1] {
            #expect(rec.timestamp >= before - 1_000_000_000 && rec.timestamp <= after + 1_000_000_000, "ts defaults to now")
        }
        #expect(records[2].timestamp == 1_738_324_800_000_000_000)
        #expect(records[2].number(of: "depth") == 3 && records[2].number(of: "capacity") == 4, "an integral float is a whole number")
    }

    /// Ingest says no to what it cannot know: a missing required field is an error (never a
    /// default: an `invocation_finished` without outcome is not a success), an unknown field is
    /// an error naming it unless --lenient, integral floats are whole numbers, a ts out of range
    /// gives the range.
    @Test func ingestRejectsWhatItCannotKnow() throws {
        let dir = TempDir("ingest-strict")
        defer { dir.remove() }
        let lines = [
            #"{"type":"invocation_finished","agent":"a","duration_ns":1,"invocation_id":7}"#,
            #"{"type":"tool_call","tool":"crm","outcome":"timeout","latency_ns":1,"fallbak":true}"#,
            #"{"type":"tool_call","tool":"crm","outcome":"timeout","latency_ns":3e10,"fallback":true}"#,
            #"{"type":"tool_call","tool":"crm","outcome":"timeout","latency_ns":2.5e0}"#,
            #"{"type":"tool_call","ts":"1969-12-31T23:59:59Z","tool":"crm","outcome":"timeout","latency_ns":1}"#,
            #"{"type":"tool_call","ts":"2554-07-21T23:34:34Z","tool":"crm","outcome":"timeout","latency_ns":1}"#,
            #"{"type":"tool_call","ts":"2554-07-21T23:34:33.709551615Z","tool":"crm","outcome":"timeout","latency_ns":1e0}"#,
            #"{"type":"queue_sample","queue":"q","depth":1,"capacity":2,"extra":1,"another":{"x":[1]}}"#,
        ]
        let r = try runTool("orchlog", ["ingest", "--out", dir.sub("strict")], stdin: lines.joined(separator: "\n") + "\n")
        #expect(r.status == 1)
        let range = "1970-01-01T00:00:00Z … 2554-07-21T23:34:33.709551615Z"
        #expect(r.stderr == """
        orchlog: ingest: line 1: "invocation_finished" is missing required field "outcome"
        orchlog: ingest: line 2: "tool_call" has no field "fallbak" (its fields: tool, outcome, latency_ns, fallback, invocation_id, agent)
        orchlog: ingest: line 4: "tool_call" field "latency_ns": expected a whole number in 0...18446744073709551615, got 2.5e0
        orchlog: ingest: line 5: "ts": "1969-12-31T23:59:59Z" is out of range: a log stores times from \(range)
        orchlog: ingest: line 6: "ts": "2554-07-21T23:34:34Z" is out of range: a log stores times from \(range)
        orchlog: ingest: line 8: "queue_sample" has no fields "another", "extra" (its fields: queue, depth, capacity, oldest_age_ns, enqueued)
        orchlog: ingest: 2 events written to \(dir.sub("strict")), 6 of 8 lines rejected

        """)
        let records = try readAll(dir.sub("strict"))
        #expect(records.map { $0.number(of: "latency_ns") } == [30_000_000_000, 1])
        #expect(records.last?.timestamp == UInt64.max, "the last storable nanosecond is in range")

        // --lenient: unknown fields are accepted and counted; everything else is as strict.
        let lenient = try runTool("orchlog", ["ingest", "--lenient", "--out", dir.sub("lenient")], stdin: lines.joined(separator: "\n") + "\n")
        #expect(lenient.status == 1, "a missing required field is still an error")
        #expect(lenient.stderr.contains("line 1: \"invocation_finished\" is missing required field \"outcome\""))
        #expect(!lenient.stderr.contains("has no field"))
        #expect(lenient.stderr.hasSuffix("orchlog: ingest: 4 events written to \(dir.sub("lenient")), 4 of 8 lines rejected, 3 unknown fields accepted (--lenient)\n"), "\(lenient.stderr)")
        #expect(try readAll(dir.sub("lenient")).map(\.type) == [.toolCall, .toolCall, .toolCall, .queueSample])
    }

    @Test func malformedLinesAreReportedByNumberAndSkipped() throws {
        let dir = TempDir("ingest-bad")
        defer { dir.remove() }
        let lines: [(String, String?)] = [
            (#"{"type":"queue_sample","queue":"q","depth":1,"capacity":10}"#, nil),
            (#"{"type":"x"}"#, #"unknown type "x""#),
            ("", nil),  // blank: skipped, not an error
            (#"{"type":"queue_sample","depth":-1}"#, #""queue_sample" field "depth": expected a whole number"#),
            (#"{"type":"queue_sample","depth":1.5}"#, #"got 1.5"#),
            (#"{"type":"queue_sample","depth":1e-3}"#, #"got 1e-3"#),
            (#"{"type":"queue_sample","depth":"3"}"#, #"got string "3""#),
            (#"{"type":"queue_sample","depth":18446744073709551616}"#, #"got 18446744073709551616"#),
            (#"{"type":"tool_call","outcome":"exploded"}"#, #""tool_call" field "outcome": unknown value "exploded""#),
            (#"{"type":"tool_call","outcome":2}"#, #"field "outcome": expected one of"#),
            (#"{"type":"tool_call","fallback":1}"#, #"field "fallback": expected true or false"#),
            (#"{"type":"queue_sample","ts":"yesterday"}"#, #""ts": "yesterday" is not an RFC 3339"#),
            (#"{"type":"queue_sample","ts":"2025-02-30T00:00:00Z"}"#, #""ts": "2025-02-30T00:00:00Z""#),
            (#"{"type":"queue_sample","ts":"9999-01-01T00:00:00Z"}"#, #""ts": "9999-01-01T00:00:00Z""#),
            (#"{"type":"queue_sample","ts":"2025-01-31T12:00:00+02:00"}"#, #""ts":"#),
            (#"{"type":"queue_sample","ts":1738324800}"#, #""ts": expected an RFC 3339 UTC time string"#),
            (#"{"depth":1}"#, #"missing "type""#),
            (#"{"type":7}"#, #""type": expected a string"#),
            (#"{"type":"queue_sample","queue":5}"#, #""queue_sample" field "queue": expected a string"#),
            (#"{"type":"queue_sample","depth":1,"depth":2}"#, #"duplicate field "depth""#),
            ("not json at all", "bad JSON at column 1"),
            (#"{"type":"queue_sample""#, "bad JSON"),
            (#"{"type":"queue_sample"} trailing"#, "unexpected text after the object"),
            (#"["type","queue_sample"]"#, "expected a JSON object"),
            (#"{"type":"queue_sample","queue":"\x"}"#, "bad escape"),
            (#"{"type":"queue_sample","queue":"\ud800"}"#, "lone surrogate"),
            (#"{"type":"queue_sample","x":"# + String(repeating: "[", count: 100_000) + "}", "nested deeper than"),
            (#"{"type":"worker_pool_sample","pool":"p","busy":2,"size":4}"#, nil),
        ]
        var input = lines.map(\.0).joined(separator: "\n") + "\n"
        // Invalid UTF-8 inside a string, as raw bytes.
        input += "{\"type\":\"queue_sample\",\"queue\":\"\u{FFFD}\"}\n"
        var data = Data(input.utf8)
        let fffd = Data("\u{FFFD}".utf8)
        if let r = data.range(of: fffd, options: .backwards) { data.replaceSubrange(r, with: Data([0xC3, 0x28])) }
        let badUTF8Line = lines.count + 1
        data += Data(#"{"type":"memory_flush","shard":"s","pending":9,"latency_ns":1,"outcome":"success"}"#.utf8)  // last line, no newline
        let inputPath = dir.sub("input.ndjson")
        try data.write(to: URL(fileURLWithPath: inputPath))

        let r = try run("/bin/sh", ["-c", "exec \"$0\" ingest --out \"$1\" < \"$2\"", binaryPath("orchlog"), dir.sub("src"), inputPath])
        #expect(r.status == 1, "a rejected line makes the exit status 1")
        let errors = r.stderr.split(separator: "\n").map(String.init)
        var expectedNumbers: [Int] = []
        for (i, (_, want)) in lines.enumerated() {
            guard let want else { continue }
            expectedNumbers.append(i + 1)
            #expect(errors.contains { $0.hasPrefix("orchlog: ingest: line \(i + 1): ") && $0.contains(want) }, "line \(i + 1) should be reported with \(want)\n\(r.stderr)")
        }
        expectedNumbers.append(badUTF8Line)
        #expect(errors.contains { $0 == "orchlog: ingest: line \(badUTF8Line): bad JSON at column 32: string is not valid UTF-8" }, "\(r.stderr)")
        let reported = errors.compactMap { line -> Int? in
            guard line.hasPrefix("orchlog: ingest: line ") else { return nil }
            return Int(line.dropFirst("orchlog: ingest: line ".count).prefix { $0.isNumber })
        }
        #expect(reported == expectedNumbers, "exactly the bad lines, once each, in order")
        let total = lines.count + 2
        #expect(errors.last == "orchlog: ingest: 3 events written to \(dir.sub("src")), \(expectedNumbers.count) of \(total) lines rejected")

        // The good lines around the bad ones were all written, in order, with their values.
        let records = try readAll(dir.sub("src"))
        #expect(records.map(\.type) == [.queueSample, .workerPoolSample, .memoryFlush])
        #expect(records.map(\.seq) == [1, 2, 3])
        #expect(records.first?.labels == ["q"] && records.first?.numbers == [1, 10, 0, 0])
        #expect(records.last?.number(of: "pending") == 9)
    }

    @Test func anOverlongLineIsRejectedWithoutLosingItsNeighbours() throws {
        let dir = TempDir("ingest-long")
        defer { dir.remove() }
        let huge = #"{"type":"queue_sample","queue":""# + String(repeating: "a", count: 3 << 20) + #""}"#
        let input = [#"{"type":"queue_sample","queue":"q","depth":1,"capacity":9}"#, huge, #"{"type":"queue_sample","queue":"q","depth":3,"capacity":9}"#, huge].joined(separator: "\n")
        let inputPath = dir.sub("input.ndjson")
        try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        let r = try run("/bin/sh", ["-c", "exec \"$0\" ingest --out \"$1\" < \"$2\"", binaryPath("orchlog"), dir.sub("src"), inputPath])
        #expect(r.status == 1)
        #expect(r.stderr.contains("orchlog: ingest: line 2: line longer than 1048576 bytes\n"), "\(r.stderr)")
        #expect(r.stderr.contains("orchlog: ingest: line 4: line longer than 1048576 bytes\n"), "\(r.stderr)")
        #expect(r.stderr.hasSuffix("2 events written to \(dir.sub("src")), 2 of 4 lines rejected\n"), "\(r.stderr)")
        #expect(try readAll(dir.sub("src")).map { $0.number(of: "depth") } == [1, 3])
    }

    @Test func sigtermFlushesWhatWasReadAndExitsCleanly() throws {
        let dir = TempDir("ingest-sigterm")
        defer { dir.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryPath("orchlog"))
        process.arguments = ["ingest", "--out", dir.sub("src")]
        let input = Pipe()
        process.standardInput = input
        _ = FileManager.default.createFile(atPath: dir.sub("err"), contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir.sub("err"))
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        input.fileHandleForWriting.write(Data("{\"type\":\"queue_sample\",\"queue\":\"q\",\"depth\":1,\"capacity\":9}\n{\"type\":\"queue_sample\",\"queue\":\"q\",\"depth\":2,\"capacity\":9}\n".utf8))
        // stdin stays open: ingest is waiting for more when the signal comes.
        #expect(Daemon.waitUntil { ((try? readAll(dir.sub("src"))) ?? []).count == 2 })
        kill(process.processIdentifier, SIGTERM)
        #expect(Daemon.waitUntil { !process.isRunning }, "ingest must stop on SIGTERM while stdin is open")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let err = (try? String(contentsOfFile: dir.sub("err"), encoding: .utf8)) ?? ""
        #expect(err.contains("2 events written"), "\(err)")
        // Closed cleanly: the directory lock is free for the next writer.
        let again = try runTool("orchlog", ["ingest", "--out", dir.sub("src")], stdin: "{\"type\":\"queue_sample\",\"queue\":\"q\",\"depth\":3,\"capacity\":9}\n")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try readAll(dir.sub("src")).map(\.seq) == [1, 2, 3])
    }

    @Test func usageAndHelp() throws {
        for args in [["ingest"], ["ingest", "--out"], ["ingest", "--out", "/tmp/x", "extra"], ["ingest", "--bogus"], ["ingest", "--out", "/tmp/x", "--fsync", "sometimes"]] {
            let r = try runTool("orchlog", args, stdin: "")
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("orchlog: ") && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        let help = try runTool("orchlog", ["ingest", "--help"])
        #expect(help.status == 0 && help.stdout.contains("Usage: orchlog ingest --out DIR"))
        let top = try runTool("orchlog", ["--help"])
        #expect(top.stdout.contains("ingest"))
    }

    @Test func ndjsonReferenceIsTheSchemaCommandsOutput() throws {
        let doc = try String(contentsOfFile: IngestTests.repoRoot + "/docs/ndjson.md", encoding: .utf8)
        let begin = "<!-- generated by `orchlog schema --markdown`: do not edit by hand -->\n"
        let end = "<!-- end of generated section -->\n"
        let start = try #require(doc.range(of: begin)), stop = try #require(doc.range(of: end))
        let generated = try runTool("orchlog", ["schema", "--markdown"])
        #expect(generated.status == 0)
        #expect(String(doc[start.upperBound..<stop.lowerBound]) == generated.stdout, "regenerate: orchlog schema --markdown")
        // And the generated text names every type and field of the library's schema.
        for type in EventType.allCases {
            #expect(generated.stdout.contains("### `\(type.name)`"))
            for field in EventSchema.of(type).fields {
                #expect(generated.stdout.contains("| `\(field.name)` | "))
            }
        }
    }

    /// `orchlog schema -o json`: what the Python client is checked against.
    @Test func schemaJSONListsEveryTypeFieldAndRule() throws {
        let r = try runTool("orchlog", ["schema", "-o", "json"])
        #expect(r.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["ndjson_version"] as? Int == 1)
        let types = try #require(object["types"] as? [[String: Any]])
        #expect(types.map { $0["name"] as? String } == EventType.allCases.map(\.name))
        for (type, json) in zip(EventType.allCases, types) {
            #expect(json["code"] as? Int == Int(type.rawValue))
            let fields = try #require(json["fields"] as? [[String: Any]])
            let schema = EventSchema.of(type)
            #expect(fields.map { $0["name"] as? String } == schema.fields.map(\.name))
            for (spec, f) in zip(schema.fields, fields) {
                #expect(f["required"] as? Bool == spec.required)
                if case .enumeration(let names) = spec.kind { #expect(f["values"] as? [String] == names) }
                #expect((f["unit"] as? String) == spec.unit)
            }
        }
        let tool = try #require(types.first { $0["name"] as? String == "tool_call" })
        let fallback = try #require((tool["fields"] as? [[String: Any]])?.first { $0["name"] as? String == "fallback" })
        #expect(fallback["kind"] as? String == "flag" && fallback["required"] as? Bool == false)
        let finished = try #require(types.first { $0["name"] as? String == "invocation_finished" })
        let outcome = try #require((finished["fields"] as? [[String: Any]])?.first { $0["name"] as? String == "outcome" })
        #expect(outcome["required"] as? Bool == true && outcome["kind"] as? String == "enum")
    }
}
