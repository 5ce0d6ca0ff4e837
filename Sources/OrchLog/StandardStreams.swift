import Glibc

/// Standard input, output and error of a process that may have been started with some of them
/// closed (`cmd <&-`, `2>&-`, a careless supervisor).
package enum StandardStreams {
    /// Opens `/dev/null` onto each of file descriptors 0, 1 and 2 that is closed, and returns
    /// the closed ones. Call it first thing in `main`, before anything opens a file: `open`
    /// returns the lowest free descriptor, so otherwise the first file opened (a log segment, a
    /// writer's `.lock`, a checkpoint) would become "standard input" and be read as input, or
    /// "standard error" and have messages written into it.
    @discardableResult
    package static func reopenClosed() -> Set<Int32> {
        var closed = Set<Int32>()
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            closed.insert(fd)
            var null: Int32
            repeat { null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) } while null < 0 && errno == EINTR
            if null >= 0 && null != fd {
                dup2(null, fd)
                close(null)
            }
        }
        return closed
    }
}
