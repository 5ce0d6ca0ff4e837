import Foundation

/// A fresh directory for one benchmark's logs, under `BenchConfig.baseDirectory`; removed by `remove()`.
struct TempDirectory {
    let path: String

    /// - Throws: `BenchError` when the directory cannot be created.
    init(_ name: String, under base: String) throws {
        path = base + "/orchlog-bench-\(name)-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw BenchError("cannot create \(path): \(error.localizedDescription)")
        }
    }

    func sub(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
