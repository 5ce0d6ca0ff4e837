import Glibc

/// A file a command writes once its work is done (a run summary, a collector checkpoint).
/// Checked before the work starts, so a mistyped or unwritable path fails at once instead of
/// after minutes of work whose result is then lost.
package enum OutputPath {
    /// Checks that `path` can be written now: created, or replaced by a rename in its
    /// directory (how atomic writes work). Its directory must exist and be writable and
    /// searchable; an existing `path` must not be a directory and must be writable. Nothing is
    /// created.
    /// - Parameter flag: the option that gave `path`, to name in the error.
    /// - Throws: `OrchLogError(.io)`: "`flag` `path`: cannot write: why".
    package static func checkWritable(_ path: String, flag: String) throws {
        func fail(_ why: String) -> OrchLogError { OrchLogError(.io, "\(flag) \(path): cannot write: \(why)") }
        guard !path.isEmpty else { throw fail("empty path") }
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) != S_IFDIR else { throw fail("it is a directory (give a file name)") }
            guard access(path, W_OK) == 0 else { throw fail(String(cString: strerror(errno))) }
        }
        let dir: String
        if let slash = path.lastIndex(of: "/") {
            dir = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            dir = "."
        }
        guard stat(dir, &st) == 0 else {
            throw fail(errno == ENOENT ? "directory \(dir) does not exist" : "directory \(dir): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw fail("\(dir) is not a directory") }
        guard access(dir, W_OK | X_OK) == 0 else {
            throw fail("cannot create files in \(dir): \(String(cString: strerror(errno)))")
        }
    }
}
