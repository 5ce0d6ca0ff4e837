import Glibc

/// A `--web.listen-address` value: `host:port`, `:port` (all interfaces) or
/// `[ipv6]:port`, as Go's `net.Listen` accepts them.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host: an IPv4 or IPv6 literal or a name; empty for all interfaces.
    public var host: String
    /// The TCP port; 0 asks the kernel for a free one.
    public var port: UInt16

    /// Creates an address.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with brackets around IPv6 literals.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Parses `host:port`, `:port` or `[v6]:port`. Throws `.config` naming the value.
    public static func parse(_ text: String) throws -> ListenAddress {
        func bad(_ why: String) -> CollectorError {
            CollectorError(.config, "invalid listen address \"\(text)\": \(why)")
        }
        guard let colon = text.lastIndex(of: ":") else { throw bad("missing port (expected host:port or :port)") }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count >= 2 else { throw bad("unbalanced brackets") }
            host = String(host.dropFirst().dropLast())
            guard host.contains(":") else { throw bad("brackets are only for IPv6 addresses") }
        } else if host.contains(":") {
            throw bad("IPv6 addresses must be in brackets, like [::1]:9464")
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), portText.count <= 5,
              let port = Int(portText), port <= 65535
        else { throw bad("port must be a number from 0 to 65535") }
        guard !host.utf8.contains(0), !host.contains(where: { $0.isWhitespace }) else { throw bad("bad host") }
        return ListenAddress(host: host, port: UInt16(port))
    }

    /// A resolved socket address for libmicrohttpd.
    struct Resolved {
        var storage = sockaddr_storage()
        var family: Int32 = AF_INET
        /// Listen on IPv6 and IPv4 at once (only for the wildcard address).
        var dualStack = false
    }

    /// Resolves the host: the wildcard becomes `::` (dual stack) when the kernel has
    /// IPv6, else `0.0.0.0`; literals are used as they are; names go through
    /// `getaddrinfo`, preferring IPv4. Throws `.config` for an unresolvable host.
    func resolve() throws -> Resolved {
        var r = Resolved()
        if host.isEmpty {
            let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            if probe >= 0 {
                close(probe)
                setIPv6(&r, in6addr_any)
                r.dualStack = true
            } else {
                var any = in_addr()
                any.s_addr = INADDR_ANY
                setIPv4(&r, any)
            }
            return r
        }
        var a4 = in_addr()
        if inet_pton(AF_INET, host, &a4) == 1 {
            setIPv4(&r, a4)
            return r
        }
        var a6 = in6_addr()
        if inet_pton(AF_INET6, host, &a6) == 1 {
            setIPv6(&r, a6)
            return r
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0, let list else {
            let why = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw CollectorError(.config, "invalid listen address \"\(description)\": cannot resolve \"\(host)\": \(why)")
        }
        defer { freeaddrinfo(list) }
        var v6: in6_addr? = nil
        var p: UnsafeMutablePointer<addrinfo>? = list
        while let cur = p {
            if cur.pointee.ai_family == AF_INET, let sa = cur.pointee.ai_addr {
                let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                setIPv4(&r, a)
                return r
            }
            if cur.pointee.ai_family == AF_INET6, v6 == nil, let sa = cur.pointee.ai_addr {
                v6 = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            }
            p = cur.pointee.ai_next
        }
        guard let v6 else {
            throw CollectorError(.config, "invalid listen address \"\(description)\": \"\(host)\" has no IP address")
        }
        setIPv6(&r, v6)
        return r
    }

    private func setIPv4(_ r: inout Resolved, _ addr: in_addr) {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr = addr
        withUnsafeMutableBytes(of: &r.storage) { dst in
            withUnsafeBytes(of: &sin) { dst.copyBytes(from: $0) }
        }
        r.family = AF_INET
    }

    private func setIPv6(_ r: inout Resolved, _ addr: in6_addr) {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        sin6.sin6_addr = addr
        withUnsafeMutableBytes(of: &r.storage) { dst in
            withUnsafeBytes(of: &sin6) { dst.copyBytes(from: $0) }
        }
        r.family = AF_INET6
    }
}
