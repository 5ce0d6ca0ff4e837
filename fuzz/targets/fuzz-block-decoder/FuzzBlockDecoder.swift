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
        // A decoded block resolves every label it references, as rows and as columns.
        let strings = decoder.strings
        for e in events {
            _ = EventRecord(raw: e, strings: strings).text(of: "outcome")
        }
        let table = decoder.stringTable
        decoder.columns.withView { v in
            for type in EventType.allCases where v.count(type) > 0 {
                for slot in 0..<EventSchema.of(type).labelCount {
                    for index in v.label(type, slot) { _ = table.withBytes(Int(index)) { $0.count } }
                }
            }
        }
    } catch is OrchLogError {
    } catch {
        fatalError("unexpected error type: \(error)")  // fuzz harness only: surfaces as a crash
    }
    return 0
}
