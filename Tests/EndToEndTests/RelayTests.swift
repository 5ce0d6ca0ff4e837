import Foundation
import Glibc
import OrchLog
import OrchTestSupport
import Testing

/// `orchlog ingest --listen`: the relay, run as a user would, fed through real sockets.
@Suite struct RelayTests {
    /// Sends one datagram to a Unix datagram socket; returns errno (0: sent).
    /// `blocking`: wait while the relay's queue is full (a test's sender, not a client).
    static func send(_ text: String, toUnix path: String, sendBuffer: Int32? = nil, blocking: Bool = true) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        if var size = sendBuffer { _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) }
        return withUnixAddress(path) { addr, len in
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, blocking ? 0 : Int32(MSG_DONTWAIT), addr, len) } == bytes.count ? 0 : errno
        }
    }

    static func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func sendUDP(_ text: String, port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bytes = Array(text.utf8)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, a, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } == bytes.count
    }

    /// Writes `text` over a Unix stream connection in `pieces` writes, then closes it.
    static func sendStream(_ text: String, toUnix path: String, pieces: Int) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        guard withUnixAddress(path, { connect(fd, $0, $1) }) == 0 else { return false }
        let bytes = Array(text.utf8)
        let step = max(1, bytes.count / pieces)
        var i = 0
        while i < bytes.count {
            let n = min(step, bytes.count - i)
            guard bytes[i..<i + n].withUnsafeBytes({ write(fd, $0.baseAddress, n) }) == n else { return false }
            i += n
            usleep(1000)
        }
        return true
    }

    static func toolCall(_ source: String?, _ i: Int, outcome: String = "success") -> String {
        let s = source.map { "\"source\":\"\($0)\"," } ?? ""
        return "{\"type\":\"tool_call\",\(s)\"tool\":\"crm\",\"outcome\":\"\(outcome)\",\"latency_ns\":\(1000 + i)}"
    }

    static func startRelay(_ dir: TempDir, _ args: [String], name: String = "relay") throws -> Daemon {
        let relay = try Daemon(binaryPath("orchlog"), ["ingest"] + args, dir: dir, name: name)
        guard relay.waitForStderr("listening on") != nil else { throw TestFailure("the relay did not start: \(relay.stderr)") }
        return relay
    }

    @Test func datagramsStreamsAndUDPLandInOneLogPerSource() throws {
        let dir = TempDir("relay")
        defer { dir.remove() }
        let sock = dir.sub("ingest.sock"), streamSock = dir.sub("stream.sock")
        let relay = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--listen", "unix-stream:" + streamSock, "--listen", "udp:127.0.0.1:0", "--out", dir.sub("root"), "--source", "default-src"])
        let port = try #require(relay.waitForStderr(#"udp:127\.0\.0\.1:(\d+)"#).flatMap(UInt16.init))
        var st = stat()
        #expect(lstat(sock, &st) == 0 && st.st_mode & 0o777 == 0o660, "mode \(String(st.st_mode & 0o777, radix: 8))")
        // 3 senders × 100 datagrams of 5 events each, one of them without a source.
        for d in 0..<100 {
            for s in ["api-a", "api-b"] {
                let lines = (0..<5).map { Self.toolCall(s, d * 5 + $0) }.joined(separator: "\n") + "\n"
                #expect(Self.send(lines, toUnix: sock) == 0)
            }
            #expect(Self.send(Self.toolCall(nil, d), toUnix: sock) == 0)  // no trailing newline: still one event
        }
        let streamed = (0..<200).map { Self.toolCall("streamer", $0) }.joined(separator: "\n")  // the last line ends at EOF
        #expect(Self.sendStream(streamed, toUnix: streamSock, pieces: 37))
        for i in 0..<50 { #expect(Self.sendUDP(Self.toolCall("udp-src", i), port: port)) }
        let expected = ["api-a": 500, "api-b": 500, "default-src": 100, "streamer": 200, "udp-src": 50]
        let arrived = Daemon.waitUntil {
            expected.allSatisfy { (try? readAll(dir.sub("root/" + $0.key)).count) == $0.value }
        }
        #expect(arrived, "\(expected.keys.map { ($0, (try? readAll(dir.sub("root/" + $0)))?.count ?? -1) })")
        #expect(relay.stop() == 0, "\(relay.stderr)")
        #expect(relay.stderr.contains("1350 events written into 5 sources"), "\(relay.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sock), "the relay removes its sockets at exit")
        // Each source in the order sent, numbered by its own writer.
        let a = try readAll(dir.sub("root/api-a"))
        #expect(a.map(\.seq) == Array(1...500) && a.map { $0.numbers[1] } == (0..<500).map { UInt64(1000 + $0) })
        #expect(a.allSatisfy { $0.type == .toolCall && $0.labels == ["crm", ""] })
        let s = try readAll(dir.sub("root/streamer"))
        #expect(s.map { $0.numbers[1] } == (0..<200).map { UInt64(1000 + $0) })
        // Nothing was dropped, so the relay's source holds no drop counts.
        #expect(try readAll(dir.sub("root/orchlog-relay")).isEmpty)
    }

    /// Every type with every field, sent one per datagram and all in one datagram: the relay
    /// stores exactly what stdin ingest stores for the same lines (fast path and full parser).
    @Test func everyTypeAndFieldIsStoredAsStdinIngestStoresIt() throws {
        let dir = TempDir("relay-types")
        defer { dir.remove() }
        let (input, _) = IngestTests.everyTypeWithEveryField()
        // The same lines in the plain shape the fast path takes (no escapes, source given).
        let plain = input.map { $0.replacingOccurrences(of: #" \"q\" \\ é ☃ \u00e9 \ud83d\ude00"#, with: " plain") }
        let stdin = try runTool("orchlog", ["ingest", "--out", dir.sub("stdin/elsewhere")], stdin: (input + plain).joined(separator: "\n") + "\n")
        #expect(stdin.status == 0, "\(stdin.stderr)")
        let sock = dir.sub("s.sock")
        let relay = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--out", dir.sub("relay")])
        for line in input + plain { #expect(Self.send(line, toUnix: sock) == 0) }
        let count = (input + plain).count
        #expect(Daemon.waitUntil { (try? readAll(dir.sub("relay/elsewhere")).count) == count })
        #expect(Self.send((input + plain).joined(separator: "\n"), toUnix: sock) == 0)
        #expect(Daemon.waitUntil { (try? readAll(dir.sub("relay/elsewhere")).count) == 2 * count })
        #expect(relay.stop() == 0, "\(relay.stderr)")
        func lines(_ path: String) throws -> [String] {
            try runTool("orchlog", ["tail", "--from-start", "-o", "json", path]).stdout.split(separator: "\n").map(String.init)
        }
        let want = try lines(dir.sub("stdin/elsewhere"))
        let got = try lines(dir.sub("relay/elsewhere"))
        #expect(want.count == count && got.count == 2 * count)
        // The second copy differs only in its sequence numbers.
        func unnumbered(_ l: [String]) -> [String] { l.map { $0.replacingOccurrences(of: #"^\{"seq":\d+,"#, with: "{", options: .regularExpression) } }
        #expect(Array(got.prefix(count)) == want && unnumbered(Array(got.suffix(count))) == unnumbered(want))
    }

    @Test func whatTheRelayCannotWriteIsCountedInTheLogAndOnStderr() throws {
        let dir = TempDir("relay-bad")
        defer { dir.remove() }
        let sock = dir.sub("s.sock")
        let relay = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--out", dir.sub("root"), "--max-sources", "2"])
        let good = Self.toolCall("one", 1) + "\n" + Self.toolCall("two", 2) + "\n"
        #expect(Self.send(good, toUnix: sock) == 0)
        let bad = [
            Self.toolCall(nil, 1),  // no source, no --source
            "{\"type\":\"tool_call\",\"source\":\"one\",\"tool\":\"crm\",\"latency_ns\":5}",  // outcome missing
            "{\"type\":\"tool_call\",\"source\":\"one\",\"tool\":\"crm\",\"outcome\":\"success\",\"latency_ns\":5,\"latnecy\":1}",
            Self.toolCall("../etc", 1), Self.toolCall("orchlog-relay", 1), "not json",
        ]
        #expect(Self.send(bad.joined(separator: "\n"), toUnix: sock) == 0)
        for i in 0..<3 { #expect(Self.send(Self.toolCall("three", i), toUnix: sock) == 0) }  // past --max-sources 2
        // A datagram larger than the relay reads whole (the sender's buffer raised to fit it).
        #expect(Self.send(String(repeating: " ", count: 300_000), toUnix: sock, sendBuffer: 1 << 21) == 0)
        let counted = Daemon.waitUntil {
            let drops = (try? readAll(dir.sub("root/orchlog-relay"))) ?? []
            return Dictionary(grouping: drops, by: { DropReason.names[Int($0.numbers[1])] }).mapValues { $0.reduce(0) { $0 + $1.numbers[0] } }
                == ["invalid_event": 6, "source_limit": 3, "unreadable_datagram": 1]
        }
        let relayEvents = (try? readAll(dir.sub("root/orchlog-relay"))) ?? []
        #expect(counted, "\(relayEvents.map { "\($0.numbers)" }) \(relay.stderr)")
        #expect(relay.stop() == 1, "rejections make the exit status 1")
        let err = relay.stderr
        #expect(err.contains("rejected 6 invalid events, 3 events of sources past --max-sources 2, 1 unreadable datagram (first: "), "\(err)")
        #expect(err.contains("2 events written into 2 sources"), "\(err)")
        #expect(try readAll(dir.sub("root/one")).count == 1 && !FileManager.default.fileExists(atPath: dir.sub("root/three")))
        // The collector exposes the relay's counts as dropped events.
        let once = try runTool("orchlog-collector", ["--log.dir", dir.sub("root"), "--once"])
        let metrics = parseExposition(once.stdout)
        #expect(metrics["orch_events_dropped_total{source=\"orchlog-relay\",reason=\"invalid_event\"}"] == 6, "\(once.stdout.split(separator: "\n").filter { $0.contains("dropped") })")
        #expect(metrics["orch_events_dropped_total{source=\"orchlog-relay\",reason=\"source_limit\"}"] == 3)
        #expect(metrics["orch_events_dropped_total{source=\"orchlog-relay\",reason=\"unreadable_datagram\"}"] == 1)
    }

    @Test func socketsAreReplacedWhenStaleAndRefusedWhenLiveOrNotSockets() throws {
        let dir = TempDir("relay-sock")
        defer { dir.remove() }
        let sock = dir.sub("s.sock")
        // A socket file left by a relay that is gone (SIGKILL leaves it behind).
        let first = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--out", dir.sub("root"), "--socket.mode", "0600"], name: "first")
        var st = stat()
        #expect(lstat(sock, &st) == 0 && st.st_mode & 0o777 == 0o600)
        // A second relay on the live socket is refused, and the first keeps it.
        let second = try runTool("orchlog", ["ingest", "--listen", "unix:" + sock, "--out", dir.sub("root2")])
        #expect(second.status == 1 && second.stderr.contains("is in use"), "\(second.stderr)")
        #expect(Self.send(Self.toolCall("a", 1), toUnix: sock) == 0)
        #expect(Daemon.waitUntil { (try? readAll(dir.sub("root/a")).count) == 1 })
        first.signal(SIGKILL)
        first.process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: sock), "a killed relay leaves its socket")
        #expect(Self.send(Self.toolCall("a", 2), toUnix: sock, blocking: false) == ECONNREFUSED)
        let again = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--out", dir.sub("root")], name: "again")
        #expect(Self.send(Self.toolCall("a", 3), toUnix: sock) == 0)
        #expect(Daemon.waitUntil { (try? readAll(dir.sub("root/a")).count) == 2 })
        #expect(again.stop() == 0)
        // --socket.group names the group that may send; --listen.allow-remote opens UDP wider.
        let grouped = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--out", dir.sub("root"), "--socket.group", "daemon",
                                                "--listen", "udp:0.0.0.0:0", "--listen.allow-remote"], name: "grouped")
        #expect(lstat(sock, &st) == 0 && st.st_gid == getgrnam("daemon").pointee.gr_gid && st.st_mode & 0o777 == 0o660)
        #expect(grouped.stderr.contains("udp:0.0.0.0:"), "\(grouped.stderr)")
        #expect(grouped.stop() == 0)
        // A path that is not a socket is never touched.
        let file = dir.sub("precious")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: file))
        let refused = try runTool("orchlog", ["ingest", "--listen", "unix:" + file, "--out", dir.sub("root")])
        #expect(refused.status == 1 && refused.stderr.contains("exists and is not a socket"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")
    }

    @Test func usageErrorsNameTheFlag() throws {
        let cases: [([String], String)] = [
            (["--listen", "tcp:1.2.3.4:5", "--out", "/tmp/x"], "expected unix:PATH, unix-stream:PATH or udp:HOST:PORT"),
            (["--listen", "udp:10.0.0.1:8125", "--out", "/tmp/x"], "not a loopback address"),
            (["--listen", "unix:", "--out", "/tmp/x"], "expected a socket path"),
            (["--listen", "unix:/tmp/" + String(repeating: "s", count: 120), "--out", "/tmp/x"], "longer than"),
            (["--listen", "unix:/tmp/a.sock"], "--out ROOT is required"),
            (["--listen", "unix:/tmp/a.sock", "--out", "/tmp/x", "--source", "a/b"], "--source a/b"),
            (["--listen", "unix:/tmp/a.sock", "--out", "/tmp/x", "--max-sources", "0"], "--max-sources 0"),
            (["--listen", "unix:/tmp/a.sock", "--out", "/tmp/x", "--socket.mode", "999"], "octal"),
            (["--out", "/tmp/x", "--source", "a"], "--source is for the relay"),
            (["--listen", "unix:/tmp/a.sock", "--out", "/tmp/x", "--socket.group", "no-such-group-here"], "no such group"),
        ]
        for (args, message) in cases {
            let r = try runTool("orchlog", ["ingest"] + args, stdin: "")
            #expect(r.status == 2 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    /// docs/ndjson.md's relay section and the README name the relay's flags as `ingest --help` does.
    @Test func theDocsNameTheFlagsTheRelayHas() throws {
        let help = try runTool("orchlog", ["ingest", "--help"]).stdout
        func flags(_ text: String) -> Set<String> {
            let regex = try! NSRegularExpression(pattern: #"--[a-z][a-z.-]*[a-z]"#)
            return Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) })
        }
        let doc = try String(contentsOfFile: IngestTests.repoRoot + "/docs/ndjson.md", encoding: .utf8)
        let section = try #require(doc.range(of: "## The relay").map { doc[$0.lowerBound...] }).prefix { _ in true }
        let relaySection = String(section[..<(section.range(of: "\n## ", range: section.index(after: section.startIndex)..<section.endIndex)?.lowerBound ?? section.endIndex)])
        let helpFlags = flags(help)
        #expect(flags(relaySection).subtracting(helpFlags).isEmpty, "\(flags(relaySection).subtracting(helpFlags))")
        let relayFlags: Set = ["--listen", "--out", "--source", "--max-sources", "--socket.mode", "--socket.group", "--listen.allow-remote", "--relay.source", "--fsync", "--lenient"]
        #expect(relayFlags.isSubset(of: helpFlags))
        #expect(relayFlags.subtracting(["--fsync", "--lenient", "--out"]).isSubset(of: flags(relaySection)), "\(relayFlags.subtracting(flags(relaySection)))")
    }

    @Test func sigtermWritesWhatTheSocketAlreadyHolds() throws {
        let dir = TempDir("relay-term")
        defer { dir.remove() }
        let sock = dir.sub("s.sock")
        let relay = try Self.startRelay(dir, ["--listen", "unix:" + sock, "--out", dir.sub("root")])
        // Stop the relay, then send before it has read: the signal and the data race, and
        // whatever was queued when it stopped reading must still be written.
        relay.signal(SIGSTOP)
        var sent = 0
        for i in 0..<2000 where Self.send(Self.toolCall("late", i), toUnix: sock, blocking: false) == 0 { sent += 1 }
        relay.signal(SIGTERM)
        relay.signal(SIGCONT)
        #expect(relay.stop() == 0, "\(relay.stderr)")
        #expect(sent >= 10, "the kernel queues at least net.unix.max_dgram_qlen datagrams")
        #expect(try readAll(dir.sub("root/late")).count == sent, "\(relay.stderr)")
    }
}
