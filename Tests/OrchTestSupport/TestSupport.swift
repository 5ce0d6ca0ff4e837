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
public func run(_ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, cwd: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
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
    var found: [LogProblem] = []
    let records = try SourceReader.readAll(path) { found.append($0) }
    problems = found
    return records
}

/// The complete frames at the start of a segment file, up to the first that is not one:
/// (offset, header) each.
package func segmentFrames(_ path: String) throws -> [(offset: Int64, header: FrameHeader)] {
    let reader = try SegmentReader(path: path)
    var frames: [(offset: Int64, header: FrameHeader)] = []
    var offset = SegmentReader.firstFrameOffset
    while case let .frame(h, at) = try reader.readFrame(at: offset) {
        frames.append((at, h))
        offset = at + Int64(h.frameLength)
    }
    return frames
}

/// Reads every event, ignoring problems.
public func readAll(_ path: String) throws -> [EventRecord] {
    var problems: [LogProblem] = []
    return try readAll(path, problems: &problems)
}

/// A background process whose output goes to files, for daemons under test.
public final class Daemon: @unchecked Sendable {  // used from one test at a time
    public let process = Process()
    public let stdoutPath: String
    public let stderrPath: String

    public init(_ executable: String, _ arguments: [String], dir: TempDir, name: String, environment: [String: String]? = nil) throws {
        stdoutPath = dir.sub("\(name).out")
        stderrPath = dir.sub("\(name).err")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            process.environment = env
        }
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Polls `condition` every 50 ms until it holds or `timeout` seconds pass.
    @discardableResult
    public static func waitUntil(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    /// The first match of `pattern`'s first capture group in stderr, waiting up to `timeout`.
    public func waitForStderr(_ pattern: String, timeout: Double = 20) -> String? {
        let regex = try? NSRegularExpression(pattern: pattern)
        var found: String?
        Daemon.waitUntil(timeout: timeout) {
            let text = stderr
            guard let m = regex?.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return false }
            let r = m.numberOfRanges > 1 ? m.range(at: 1) : m.range
            found = Range(r, in: text).map { String(text[$0]) }
            return true
        }
        return found
    }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Sends SIGTERM and waits for exit; returns the status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { signal(SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Starts `orchlog-collector` on a kernel-chosen loopback port; returns it and the port.
public func startCollector(_ args: [String], dir: TempDir, name: String = "collector") throws -> (Daemon, Int) {
    let daemon = try Daemon(binaryPath("orchlog-collector"), ["--web.listen-address", "127.0.0.1:0"] + args, dir: dir, name: name)
    guard let port = daemon.waitForStderr(#"serving https?://[^:]+:(\d+)/"#).flatMap(Int.init) else {
        throw TestFailure("collector did not start: \(daemon.stderr)")
    }
    return (daemon, port)
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Runs curl with `args`; returns (status, stdout).
public func curl(_ args: [String]) throws -> ProcessResult {
    try run("/usr/bin/curl", ["-s", "--max-time", "20"] + args)
}

/// Parses a text exposition into "name{labels}" → value.
public func parseExposition(_ text: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        let key = String(line[..<space])
        let value = String(line[line.index(after: space)...])
        out[key] = Double(value) ?? (value == "+Inf" ? .infinity : value == "-Inf" ? -.infinity : .nan)
    }
    return out
}

/// Parses a JSON file into a dictionary.
public func readJSON(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
}

/// A loopback TCP port that was free a moment ago (bind to port 0, read it, close).
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A real Prometheus server scraping `targets` every second, with `ruleFiles` loaded.
public final class PrometheusServer: @unchecked Sendable {  // used from one test
    public let daemon: Daemon
    public let port: Int

    /// - Parameter arguments: more command-line arguments (`--enable-feature=exemplar-storage`).
    public init(targets: [String], ruleFiles: [String] = [], dir: TempDir, evaluationInterval: String = "1s", arguments: [String] = []) throws {
        port = freePort()
        let rules = ruleFiles.isEmpty ? "" : "rule_files:\n" + ruleFiles.map { "  - \($0)\n" }.joined()
        let config = """
        global:
          scrape_interval: 1s
          evaluation_interval: \(evaluationInterval)
        \(rules)scrape_configs:
          - job_name: orchlog
            static_configs:
              - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]

        """
        try config.write(toFile: dir.sub("prometheus.yml"), atomically: true, encoding: .utf8)
        daemon = try Daemon("/usr/bin/prometheus", ["--config.file", dir.sub("prometheus.yml"), "--storage.tsdb.path", dir.sub("tsdb"),
                                                   "--web.listen-address", "127.0.0.1:\(port)"] + arguments, dir: dir, name: "prometheus")
        guard Daemon.waitUntil(timeout: 30, { (try? curl(["-f", "http://127.0.0.1:\(port)/-/ready"]))?.status == 0 }) else {
            throw TestFailure("prometheus did not become ready: \(daemon.stderr.suffix(2000))")
        }
    }

    /// Runs an instant query; returns the result vector as (labels, value).
    public func query(_ promql: String) throws -> [([String: String], Double)] {
        let r = try curl(["-G", "http://127.0.0.1:\(port)/api/v1/query", "--data-urlencode", "query=\(promql)"])
        guard let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let data = obj["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw TestFailure("bad query response: \(r.stdout)")
        }
        return result.map { item in
            let metric = item["metric"] as? [String: String] ?? [:]
            let value = (item["value"] as? [Any])?.last as? String ?? "NaN"
            return (metric, Double(value) ?? .nan)
        }
    }

    /// `/api/v1/query_exemplars` over the last and next hour: per series, its labels and its
    /// exemplars (each `labels`, `value`, `timestamp`).
    public func exemplars(_ promql: String) throws -> [(series: [String: String], exemplars: [[String: Any]])] {
        let now = Date().timeIntervalSince1970
        let r = try curl(["-G", "http://127.0.0.1:\(port)/api/v1/query_exemplars", "--data-urlencode", "query=\(promql)",
                          "--data-urlencode", "start=\(now - 3600)", "--data-urlencode", "end=\(now + 3600)"])
        guard let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], let data = obj["data"] as? [[String: Any]] else {
            throw TestFailure("bad query_exemplars response: \(r.stdout)")
        }
        return data.map { ($0["seriesLabels"] as? [String: String] ?? [:], $0["exemplars"] as? [[String: Any]] ?? []) }
    }

    /// The firing and pending alerts.
    public func alerts() throws -> [[String: Any]] {
        let r = try curl(["http://127.0.0.1:\(port)/api/v1/alerts"])
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return ((obj?["data"] as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
    }

    public func stop() { daemon.stop() }
}

/// Runs `executable` under GNU time and returns its exit status and its own peak resident
/// set in KiB. (Not wait4 from here: Linux carries the parent's high-water mark across the
/// exec of a vforked child, so the test runner's size would leak into the figure.)
public func runMeasuringPeakRSS(_ executable: String, _ arguments: [String], in dir: TempDir) throws -> (status: Int32, maxRSSKiB: Int) {
    let out = dir.sub("rss-\(UUID().uuidString.prefix(8))")
    let r = try run("/usr/bin/time", ["-f", "%M", "-o", out, executable] + arguments)
    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    // GNU time writes "Command exited with non-zero status N" or "Command terminated by signal N" first.
    let kib = text.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
    return (text.contains("terminated by signal") ? -1 : r.status, kib)
}
