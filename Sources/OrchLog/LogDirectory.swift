import Glibc

/// A segment file in a source directory.
package struct SegmentFile: Sendable, Equatable {
    package let number: UInt64
    package let path: String

    package init(number: UInt64, path: String) {
        self.number = number
        self.path = path
    }
}

/// A source: one writer's directory.
public struct SourceDirectory: Sendable, Equatable {
    /// The directory's name (`SERVICE/INSTANCE` in a two-level root), as readers show it.
    public let name: String
    public let path: String
    /// The `source` label of its series by layout: its name, or SERVICE in a two-level root
    /// (the collector's `--source.group` may say otherwise).
    public let group: String

    public init(name: String, path: String, group: String? = nil) {
        self.name = name
        self.path = path
        self.group = group ?? name
    }
}

/// Lists sources and segments on disk.
public enum LogDirectory {
    /// The entries of a directory (names, without "." and "..").
    /// - Throws: `.io` naming the directory (missing, unreadable, not a directory).
    package static func entries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw OrchLogError.system("cannot read directory \(path)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The size of a file in bytes.
    package static func fileSize(_ path: String) throws -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw OrchLogError.system("stat \(path)") }
        return Int64(st.st_size)
    }

    /// When the directory (or file) at `path` last changed: the later of its modification and
    /// status-change times, in Unix nanoseconds (nil when it cannot be read). Creating,
    /// removing or renaming a file in a directory changes it; writing into a file does not.
    package static func changeTimeNs(_ path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        func ns(_ t: timespec) -> UInt64 { UInt64(max(0, t.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, t.tv_nsec)) }
        return max(ns(st.st_mtim), ns(st.st_ctim))
    }

    /// Whether `path` is a directory.
    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The segments of a source directory, oldest first.
    package static func segments(in path: String) throws -> [SegmentFile] {
        try entries(path).compactMap { name in
            LogFormat.segmentNumber(fileName: name).map { SegmentFile(number: $0, path: path + "/" + name) }
        }.sorted { $0.number < $1.number }
    }

    /// Whether `path` looks like a source directory (holds segments or a writer lock).
    public static func isSource(_ path: String) -> Bool {
        guard let names = try? entries(path) else { return false }
        return names.contains { $0 == LogFormat.lockFileName || LogFormat.segmentNumber(fileName: $0) != nil }
    }

    /// Resolves PATH as the CLI and collector take it: a source directory, or a root whose
    /// subdirectories are sources. Sorted by name.
    /// - Throws: `.io` when PATH cannot be read, `.notALog` when it is not a directory.
    public static func sources(at path: String) throws -> [SourceDirectory] {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard isDirectory(trimmed) else {
            if access(trimmed, F_OK) != 0 { throw OrchLogError.system("\(trimmed)") }
            throw OrchLogError(.notALog, "\(trimmed): not a directory (give a source directory or a root of sources)")
        }
        if isSource(trimmed) {
            return [SourceDirectory(name: baseName(trimmed), path: trimmed)]
        }
        // A root of sources, or of service directories holding a source per instance
        // (ROOT/SERVICE/INSTANCE/): the instances of a service share its `source`.
        var found: [SourceDirectory] = []
        for name in try entries(trimmed).sorted() {
            let child = trimmed + "/" + name
            guard !name.hasPrefix("."), isDirectory(child) else { continue }
            if isSource(child) {
                found.append(SourceDirectory(name: name, path: child))
                continue
            }
            guard let instances = try? entries(child).sorted() else { continue }
            for instance in instances where !instance.hasPrefix(".") {
                let dir = child + "/" + instance
                if isDirectory(dir), isSource(dir) { found.append(SourceDirectory(name: name + "/" + instance, path: dir, group: name)) }
            }
        }
        return found
    }

    /// Whether a writer holds the source directory's lock right now (`.lock`, flock). Probed
    /// with a shared lock taken and released at once, so probes never see each other as a
    /// writer. A writer opening the directory during the probe's microseconds waits for it
    /// (`LogFlusher.lockRetryNs`); readers still probe only when they found an incomplete last
    /// frame, not on every poll.
    package static func writerHoldsLock(_ path: String) -> Bool {
        let fd = open(path + "/" + LogFormat.lockFileName, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var rc: Int32
        repeat { rc = flock(fd, LOCK_SH | LOCK_NB) } while rc != 0 && errno == EINTR
        if rc == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    /// The last path component.
    package static func baseName(_ path: String) -> String {
        if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
        return path
    }

    /// The sequence number of the last event in the source's complete frames, or nil when
    /// there is none. Used by a new writer to carry the sequence on.
    static func lastSequence(in path: String) throws -> UInt64? {
        for segment in try segments(in: path).reversed() {
            guard let reader = try? SegmentReader(path: segment.path) else { continue }
            var offset = SegmentReader.firstFrameOffset
            var last: UInt64?
            scan: while true {
                switch try reader.readFrame(at: offset) {
                case let .frame(h, at):
                    if h.eventCount > 0 { last = h.lastSeq }
                    offset = at + Int64(h.frameLength)
                case let .corrupt(_, _, resumeAt):
                    offset = resumeAt
                case .end, .incomplete:
                    break scan
                }
            }
            if let last { return last }
            if reader.header.firstSeq > 1 { return reader.header.firstSeq - 1 }
        }
        return nil
    }
}
