import OrchLog

/// Thin wrappers over `LogDirectory` for the benchmarks.
enum OrchLogDirectory {
    /// Segment paths of a source directory, oldest first.
    static func segments(_ source: String) throws -> [String] {
        try LogDirectory.segments(in: source).map(\.path)
    }

    /// Total size in bytes of the segment files of a source directory (what the log costs on disk).
    static func segmentBytes(_ source: String) throws -> Int64 {
        var total: Int64 = 0
        for segment in try segments(source) { total += try LogDirectory.fileSize(segment) }
        return total
    }
}
