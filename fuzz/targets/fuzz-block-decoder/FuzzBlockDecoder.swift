import OrchLog

/// libFuzzer entry point: one input is one inflated block. Decoding must succeed or throw
/// `OrchLogError`, never trap, overrun or allocate past the limits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlockDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let block = UnsafeRawBufferPointer(start: data, count: size)
    var decoder = BlockDecoder()
    var events: [RawEvent] = []
    do {
        try decoder.decode(block, context: "fuzz", into: &events)
        // A decoded block resolves every label it references.
        for e in events {
            _ = EventRecord(raw: e, strings: decoder.strings).text(of: "outcome")
        }
    } catch is OrchLogError {
    } catch {
        fatalError("unexpected error type: \(error)")  // fuzz harness only: surfaces as a crash
    }
    return 0
}
