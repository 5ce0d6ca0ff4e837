import Foundation
import Glibc

/// The process_* figures, read from getrusage and /proc.
struct ProcessStats {
    var cpuSeconds: Double = 0
    var residentBytes: Double = 0
    var virtualBytes: Double = 0
    var openFDs: Double = 0
    var maxFDs: Double = 0

    static func read() -> ProcessStats {
        var p = ProcessStats()
        var usage = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
            p.cpuSeconds = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let parts = statm.split(separator: " ")
            let page = Double(sysconf(Int32(_SC_PAGESIZE)))
            if parts.count >= 2 {
                p.virtualBytes = (Double(parts[0]) ?? 0) * page
                p.residentBytes = (Double(parts[1]) ?? 0) * page
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            p.openFDs = Double(fds.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { p.maxFDs = Double(limit.rlim_cur) }
        return p
    }
}
