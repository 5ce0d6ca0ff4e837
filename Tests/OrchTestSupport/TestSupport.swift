import Foundation
import OrchLog

/// A fresh temporary directory for one test; removed by `remove()`.
public struct TempDir: Sendable {
    public let path: String

    public init(_ name: String = "test") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/orchlog-\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func sub(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The result of running a process.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Where the package's built executables are: `ORCHLOG_BIN_DIR`, else beside the test bundle.
public func binaryPath(_ name: String) -> String {
    if let dir = ProcessInfo.processInfo.environment["ORCHLOG_BIN_DIR"] { return dir + "/" + name }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" {
        let candidate = url.deletingLastPathComponent().appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
        url = url.deletingLastPathComponent()
    }
    return FileManager.default.currentDirectoryPath + "/.build/debug/" + name
}

/// Runs `executable` with `arguments`, feeding `stdin`, and collects its output.
public func run(_ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    // Read both pipes concurrently so a large output cannot deadlock.
    let errData = LockedData()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData.set(err.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData.get(), as: UTF8.self))
}

/// Runs one of the package's executables.
public func runTool(_ name: String, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    try run(binaryPath(name), arguments, stdin: stdin, environment: environment)
}

final class LockedData: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Reads every event of a source directory (or root) with the library reader.
public func readAll(_ path: String, problems: inout [LogProblem]) throws -> [EventRecord] {
    var records: [EventRecord] = []
    var found: [LogProblem] = []
    for source in try LogDirectory.sources(at: path) {
        let reader = SourceReader(source: source)
        reader.onProblem = { found.append($0) }
        try reader.poll { block in
            for e in block.events { records.append(EventRecord(raw: e, strings: block.strings, source: source.name)) }
        }
    }
    problems = found
    return records
}

/// Reads every event, ignoring problems.
public func readAll(_ path: String) throws -> [EventRecord] {
    var problems: [LogProblem] = []
    return try readAll(path, problems: &problems)
}
