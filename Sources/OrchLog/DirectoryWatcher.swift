import Glibc

/// Wakes a follower (`tail -f`, the collector) when files change: inotify on the watched
/// directories as a hint, with a timeout as the polling fallback (so a missed or unsupported
/// notification only delays). `wait` says which watched directories changed, so a follower of
/// many sources reads only those.
package final class DirectoryWatcher {
    private let fd: Int32
    private var watched: Set<String> = []
    /// The path of each watch descriptor.
    private var paths: [Int32: String] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    package init(paths: [String]) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        refresh(paths)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Watches any of `paths` not yet watched.
    package func refresh(_ paths: [String]) {
        guard fd >= 0 else { return }
        for p in paths where !watched.contains(p) {
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)
            let wd = inotify_add_watch(fd, p, mask)
            if wd >= 0 {
                watched.insert(p)
                self.paths[wd] = p
            }
        }
    }

    /// Waits until something changes or `timeoutMs` passes. Returns the watched paths that
    /// changed (empty after a quiet timeout), or nil when inotify cannot tell (unavailable, or
    /// its queue overflowed): then anything may have changed.
    @discardableResult
    package func wait(timeoutMs: Int32) -> Set<String>? {
        guard fd >= 0 else {
            usleep(UInt32(timeoutMs) * 1000)
            return nil
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, timeoutMs)
        var changed: Set<String>? = []
        let header = MemoryLayout<inotify_event>.size
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { bytes in
                var at = 0
                while at + header <= n {
                    let wd = bytes.loadUnaligned(fromByteOffset: at, as: Int32.self)
                    let mask = bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                    let length = Int(bytes.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        changed = nil
                    } else if let path = paths[wd] {
                        changed?.insert(path)
                        if mask & UInt32(IN_IGNORED) != 0 {
                            // The directory went away: watch it again if it comes back.
                            paths[wd] = nil
                            watched.remove(path)
                        }
                    }
                    at += header + length
                }
            }
        }
        return changed
    }
}
