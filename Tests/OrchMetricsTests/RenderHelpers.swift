import OrchMetrics

/// Renders a registry in a format and decodes the bytes as UTF-8.
func rendered(_ registry: MetricRegistry, _ format: ExpositionFormat) -> String {
    var buffer: [UInt8] = []
    registry.render(format: format, into: &buffer)
    return String(decoding: buffer, as: UTF8.self)
}

/// The sample lines (not comments) of an exposition.
func sampleLines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: true)
        .map(String.init)
        .filter { !$0.hasPrefix("#") }
}
