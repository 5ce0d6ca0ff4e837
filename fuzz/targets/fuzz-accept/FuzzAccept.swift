import OrchCollector

/// libFuzzer entry point: one input is an `Accept` or `Accept-Encoding` header value.
/// Negotiation must pick a format and never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccept(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let header = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    _ = ContentNegotiation.format(accept: header)
    _ = ContentNegotiation.acceptsGzip(acceptEncoding: header)
    for range in ContentNegotiation.parseAccept(header) {
        precondition(range.quality >= 0 && range.quality <= 1, "quality out of range: \(range)")
    }
    for coding in ContentNegotiation.parseAcceptEncoding(header) {
        precondition(coding.quality >= 0 && coding.quality <= 1, "quality out of range: \(coding)")
    }
    return 0
}
