import Glibc

/// Where the relay listens: a `--listen` value.
enum RelayAddress: Equatable, CustomStringConvertible {
    /// `unix:PATH`: a Unix datagram socket, one or more NDJSON events per datagram.
    case unixDatagram(String)
    /// `unix-stream:PATH`: a Unix stream socket, NDJSON lines over any number of connections.
    case unixStream(String)
    /// `udp:HOST:PORT`: UDP datagrams (HOST an IPv4 literal; loopback unless allowed).
    case udp(host: String, port: UInt16)

    var description: String {
        switch self {
        case .unixDatagram(let p): return "unix:\(p)"
        case .unixStream(let p): return "unix-stream:\(p)"
        case .udp(let h, let p): return "udp:\(h):\(p)"
        }
    }

    var path: String? {
        switch self {
        case .unixDatagram(let p), .unixStream(let p): return p
        case .udp: return nil
        }
    }

    /// Parses `unix:PATH`, `unix-stream:PATH` or `udp:HOST:PORT`.
    /// - Throws: `CLIError.usage` naming the value.
    static func parse(_ text: String, allowRemote: Bool) throws -> RelayAddress {
        func bad(_ why: String) -> CLIError { CLIError.usage("ingest: --listen \(text): \(why)") }
        let maxPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        if text.hasPrefix("unix:") || text.hasPrefix("unix-stream:") {
            let stream = text.hasPrefix("unix-stream:")
            let path = String(text.dropFirst(stream ? 12 : 5))
            guard !path.isEmpty else { throw bad("expected a socket path after \(stream ? "unix-stream:" : "unix:")") }
            guard path.utf8.count <= maxPath else { throw bad("the socket path is longer than \(maxPath) bytes") }
            guard !path.utf8.contains(0) else { throw bad("the socket path holds a NUL byte") }
            return stream ? .unixStream(path) : .unixDatagram(path)
        }
        if text.hasPrefix("udp:") {
            let rest = text.dropFirst(4)
            guard let colon = rest.lastIndex(of: ":") else { throw bad("expected udp:HOST:PORT, e.g. udp:127.0.0.1:8125") }
            var host = String(rest[..<colon])
            if host == "localhost" { host = "127.0.0.1" }
            guard let port = UInt16(rest[rest.index(after: colon)...]) else { throw bad("the port must be a number from 0 to 65535") }
            var a = in_addr()
            guard inet_pton(AF_INET, host, &a) == 1 else { throw bad("HOST must be an IPv4 address such as 127.0.0.1") }
            let loopback = UInt32(bigEndian: a.s_addr) >> 24 == 127
            guard loopback || allowRemote else {
                throw bad("\(host) is not a loopback address: the relay accepts events from anyone who can reach it, so it binds only 127.0.0.0/8 unless --listen.allow-remote is given")
            }
            return .udp(host: host, port: port)
        }
        throw bad("expected unix:PATH, unix-stream:PATH or udp:HOST:PORT")
    }
}

/// How the relay creates its Unix sockets.
struct SocketPermissions {
    /// The socket file's mode (default 0660: the owner and the group may send).
    var mode: mode_t = 0o660
    /// The socket file's group, or nil to keep the creating process's.
    var group: gid_t?

    /// Parses `--socket.group NAME|GID`.
    static func group(_ text: String) throws -> gid_t {
        if let gid = gid_t(text) { return gid }
        guard let entry = getgrnam(text) else { throw CLIError.usage("ingest: --socket.group \(text): no such group") }
        return entry.pointee.gr_gid
    }

    /// Parses `--socket.mode OCTAL` (e.g. 0660, 660).
    static func mode(_ text: String) throws -> mode_t {
        guard let m = mode_t(text, radix: 8), m <= 0o777 else {
            throw CLIError.usage("ingest: --socket.mode \(text): expected an octal mode such as 0660")
        }
        return m
    }
}

/// A bound listening socket. Unix socket files it created are removed by `close()`.
final class RelayListener {
    let address: RelayAddress
    let fd: Int32
    /// The socket file this listener created (removed on close), if any.
    private(set) var createdPath: String?
    /// The UDP port actually bound (the kernel's choice for port 0).
    private(set) var boundPort: UInt16 = 0

