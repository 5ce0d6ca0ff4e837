import Foundation
import Glibc
import OrchLog

/// `relay`: `orchlog ingest --listen unix:PATH` taking the generate mix as NDJSON datagrams
/// from a fast local sender (this process, blocking sends, so nothing is dropped) into the
/// log, against the issue's target of 1 M events/s on one core. Measured from the first send
/// to the relay's exit after SIGTERM (its writers flushed and closed); every event is then
/// read back from the log.
struct RelayBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "relay")
        let orchlog = try ChildProcess.sibling("orchlog")
        let corpus = EventCorpus(count: config.relayEvents)
        let lines = corpus.events.map { Self.ndjson($0, labels: corpus.labels) }
        let bytes = lines.reduce(0) { $0 + $1.count + 1 } / max(lines.count, 1)
        for batch in [32, 1] {
            var rates: [Double] = [], cpu: [Double] = []
            let events = batch == 1 ? min(lines.count, config.relayEvents / 4) : lines.count
            let datagrams = stride(from: 0, to: events, by: batch).map { start in
                Array((lines[start..<min(start + batch, events)].joined(separator: "\n") + "\n").utf8)
            }
            for run in 0..<(config.relayWarmup + config.relayRuns) {
                let (rate, seconds) = try once(orchlog, datagrams, events: events)
                guard run >= config.relayWarmup else { continue }
                rates.append(rate)
                cpu.append(seconds / Double(events) * 1e9)
            }
            let suffix = batch == 1 ? "_one_per_datagram" : ""
            result.add(Figure("relay_events_per_second\(suffix)", "events/s", rates, target: batch == 1 ? nil : .atLeast(1_000_000),
                              note: "\(batch) event\(batch == 1 ? "" : "s") per datagram, first send to the relay's exit (writers closed)"))
            result.add(Figure("relay_cpu_ns_per_event\(suffix)", "ns", cpu,
                              note: "the relay's CPU time (every thread: socket loop, parse, writers' compression) per event"))
        }
        result.note("the generate mix as NDJSON (\(bytes) bytes per line on average, with \"source\"), fsync never, one source; sender and relay share this machine's 2 cores")
        return result
    }

    /// One run: a fresh relay, every datagram sent, SIGTERM, exit; returns events/s and the
    /// relay's CPU seconds.
    private func once(_ orchlog: String, _ datagrams: [[UInt8]], events: Int) throws -> (Double, Double) {
        let dir = try TempDirectory("relay", under: config.baseDirectory)
        defer { dir.remove() }
        let path = dir.sub("r.sock")
        let relay = try ChildProcess.spawn(orchlog, ["ingest", "--listen", "unix:" + path, "--out", dir.sub("root"), "--fsync", "never"])
        var waited = 0
        while access(path, F_OK) != 0 {
            usleep(10_000)
            waited += 1
            guard waited < 1000 else { kill(relay.pid, SIGKILL); throw BenchError("the relay did not create \(path)") }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in for (i, b) in path.utf8.enumerated() { buf[i] = b } }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw BenchError("connect \(path): \(String(cString: strerror(errno)))") }
        let start = Clock.nowNs()
        for d in datagrams {
            let sent = d.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard sent == d.count else { throw BenchError("send: \(String(cString: strerror(errno)))") }
        }
        kill(relay.pid, SIGTERM)
        let cpu = try relay.wait()
        let seconds = Clock.seconds(since: start)
        let read = try SourceReader.readAll(dir.sub("root/bench")).count
        guard read == events else { throw BenchError("the relay wrote \(read) of \(events) events") }
        return (Double(events) / seconds, cpu)
    }

    /// The event as `orchlog tail -o json` prints it, with "source" and without seq and ts
    /// (the relay stamps the time it reads it).
    static func ndjson(_ event: Event, labels: [String]) -> String {
        let raw = event.raw(seq: 0, timestamp: 0)
        let schema = EventSchema.of(raw.type)
        var s = "{\"type\":\"\(schema.name)\",\"source\":\"bench\""
        for field in schema.fields {
            s += ",\"\(field.name)\":"
            switch field.kind {
            case .label:
                let id = Int(raw.label(field.slot))
                s += "\"\(id < labels.count ? labels[id] : "")\""
            case .enumeration(let names):
                let code = Int(raw.number(field.slot))
                s += "\"\(code < names.count ? names[code] : names[0])\""
            case .flag: s += raw.number(field.slot) == 0 ? "false" : "true"
            case .number, .nanoseconds: s += "\(raw.number(field.slot))"
            case .traceID: s += "\"\(TraceID(hi: raw.number(field.slot), lo: raw.number(field.slot + 1)).hex)\""
            }
        }
        return s + "}"
    }
}
