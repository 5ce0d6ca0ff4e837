import Glibc

/// Wakes a follower (`tail -f`, the collector) when files change: inotify on the watched directories as a hint, with a
/// timeout as the polling fallback (so a missed or unsupported notification only delays).
package final class DirectoryWatcher {
    private let fd: Int32
    private var watched: Set<String> = []

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
            if inotify_add_watch(fd, p, mask) >= 0 { watched.insert(p) }
        }
    }

    /// Waits until something changes or `timeoutMs` passes.
    package func wait(timeoutMs: Int32) {
        guard fd >= 0 else {
            usleep(UInt32(timeoutMs) * 1000)
            return
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, timeoutMs)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
