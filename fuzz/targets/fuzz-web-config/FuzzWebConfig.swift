import OrchCollector

/// libFuzzer entry point: one input is a web config file (exporter-toolkit YAML). Parsing
/// must return a config or throw `CollectorError`, never trap or hang on alias bombs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try WebConfig.parse(bytes, path: "/nonexistent/fuzz/web.yml")
    } catch is CollectorError {
    } catch {
        fatalError("unexpected error type: \(error)")  // fuzz harness only: surfaces as a crash
    }
    return 0
}
