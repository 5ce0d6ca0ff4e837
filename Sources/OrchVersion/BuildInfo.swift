import COrchBuildInfo

/// What the executables say about their build: `--version` and `orchlog_collector_build_info`,
/// in the shape Prometheus exporters print (`node_exporter --version`).
public enum BuildInfo {
    /// The release, kept equal to the newest tag (`git tag 0.1.0`).
    public static let version = "0.1.0"

    /// The git commit built, with `-dirty` when the tree had uncommitted changes; "unknown"
    /// when built outside a git checkout. SwiftPM reads it when it evaluates Package.swift,
    /// which a build directory does once: exact in a clean build (CI, `make release` in a
    /// fresh clone), possibly an earlier commit in an incremental one (`rm -rf .build`).
    public static let revision = String(cString: orchlog_build_revision())

    /// When the build-info file was compiled, as `YYYYMMDD-HH:MM:SS` (local time of the build).
    public static let buildDate: String = {
        // __DATE__ is "Mmm dd yyyy" (day space-padded), __TIME__ "hh:mm:ss".
        let date = String(cString: orchlog_build_date()), time = String(cString: orchlog_build_time())
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = date.split(separator: " ")
        guard parts.count == 3, let m = months.firstIndex(of: String(parts[0])), let d = Int(parts[1]) else { return "\(date) \(time)" }
        return "\(parts[2])\(m < 9 ? "0" : "")\(m + 1)\(d < 10 ? "0" : "")\(d)-\(time)"
    }()

    /// The Swift compiler's language version, major.minor.
    public static let swiftVersion: String = {
        #if compiler(>=6.5)
        return "6.5+"
        #elseif compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()

    /// `linux/amd64`, `linux/arm64`: GOOS/GOARCH spelling, as exporters print it.
    public static let platform: String = {
        #if arch(x86_64)
        let arch = "amd64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "unknown"
        #endif
        #if os(Linux)
        return "linux/" + arch
        #else
        return "unknown/" + arch
        #endif
    }()

    /// The `--version` text of `program`:
    ///
    ///     orchlog-collector, version 0.1.0 (revision: 4aff1db…)
    ///       build date:       20261203-06:25:00
    ///       swift version:    6.3
    ///       platform:         linux/amd64
    public static func versionText(program: String) -> String {
        """
        \(program), version \(version) (revision: \(revision))
          build date:       \(buildDate)
          swift version:    \(swiftVersion)
          platform:         \(platform)
        """
    }
}
