import Glibc
import OrchLog

/// `orchlog ingest --listen ADDR --out ROOT`: the relay, in the model of DogStatsD over a
/// Unix socket. Clients send NDJSON events in datagrams (or lines over a stream); every event
/// names its source; the relay writes each source into `ROOT/<source>/` and never makes a
/// client wait (a full socket is the client's to count).
enum RelayCommand {
    /// The largest datagram read whole; a longer one is counted as unreadable.
    static let maxDatagram = 256 << 10
    /// Stream connections open at once; more are accepted and closed, counted as unreadable.
    static let maxConnections = 1024

    static func run(_ args: Arguments) throws -> Int32 {
        guard let root = args.value("--out") else { throw CLIError.usage("ingest: --out ROOT is required (the relay writes ROOT/<source>/)") }
        var config = Relay.Config(root: root)
        config.defaultSource = args.value("--source")
        config.maxSources = try args.int("--max-sources", default: 1000, range: 1...100_000)
        if let r = args.value("--relay.source") { config.relaySource = r }
        config.lenient = args.has("--lenient")
        if let f = args.value("--fsync") {
            guard let policy = EventLogOptions.FsyncPolicy(parsing: f) else { throw CLIError.usage("--fsync \(f): expected never, interval or always") }
            config.options.fsync = policy
        }
        var permissions = SocketPermissions()
        if let m = args.value("--socket.mode") { permissions.mode = try SocketPermissions.mode(m) }
        if let g = args.value("--socket.group") { permissions.group = try SocketPermissions.group(g) }
        let allowRemote = args.has("--listen.allow-remote")
        let addresses = try args.all("--listen").map { try RelayAddress.parse($0, allowRemote: allowRemote) }
        var paths = Set<String>()
        for a in addresses {
            if let p = a.path, !paths.insert(p).inserted { throw CLIError.usage("ingest: --listen: \(p) is given twice") }
        }

        let relay = try Relay(config)
        var listeners: [RelayListener] = []
        do {
            for a in addresses { listeners.append(try RelayListener(a, permissions: permissions)) }
        } catch {
            for l in listeners { l.close() }
            _ = relay.close()
            throw error
        }
        installStopHandlers()
        if addresses.contains(where: { if case .unixDatagram = $0 { return true } else { return false } }), let qlen = datagramQueueLength(), qlen < 512 {
            Output.err("orchlog: ingest: warning: net.unix.max_dgram_qlen is \(qlen): the kernel queues at most \(qlen) datagrams for the relay, so clients drop (and count) bursts longer than that; raise it: sysctl -w net.unix.max_dgram_qlen=512 (systemd's default)")
        }
        Output.err("orchlog: ingest: listening on \(listeners.map(\.boundDescription).joined(separator: ", ")), writing sources into \(root)")

        var loop = RelayLoop(relay: relay, listeners: listeners)
        loop.run()
        loop.drain()
        for l in listeners { l.close() }
        let dropped = relay.close()
        let c = relay.counts
        let lenientNote = c.unknownFields > 0 ? ", \(c.unknownFields) unknown fields accepted (--lenient)" : ""
        let written = c.accepted - Int(min(dropped, UInt64(c.accepted)))
        Output.err("orchlog: ingest: \(written) events written into \(relay.sourceNames.count) sources under \(root); rejected: \(c.invalid) invalid, \(c.overLimit) past --max-sources, \(c.unreadable) unreadable datagrams\(lenientNote)")
        return c.invalid == 0 && c.overLimit == 0 && c.unreadable == 0 && dropped == 0 ? 0 : 1
    }
}

/// The kernel's limit on datagrams queued on a Unix datagram socket (nil: unknown).
func datagramQueueLength() -> Int? {
    guard let f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r") else { return nil }
    defer { fclose(f) }
    var buf = [CChar](repeating: 0, count: 32)
    guard fgets(&buf, 32, f) != nil else { return nil }
    return Int(String(cString: buf).filter(\.isNumber))
}