    var isStream: Bool {
        if case .unixStream = address { return true }
        return false
    }

    /// The receive buffer the relay asks for on datagram sockets, so bursts wait in the
    /// kernel instead of being refused (the kernel caps it at net.core.rmem_max, or more as root).
    static let receiveBuffer: Int32 = 8 << 20

    /// Creates and binds the socket.
    /// - Throws: `CLIError.failure` when the path is not a socket, another relay listens on
    ///   it, or a system call fails (the message names the path and the reason).
    init(_ address: RelayAddress, permissions: SocketPermissions) throws {
        self.address = address
        switch address {
        case .udp(let host, let port):
            let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw RelayListener.failure(address, "socket", errno) }
            fd = s
            RelayListener.growReceiveBuffer(s)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { let e = errno; Glibc.close(s); throw RelayListener.failure(address, "bind", e) }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
            boundPort = UInt16(bigEndian: addr.sin_port)
        case .unixDatagram(let path), .unixStream(let path):
            let stream: Bool
            if case .unixStream = address { stream = true } else { stream = false }
            let type = (stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            try RelayListener.clearStale(path, address: address)
            let s = socket(AF_UNIX, type, 0)
            guard s >= 0 else { throw RelayListener.failure(address, "socket", errno) }
            fd = s
            if !stream { RelayListener.growReceiveBuffer(s) }
            // Bind with a restrictive umask, then set the mode asked for: the socket never
            // exists with wider permissions than it ends up with.
            let old = umask(0o177)
            let rc = RelayListener.withAddress(path) { bind(s, $0, $1) }
            let bindErrno = errno
            umask(old)
            guard rc == 0 else { Glibc.close(s); throw RelayListener.failure(address, "bind", bindErrno) }
            createdPath = path
            if let group = permissions.group, chown(path, uid_t.max, group) != 0 {
                let e = errno
                close()
                throw RelayListener.failure(address, "chown to group \(group)", e)
            }
            guard chmod(path, permissions.mode) == 0 else {
                let e = errno
                close()
                throw RelayListener.failure(address, "chmod", e)
            }
            if stream, listen(s, 512) != 0 {
                let e = errno
                close()
                throw RelayListener.failure(address, "listen", e)
            }
        }
    }

    /// The address as the relay reports it (with the bound UDP port).
    var boundDescription: String {
        if case .udp(let host, _) = address { return "udp:\(host):\(boundPort)" }
        return address.description
    }

    func close() {
        Glibc.close(fd)
        if let path = createdPath {
            unlink(path)
            createdPath = nil
        }
    }

    private static func failure(_ address: RelayAddress, _ what: String, _ e: Int32) -> CLIError {
        CLIError.failure("ingest: --listen \(address): \(what): \(String(cString: strerror(e)))")
    }

    private static func growReceiveBuffer(_ fd: Int32) {
        var size = receiveBuffer
        // As root, SO_RCVBUFFORCE passes net.core.rmem_max; otherwise take what the kernel allows.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Calls `body` with a `sockaddr_un` for `path`.
    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in bytes.enumerated() where i < buf.count - 1 { buf[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, len) } }
    }

    /// Removes a socket file left by a relay that is gone; refuses a live socket and anything
    /// that is not a socket.
    private static func clearStale(_ path: String, address: RelayAddress) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }  // nothing there
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw CLIError.failure("ingest: --listen \(address): \(path) exists and is not a socket; not touching it (remove it or choose another path)")
        }
        // Probe with connect, in both socket types (the old relay's may be either).
        var live = false
        for type in [SOCK_DGRAM, SOCK_STREAM] {
            let probe = socket(AF_UNIX, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard probe >= 0 else { continue }
            let rc = withAddress(path) { connect(probe, $0, $1) }
            let e = errno
            Glibc.close(probe)
            if rc == 0 || (e != ECONNREFUSED && e != EPROTOTYPE && e != ENOENT) { live = true; break }
        }
        guard !live else {
            throw CLIError.failure("ingest: --listen \(address): \(path) is in use (another relay is listening on it)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw failure(address, "removing the stale socket \(path)", errno)
        }
    }
}
