import OrchLog
@testable import OrchCLI

/// libFuzzer entry point: one input is one NDJSON line as a client could send it to the relay.
/// The parsers must never trap; and every line the relay's fast path takes, the full parser
/// takes too, with the same type, timestamp, numbers, labels and source (the property
/// FastEventParserTests checks on a fixed corpus, here on whatever libFuzzer finds).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let line = UnsafeBufferPointer(start: data, count: size)
    let bytes = Array(line)
    let parser = NDJSONEventParser(now: { 42 })
    let full = try? parser.parse(bytes[...])
    guard let fast = FastEventParser.parse(line) else { return 0 }
    guard let full else { fatalError("the fast path took a line the parser rejects") }
    let r = full.record
    precondition(fast.raw.type == r.type, "type")
    precondition(fast.hasTimestamp ? fast.raw.timestamp == r.timestamp : r.timestamp == 42, "timestamp")
    for (i, n) in r.numbers.enumerated() { precondition(fast.raw.number(i) == n, "number \(i)") }
    for (i, text) in r.labels.enumerated() {
        let (start, count) = fast.label(i)
        precondition((count < 0 ? "" : String(decoding: bytes[start..<start + count], as: UTF8.self)) == text, "label \(i)")
    }
    let source = fast.sourceCount < 0 ? nil : String(decoding: bytes[fast.sourceStart..<fast.sourceStart + fast.sourceCount], as: UTF8.self)
    precondition(source == full.source, "source")
    return 0
}
