/// A first-come-first-served service station with `servers` parallel servers, computed in
/// closed form: each request is given to the server that frees up first. Simulated backends
/// use it to turn offered load into queueing delay (and so into timeouts under overload).
/// A request whose client deadline passes before it would start is dropped without using
/// a server; one that has started runs to the end even when its client has given up.
struct ServerQueue {
    private var freeAt: [UInt64]

    init(servers: Int) {
        freeAt = Array(repeating: 0, count: max(1, servers))
    }

    /// Number of servers.
    var servers: Int { freeAt.count }

    /// Books a request arriving at `now` that needs `service` ns.
    /// - Returns: start and end times, or nil when it would not start before `deadline`.
    mutating func admit(now: UInt64, service: UInt64, deadline: UInt64 = .max) -> (start: UInt64, end: UInt64)? {
        var best = 0
        for i in 1..<freeAt.count where freeAt[i] < freeAt[best] { best = i }
        let start = max(now, freeAt[best])
        guard start < deadline else { return nil }
        let end = start &+ service
        freeAt[best] = end
        return (start, end)
    }

    /// Servers busy at `now` (booked past it).
    func busy(at now: UInt64) -> Int {
        freeAt.reduce(0) { $0 + ($1 > now ? 1 : 0) }
    }

    /// How long a request arriving at `now` would wait before starting.
    func wait(at now: UInt64) -> UInt64 {
        let earliest = freeAt.min() ?? 0
        return earliest > now ? earliest - now : 0
    }
}
