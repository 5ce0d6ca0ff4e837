import Foundation
import Glibc
import OrchFlags

/// `orchlog rules`: renders the Prometheus rule file from a deployment's thresholds file (or
/// the defaults), or checks a thresholds file.
enum RulesCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: spec)
        if args.has("--help") { Output.out(spec.help); return 0 }
        guard args.positional.isEmpty else {
            throw CLIError.usage("rules: unexpected argument \(args.positional[0]) (see --help)")
        }
        for name in ["--config", "--out", "--check"] where args.all(name).count > 1 {
            throw CLIError.usage("rules: \(name) given more than once")
        }
        // --group-by a,b and --group-by a --group-by b say the same.
        let groupBy = args.all("--group-by").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }

        if let file = args.value("--check") {
            guard !args.has("--config", "--out") else {
                throw CLIError.usage("rules: --check FILE only validates; it takes no --config or --out")
            }
            guard var thresholds = load(file, then: "") else { return 1 }
            try group(&thresholds, by: groupBy)
            let rendered = RuleRenderer.render(thresholds)
            Output.out("\(file): ok (\(rendered.records) recording rules, \(rendered.alerts) alerting rules)")
            return 0
        }

        let out = args.value("--out")
        if let out, out.hasSuffix(".yml") || out.hasSuffix(".yaml") {
            throw CLIError.usage("rules: --out takes a directory (the file in it is \(RuleRenderer.fileName)), not \(out)")
        }
        var thresholds = RuleThresholds.defaults
        if let file = args.value("--config") {
            guard let loaded = load(file, then: out == nil ? "nothing rendered" : "nothing written") else { return 1 }
            thresholds = loaded
        }
        try group(&thresholds, by: groupBy)
        // Render to memory first; only a complete rendering is ever written.
        let rendered = RuleRenderer.render(thresholds)
        guard let out else {
            Output.out(String(rendered.text.dropLast()))
            return 0
        }
        let path = try write(rendered.text, inDirectory: out)
        Output.out("\(path): \(rendered.records) recording rules, \(rendered.alerts) alerting rules")
        return 0
    }

    /// Sets `--group-by`'s labels, or throws a usage error naming every problem with them.
    private static func group(_ thresholds: inout RuleThresholds, by labels: [String]) throws {
        let problems = RuleThresholds.groupByProblems(labels, extraLabels: thresholds.extraLabels)
        guard problems.isEmpty else { throw CLIError.usage("rules: --group-by: " + problems.joined(separator: "; ")) }
        thresholds.groupBy = labels
    }

    /// Loads `file`; on problems prints each as its own line, then a summary, and returns nil.
    private static func load(_ file: String, then consequence: String) -> RuleThresholds? {
        do {
            return try RuleThresholds.load(path: file)
        } catch let invalid as RuleThresholds.Invalid {
            for problem in invalid.problems { Output.err("orchlog: \(problem)") }
            let n = invalid.problems.count
            Output.err("orchlog: \(file): \(n) problem\(n == 1 ? "" : "s")\(consequence.isEmpty ? "" : "; " + consequence)")
            return nil
        } catch {
            Output.err("orchlog: \(file): \(error)")
            return nil
        }
    }

    /// Writes `text` to `dir/orchlog.rules.yml` atomically: a temporary file in `dir`, fsync,
    /// rename over the old file, fsync of the directory. Prometheus reloading at any moment
    /// sees the old rules or the new ones, never half a file. Returns the path.
    /// - Throws: `CLIError.failure` naming the path and the system error.
    static func write(_ text: String, inDirectory dir: String) throws -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CLIError.failure("\(dir): not a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw CLIError.failure("\(dir): cannot create directory: \((error as NSError).localizedDescription)")
            }
        }
        let path = (dir.hasSuffix("/") ? dir : dir + "/") + RuleRenderer.fileName
        let tmp = (dir.hasSuffix("/") ? dir : dir + "/") + ".\(RuleRenderer.fileName).tmp.\(getpid())"
        func failure(_ what: String) -> CLIError { CLIError.failure("\(what): \(String(cString: strerror(errno)))") }

        var fd: Int32
        repeat { fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw failure("cannot create \(tmp)") }
        var renamed = false
        defer { if !renamed { unlink(tmp) } }
        do {
            defer { close(fd) }
            let bytes = Array(text.utf8)
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw failure("cannot write \(tmp)") }
                done += n
            }
            var rc: Int32
            repeat { rc = fsync(fd) } while rc < 0 && errno == EINTR
            guard rc == 0 else { throw failure("fsync \(tmp)") }
        }
        guard rename(tmp, path) == 0 else { throw failure("cannot rename \(tmp) to \(path)") }
        renamed = true
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
        return path
    }
}
