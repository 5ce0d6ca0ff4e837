// Guide sections "Testing your instrumentation" and "Reading the log from your own tools"
// (docs/instrumenting.md).
import OrchLog

// guide:begin test-double
/// A unit test of the breaker, with no directory and no thread: an in-memory log records
/// exactly what the component emitted. (In Swift Testing: `#expect(log.recordedEvents == …)`.)
func breakerOpensAfterThreeFailures() -> Bool {
    let log = EventLog.inMemory()
    let breaker = CircuitBreaker(log: log, tool: "crm", threshold: 3)
    for _ in 0..<3 { breaker.record(success: false) }
    return log.recordedEvents == [.breakerTransition(tool: log.label("crm"), from: .closed, to: .open)]
        && log.recordedRecords.map(\.seq) == [1]
}
// guide:end test-double

// guide:begin reader
/// A tool of your own over the log: every event of every source under `root`, in write
/// order, with strings resolved (`SourceReader(source:)` and `poll(records:)` follow a live
/// writer instead).
func toolTimeouts(root: String) throws -> [String: Int] {
    var byTool: [String: Int] = [:]
    for record in try SourceReader.readAll(root) where record.type == .toolCall {
        if record.text(of: "outcome") == "timeout" { byTool[record.text(of: "tool") ?? "", default: 0] += 1 }
    }
    return byTool
}
// guide:end reader