/// The relay's one thread: polls the listeners and stream connections, reads until each
/// would block, and ticks the relay once a second.
struct RelayLoop {
    let relay: Relay
    let listeners: [RelayListener]
    private var connections: [(fd: Int32, splitter: LineSplitter, origin: String)] = []
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RelayCommand.maxDatagram + 1, alignment: 16)

    init(relay: Relay, listeners: [RelayListener]) {
        self.relay = relay
        self.listeners = listeners
    }

    mutating func run() {
        var nextTick = Ingester.wallClockNs() + 1_000_000_000
        while !stopRequested.load(ordering: .relaxed) {
            var fds = listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            fds += connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 250)
            let polled = connections.count  // accepting below adds connections not polled yet
            if ready > 0 {
                for (i, l) in listeners.enumerated() where fds[i].revents != 0 {
                    if l.isStream { accept(l) } else { readDatagrams(l, limit: 512) }
                }
                var closed: [Int] = []
                for i in 0..<polled where fds[listeners.count + i].revents != 0 {
                    if !readConnection(i) { closed.append(i) }
                }
                for i in closed.reversed() { Glibc.close(connections[i].fd); connections.remove(at: i) }
            }
            let now = Ingester.wallClockNs()
            if now >= nextTick {
                relay.tick()
                nextTick = now + 1_000_000_000
            }
        }
    }

    /// At a stop: reads what the datagram sockets already hold, and the connections' last lines.
    mutating func drain() {
        for l in listeners where !l.isStream { readDatagrams(l, limit: .max) }
        for i in connections.indices {
            _ = readConnection(i)
            let origin = connections[i].origin, relay = self.relay
            connections[i].splitter.finish { RelayLoop.deliver($0, to: relay, origin: origin) }
            Glibc.close(connections[i].fd)
        }
        connections.removeAll()
        buffer.deallocate()
    }

    private func readDatagrams(_ l: RelayListener, limit: Int) {
        var count = 0
        while count < limit {
            let n = recv(l.fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
            if n < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { relay.unreadable("\(l.boundDescription): \(String(cString: strerror(errno)))") }
                return
            }
            count += 1
            guard n <= RelayCommand.maxDatagram else {
                relay.unreadable("\(l.boundDescription): a datagram of \(n) bytes, larger than \(RelayCommand.maxDatagram)")
                continue
            }
            relay.take(datagram: UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n), from: l.boundDescription)
        }
    }

    private mutating func accept(_ l: RelayListener) {
        while true {
            let fd = Glibc.accept(l.fd, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            guard connections.count < RelayCommand.maxConnections else {
                Glibc.close(fd)
                relay.unreadable("\(l.boundDescription): more than \(RelayCommand.maxConnections) connections at once; one was closed")
                continue
            }
            connections.append((fd, LineSplitter(maxLineBytes: IngestCommand.maxLineBytes), l.boundDescription))
        }
    }

    /// Reads a connection until it would block; false at its end (or an error).
    private mutating func readConnection(_ i: Int) -> Bool {
        while true {
            let n = read(connections[i].fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return true }
                relay.unreadable("\(connections[i].origin): reading a connection: \(String(cString: strerror(errno)))")
                return false
            }
            let origin = connections[i].origin, relay = self.relay
            if n == 0 {
                connections[i].splitter.finish { RelayLoop.deliver($0, to: relay, origin: origin) }
                return false
            }
            let chunk = ArraySlice(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
            connections[i].splitter.feed(chunk) { RelayLoop.deliver($0, to: relay, origin: origin) }
        }
    }

    private static func deliver(_ line: Line, to relay: Relay, origin: String) {
        switch line.content {
        case .overlong(let limit):
            relay.invalid("\(origin): a line longer than \(limit) bytes")
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { relay.take(line: $0, from: origin) }
        }
    }
}
