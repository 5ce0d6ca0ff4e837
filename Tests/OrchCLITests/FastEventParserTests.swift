import OrchLog
import Testing
@testable import OrchCLI

/// The relay's fast path must agree with the full NDJSON parser on every line it takes, and
/// take the plain lines clients send (otherwise it is dead weight).
@Suite struct FastEventParserTests {
    let parser = NDJSONEventParser(now: { 42 })

    /// One plain line per event type with every field set, and the fields as NDJSON members.
    static func plainLines() -> [String] {
        EventType.allCases.enumerated().map { i, type in
            var members = ["\"type\":\"\(type.name)\"", "\"ts\":\"2026-02-2\(i % 9)T1\(i % 10):0\(i % 10):5\(i % 10).\(String(repeating: "7", count: 1 + i % 9))Z\"", "\"source\":\"svc-\(i)\""]
            for (k, field) in EventSchema.of(type).fields.enumerated() {
                switch field.kind {
                case .label: members.append("\"\(field.name)\":\"\(field.name)-value \(k)\"")
                case .enumeration(let names): members.append("\"\(field.name)\":\"\(names[k % names.count])\"")
                case .flag: members.append("\"\(field.name)\":\(k % 2 == 0 ? "true" : "false")")
                case .number, .nanoseconds: members.append("\"\(field.name)\":\(k == 0 ? "9999999999999999999" : "\(1_000_003 * (k + 1))")")
                case .traceID: members.append("\"\(field.name)\":\"4bf92f3577b34da6a3ce929d0e0e47\(10 + k)\"")
                }
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    /// Variants of a plain line that the fast path must either decline or read exactly as
    /// the full parser does: each is a way a line can differ from the plain shape.
    static func variants(of line: String) -> [String] {
        var out: [String] = [line, " \(line) ", line + "\r", line.replacingOccurrences(of: ",", with: " , ")]
        out.append(line.replacingOccurrences(of: "\"source\":\"svc", with: "\"source\":\"sv\\u0063"))
        out.append(line.replacingOccurrences(of: "-value", with: "-välue"))
        out.append(line.replacingOccurrences(of: "-value", with: "\\\"value"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "18446744073709551615"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "18446744073709551616"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "1.0"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "3e9"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "007"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "-1"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "null"))
        out.append(line.replacingOccurrences(of: "9999999999999999999", with: "\"5\""))
        out.append(line.replacingOccurrences(of: "true", with: "1"))
        out.append(line.replacingOccurrences(of: "Z\"", with: "+00:00\""))
        out.append(line.replacingOccurrences(of: "Z\"", with: "\""))
        out.append(line.replacingOccurrences(of: "2026-02-2", with: "2025-02-2").replacingOccurrences(of: "-28T", with: "-29T"))
        out.append(line.replacingOccurrences(of: "2026-02-2", with: "2028-02-2").replacingOccurrences(of: "-28T", with: "-29T"))
        out.append(line.replacingOccurrences(of: "2026-", with: "2554-"))
        out.append(line.replacingOccurrences(of: "2026-", with: "1969-"))
        out.append(line.replacingOccurrences(of: ".7", with: ".1234567890"))
        out.append(line.replacingOccurrences(of: "\"ts\":", with: "\"tz\":"))
        out.append(line.replacingOccurrences(of: "\"source\":\"svc-", with: "\"seq\":5,\"source\":\"svc-"))
        out.append(line.replacingOccurrences(of: "{", with: "{\"source\":\"twice\","))
        out.append(line.replacingOccurrences(of: "}", with: ",\"extra\":1}"))
        out.append(line.replacingOccurrences(of: "}", with: ",}"))
        out.append(line + "x")
        out.append(String(line.dropLast()))
        // Each field left out, and each field given twice.
        let parts = line.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
        for i in parts.indices {
            var fewer = parts
            fewer.remove(at: i)
            out.append("{" + fewer.joined(separator: ",") + "}")
            out.append("{" + (parts + [parts[i]]).joined(separator: ",") + "}")
        }
        return out
    }

    @Test func everyLineTheFastPathTakesTheFullParserReadsTheSame() throws {
        var taken = 0, declined = 0
        for plain in Self.plainLines() {
            for line in Self.variants(of: plain) {
                let bytes = Array(line.utf8)
                let fast = bytes.withUnsafeBufferPointer { FastEventParser.parse($0) }
                let full = try? parser.parse(bytes[...])
                guard let fast else { declined += 1; continue }
                taken += 1
                let parsed = try #require(full, "the fast path took a line the parser rejects: \(line)")
                let record = parsed.record
                #expect(fast.raw.type == record.type, "\(line)")
                #expect(fast.hasTimestamp ? fast.raw.timestamp == record.timestamp : record.timestamp == 42, "\(line)")
                for (i, n) in record.numbers.enumerated() { #expect(fast.raw.number(i) == n, "number \(i) of \(line)") }
                for (i, text) in record.labels.enumerated() {
                    let (start, count) = fast.label(i)
                    let fastText = count < 0 ? "" : String(decoding: bytes[start..<start + count], as: UTF8.self)
                    #expect(fastText == text, "label \(i) of \(line)")
                }
                let fastSource = fast.sourceCount < 0 ? nil : String(decoding: bytes[fast.sourceStart..<fast.sourceStart + fast.sourceCount], as: UTF8.self)
                #expect(fastSource == parsed.source, "\(line)")
            }
        }
        #expect(taken > 0 && declined > 0)
    }

    @Test func thePlainLinesClientsSendTakeTheFastPath() {
        for line in Self.plainLines() {
            let bytes = Array(line.utf8)
            #expect(bytes.withUnsafeBufferPointer { FastEventParser.parse($0) } != nil, "\(line)")
        }
        // The relay's drop reports and the Python client's shape: no ts, source first.
        let report = Array(#"{"type":"events_dropped","source":"api","count":12,"reason":"client_dropped"}"#.utf8)
        #expect(report.withUnsafeBufferPointer { FastEventParser.parse($0) } != nil)
    }

    @Test func sourceNamesAreDirectoryNames() {
        #expect(Relay.sourceNameProblem("checkout-api.worker_3") == nil)
        for bad in ["", ".hidden", "-x", "a/b", "..", "a b", "é", String(repeating: "a", count: 129)] {
            #expect(Relay.sourceNameProblem(bad) != nil, "\(bad)")
        }
    }
}
