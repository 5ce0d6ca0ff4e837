import Foundation
import OrchLog
import Testing
@testable import OrchCLI

/// The NDJSON parser in process: what it accepts, what it stores, and the message for each
/// way a line can be wrong (the same parser serves stdin ingest and the relay).
@Suite struct NDJSONEventParserTests {
    let parser = NDJSONEventParser(now: { 7 })

    func parse(_ line: String, lenient: Bool = false) -> Result<ParsedEvent, NDJSONLineError> {
        var p = parser
        p.lenient = lenient
        return Result { () throws(NDJSONLineError) in try p.parse(Array(line.utf8)[...]) }
    }

    func error(_ line: String) -> String? {
        if case .failure(let e) = parse(line) { return e.message }
        return nil
    }

    @Test func aValidLineIsStoredFieldByField() throws {
        let parsed = try parse(#"{"type":"llm_request","ts":"2025-01-31T12:00:00.5Z","source":"api","provider":"openai","model":"gpt-4o","outcome":"rate_limited","input_tokens":1200,"output_tokens":0,"latency_ns":85000000}"#).get()
        #expect(parsed.source == "api" && parsed.unknownFields.isEmpty)
        let r = parsed.record
        #expect(r.type == .llmRequest && r.timestamp == 1_738_324_800_500_000_000)
        #expect(r.labels == ["openai", "gpt-4o", ""], "the optional key is the empty label")
        #expect(r.numbers == [1, 1200, 0, 85_000_000, 0], "rate_limited is code 1; ratelimit_wait_ns absent is 0")
    }

    @Test func numbersAreWholeAndIntegralFloatsAreAccepted() throws {
        func latency(_ text: String) -> UInt64? {
            try? parse(#"{"type":"tool_call","tool":"t","outcome":"success","latency_ns":"# + text + "}").get().record.numbers[1]
        }
        #expect(latency("0") == 0 && latency("18446744073709551615") == .max)
        #expect(latency("1.0") == 1 && latency("3e9") == 3_000_000_000 && latency("2.5e1") == 25 && latency("1.5e0") == nil)
        #expect(latency("1.5") == nil && latency("-1") == nil && latency("18446744073709551616") == nil && latency("1e20") == nil)
        #expect(latency("\"5\"") == nil && latency("true") == nil)
        #expect(error(#"{"type":"tool_call","tool":"t","outcome":"success","latency_ns":1.5}"#) == #""tool_call" field "latency_ns": expected a whole number in 0...18446744073709551615, got 1.5"#)
    }

    @Test func everyWayALineCanBeWrongHasItsMessage() {
        let cases: [(String, String)] = [
            (#"{"tool":"t"}"#, #"missing "type""#),
            (#"{"type":7}"#, #""type": expected a string, got number 7"#),
            (#"{"type":"tool_cal"}"#, #"unknown type "tool_cal""#),
            (#"{"type":"tool_call","tool":"t","latency_ns":1}"#, #""tool_call" is missing required field "outcome""#),
            (#"{"type":"invocation_finished","agent":"a"}"#, #""invocation_finished" is missing required fields "outcome", "duration_ns", "invocation_id""#),
            (#"{"type":"tool_call","tool":"t","outcome":"timed_out","latency_ns":1}"#, #""tool_call" field "outcome": unknown value "timed_out" (expected one of success, error, timeout, short_circuited)"#),
            (#"{"type":"tool_call","tool":"t","outcome":"success","latency_ns":1,"latnecy_ns":2}"#, #""tool_call" has no field "latnecy_ns" (its fields: tool, outcome, latency_ns, fallback)"#),
            (#"{"type":"tool_call","tool":"t","outcome":"success","latency_ns":1,"fallback":1}"#, #""tool_call" field "fallback": expected true or false, got number 1"#),
            (#"{"type":"tool_call","tool":5,"outcome":"success","latency_ns":1}"#, #""tool_call" field "tool": expected a string, got number 5"#),
            (#"{"type":"queue_sample","ts":"1969-12-31T23:59:59Z","queue":"q","depth":1,"capacity":2}"#, #""ts": "1969-12-31T23:59:59Z" is out of range: a log stores times from 1970-01-01T00:00:00Z … 2554-07-21T23:34:33.709551615Z"#),
            (#"{"type":"queue_sample","ts":"yesterday","queue":"q","depth":1,"capacity":2}"#, #""ts": "yesterday" is not an RFC 3339 UTC time such as 2025-01-31T12:00:00.123456789Z"#),
            (#"{"type":"queue_sample","source":3,"queue":"q","depth":1,"capacity":2}"#, #""source": expected a string, got number 3"#),
        ]
        for (line, message) in cases {
            #expect(error(line) == message, "\(line)")
        }
        // Broken JSON and a key given twice are errors too (their messages name the column).
        #expect(error(#"{"type":"queue_sample","queue":"q","queue":"r","depth":1,"capacity":2}"#) != nil)
        #expect(error(#"{"type":"queue_sample""#) != nil && error("[1]") != nil && error("") != nil)
    }

    @Test func lenientAcceptsAndReportsUnknownFieldsAndNullIsAbsent() throws {
        let line = #"{"type":"tool_call","tool":"t","outcome":"success","latency_ns":1,"zeta":1,"alpha":[1,2]}"#
        #expect(error(line) != nil)
        let parsed = try parse(line, lenient: true).get()
        #expect(parsed.unknownFields == ["alpha", "zeta"])
        let nulls = try parse(#"{"type":"tool_call","ts":null,"tool":"t","outcome":"success","latency_ns":1,"fallback":null}"#).get()
        #expect(nulls.record.timestamp == 7 && nulls.record.numbers[2] == 0 && nulls.source == nil)
        #expect(error(#"{"type":"tool_call","tool":"t","outcome":null,"latency_ns":1}"#) == #""tool_call" is missing required field "outcome""#)
    }
}

/// `tail --type/--where` filters in process.
@Suite struct EventFilterTests {
    func record(_ type: EventType, labels: [String], numbers: [UInt64], seq: UInt64 = 1, source: String = "api") -> EventRecord {
        EventRecord(type: type, seq: seq, timestamp: 0, labels: labels, numbers: numbers, source: source)
    }

    @Test func typesAndConditionsSelectRecords() throws {
        let timeout = record(.toolCall, labels: ["crm"], numbers: [2, 30_000_000_000, 1])
        let ok = record(.toolCall, labels: ["crm"], numbers: [0, 5, 0], seq: 2)
        let queue = record(.queueSample, labels: ["q"], numbers: [7, 10], seq: 3, source: "worker")
        let f = try EventFilter(types: ["tool_call"], wheres: ["outcome=timeout"])
        #expect(f.matches(timeout) && !f.matches(ok) && !f.accepts(.queueSample))
        let depth = try EventFilter(types: [], wheres: ["depth=007", "source=worker"])
        #expect(depth.matches(queue) && !depth.matches(timeout))
        let seq = try EventFilter(types: ["tool_call,queue_sample"], wheres: ["seq=2"])
        #expect(seq.matches(ok) && !seq.matches(timeout) && seq.accepts(.queueSample))
        #expect(try EventFilter(types: [], wheres: ["tool=crm"]).matches(timeout))
    }

    @Test func comparisonsDurationsWithUnitsAndTimeWindows() throws {
        let slow = EventRecord(type: .toolCall, seq: 5, timestamp: 2_000, labels: ["crm"], numbers: [2, 1_500_000_000, 1], source: "api")
        let fast = EventRecord(type: .toolCall, seq: 6, timestamp: 3_000, labels: ["kb"], numbers: [0, 250_000_000, 0], source: "api")
        func select(_ wheres: [String]) throws -> [UInt64] {
            let f = try EventFilter(types: [], wheres: wheres)
            return [slow, fast].filter(f.matches).map(\.seq)
        }
        let cases: [([String], [UInt64])] = [
            (["latency>1s"], [5]), (["latency>=250ms"], [5, 6]), (["latency<1.5s"], [6]),
            (["latency_ns<=250000000"], [6]), (["latency_ns>1s"], [5]),
            (["tool!=crm"], [6]), (["outcome!=success"], [5]), (["seq>5"], [6]),
            (["source!=api"], []), (["type!=tool_call"], []), (["latency>1s", "tool=crm"], [5]),
        ]
        for (wheres, seqs) in cases {
            #expect(try select(wheres) == seqs, "\(wheres)")
        }
        #expect(EventFilter.duration("1.5s") == 1_500_000_000 && EventFilter.duration("2m") == 120_000_000_000
                && EventFilter.duration("30us") == 30_000 && EventFilter.duration("7ns") == 7 && EventFilter.duration("1d") == 86_400_000_000_000)
        #expect(EventFilter.duration("s") == nil && EventFilter.duration("1.5") == nil && EventFilter.duration("-1s") == nil && EventFilter.duration("1x") == nil)
        var window = try EventFilter(types: [], wheres: [])
        try window.limitTime(since: "1970-01-01T00:00:00.000002500Z", until: nil, now: 10_000)
        #expect([slow, fast].filter(window.matches).map(\.seq) == [6])
        try window.limitTime(since: "-9us", until: "-7.5us", now: 10_000)
        #expect([slow, fast].filter(window.matches).map(\.seq) == [5], "since 1,000 ns, until 2,500 ns")
        #expect(throws: CLIError.self) { try window.limitTime(since: "now", until: "-1m", now: 10_000_000_000_000) }
        #expect(throws: CLIError.self) { try window.limitTime(since: "yesterday", until: nil, now: 1) }
    }

    /// `--since`/`--until` take RFC 3339 with any offset, and a time ago; `duration_ns` (and
    /// every `*_ns` field) takes a unit under either name.
    @Test func timesWithOffsetsAndDurationsUnderEitherName() throws {
        let z = try EventFilter.time("2026-12-03T06:00:00Z", flag: "--since", now: 0)
        #expect(try EventFilter.time("2026-12-03T08:00:00+02:00", flag: "--since", now: 0) == z)
        #expect(try EventFilter.time("2026-12-03T01:30:00-04:30", flag: "--since", now: 0) == z)
        #expect(try EventFilter.time("2026-12-03T06:00:00+00:00", flag: "--since", now: 0) == z)
        #expect(try EventFilter.time("2026-12-03T06:00:00.5+01:00", flag: "--since", now: 0) == z - 3_600_000_000_000 + 500_000_000)
        #expect(try EventFilter.time("-15m", flag: "--since", now: 1_000_000_000_000) == 100_000_000_000)
        for bad in ["2026-12-03T06:00:00+25:00", "2026-12-03T06:00:00+0200", "2026-12-03T06:00+02:00", "15m", "-15", "1970-01-01T00:00:00+01:00"] {
            #expect(throws: CLIError.self, "\(bad)") { try EventFilter.time(bad, flag: "--since", now: 0) }
        }
        let f = try EventFilter(types: [], wheres: ["duration_ns>=250ms"])
        let c = try #require(f.conditions.first)
        #expect(c.key == "duration_ns" && c.number == 250_000_000 && c.op == .greaterOrEqual)
        let g = try EventFilter(types: [], wheres: ["duration>1s", "duration_ns!=2s"])
        #expect(g.conditions.map(\.key) == ["duration_ns", "duration_ns"] && g.conditions.map(\.number) == [1_000_000_000, 2_000_000_000])
    }

    @Test func shortOptionsTakeAttachedValues() throws {
        let a = try Arguments(["-n5", "-ojson", "path"], spec: TailCommand.spec)
        #expect(a.value("-n") == "5" && a.value("-o") == "json" && a.positional == ["path"])
    }

    @Test func aFilterThatCannotMatchIsAUsageError() {
        for (types, wheres, part) in [
            (["tool_cal"], [String](), "unknown event type"), ([","], [], "no event type given"),
            ([], ["outcome"], "expected key=value"), ([], ["=x"], "expected key=value"),
            ([], ["latnecy_ns=1"], "no event has a field named"), ([], ["depth=-1"], "depth"),
            (["queue_sample"], ["tool=crm"], "tool"),
            ([], ["tool<crm"], "compares numbers"), ([], ["latency>1"], "not a duration with a unit"),
            ([], ["latency>fast"], "not a duration"), (["queue_sample"], ["outcome!=success"], "outcome"),
        ] {
            #expect {
                _ = try EventFilter(types: types, wheres: wheres)
            } throws: { error in
                guard let e = error as? CLIError else { return false }
                return e.isUsage && e.message.contains(part)
            }
        }
    }
}

/// The rule thresholds file and the renderer, in process.
@Suite struct RuleThresholdsTests {
    @Test func durationsParseAsPrometheusDoes() {
        #expect(RuleThresholds.PromDuration("5m")?.milliseconds == 300_000)
        #expect(RuleThresholds.PromDuration("1h30m")?.milliseconds == 5_400_000)
        #expect(RuleThresholds.PromDuration("1d2h3m4s5ms")?.milliseconds == 93_784_005)
        #expect(RuleThresholds.PromDuration("0")?.milliseconds == 0)
        for bad in ["", "5", "m", "30m1h", "1m1m", "-5m", "1.5m", "5 m"] {
            #expect(RuleThresholds.PromDuration(bad) == nil, "\(bad)")
        }
    }

    @Test func theDefaultsRenderTheCheckedInRules() throws {
        let (text, records, alerts) = RuleRenderer.render(.defaults)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let checkedIn = try String(contentsOf: root.appendingPathComponent("alerts/orchlog.rules.yml"), encoding: .utf8)
        #expect(text == checkedIn)
        #expect(records > 0 && alerts > 0 && text.components(separatedBy: "- alert: ").count - 1 == alerts)
        #expect(RuleRenderer.number(0.05) == "0.05" && RuleRenderer.number(3) == "3" && RuleRenderer.number(14.4) == "14.4")
    }

    @Test func everyProblemOfAFileIsListedWithItsPath() throws {
        let path = FileManager.default.temporaryDirectory.path + "/orchlog-thresholds-\(UInt32.random(in: 0...UInt32.max)).yml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
        state:
          lost_updates:
            threshold: -1
            for: 5 minutes
        nonsense: 1

        """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try RuleThresholds.load(path: path)
        } throws: { error in
            guard let invalid = error as? RuleThresholds.Invalid else { return false }
            let paths = Set(invalid.problems.map(\.path))
            return invalid.problems.count >= 3 && paths.contains("state.lost_updates.threshold")
                && paths.contains("state.lost_updates.for") && invalid.problems.contains { $0.path.contains("nonsense") || $0.message.contains("nonsense") }
                && invalid.problems.allSatisfy { $0.file == path && $0.line != nil }
        }
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try RuleThresholds.load(path: path) == .defaults, "an empty file means the defaults")
    }
}
