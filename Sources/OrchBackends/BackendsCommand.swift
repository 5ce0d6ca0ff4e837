import Dispatch
import Foundation
import Glibc
import OrchFlags
import OrchReference
import OrchVersion

/// The `reference-backends` command: the reference orchestrator's LLM provider and tools
/// over real HTTP, until SIGINT or SIGTERM.
public enum BackendsCommand {
    /// The `--help` text.
    public static var help: String { spec.help }

    /// What `reference-backends` was asked to serve (the flags' values).
    public struct Options: Sendable, Equatable {
        public var host = "127.0.0.1", port: UInt16 = 0, speed = 1.0, seed: UInt64 = 1
        public var latencyScale: Double?, concurrency: Int?, rpm: Double?, tpm: Double?
        public init() {}
    }

    /// Parses `arguments` against `spec` into options, or the text `--help`, `--version` or
    /// `--help-markdown` print.
    /// - Throws: `FlagError` naming the flag or value at fault.
    public static func parse(_ arguments: [String]) throws(FlagError) -> CommandRequest<Options> {
        let parsed = try ParsedFlags(arguments, spec: spec)
        if parsed.has("--help") { return .print(help + "\n") }
        if parsed.has("--help-markdown") { return .print(spec.markdownTable) }
        if parsed.has("--version") { return .print(BuildInfo.versionText(program: "reference-backends") + "\n") }
        if let extra = parsed.positional.first { throw FlagError("unknown argument \(extra) (see --help)") }
        var o = Options()
        for (arg, v) in parsed.given {
            switch arg {
            case "--listen":
                guard let colon = v.lastIndex(of: ":"), let p = UInt16(v[v.index(after: colon)...]) else { throw FlagError("--listen: give HOST:PORT") }
                o.host = colon == v.startIndex ? "127.0.0.1" : String(v[..<colon])
                o.port = p
            case "--speed":
                guard let k = Double(v), k > 0, k.isFinite else { throw FlagError("--speed: give a positive factor") }
                o.speed = k
            case "--seed":
                guard let s = UInt64(v) else { throw FlagError("--seed: give an unsigned integer") }
                o.seed = s
            case "--latency-scale":
                guard let x = Double(v), x >= 0, x <= 1000 else { throw FlagError("--latency-scale: give a factor, 0 to 1000") }
                o.latencyScale = x
            case "--concurrency":
                guard let n = Int(v), n > 0 else { throw FlagError("--concurrency: give a positive integer") }
                o.concurrency = n
            case "--rpm", "--tpm":
                guard let n = Double(v), n > 0, n.isFinite else { throw FlagError("\(arg): give a positive number per minute") }
                if arg == "--rpm" { o.rpm = n } else { o.tpm = n }
            default:
                throw FlagError("\(arg): in the flag spec but not parsed")
            }
        }
        return .run(o)
    }

    /// Runs the command with `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            guard let parsed = try parse(arguments).optionsOrPrint() else { return 0 }
            options = parsed
        } catch {
            FileHandle.standardError.write(Data("reference-backends: \(error.message)\n".utf8))
            return 2
        }
        let (host, port, speed, seed) = (options.host, options.port, options.speed, options.seed)
        let (latencyScale, concurrency, rpm, tpm) = (options.latencyScale, options.concurrency, options.rpm, options.tpm)
        var world = WorldConfig()
        if let latencyScale { world.latencyScale = latencyScale }
        world.llm.keys = world.llm.keys.map {
            ProviderKeyConfig(alias: $0.alias, concurrency: concurrency ?? $0.concurrency, rpm: rpm ?? $0.rpm, tpm: tpm ?? $0.tpm)
        }
        let backends = Backends(world: world, speed: speed, seed: seed)
        let server: BackendServer
        do {
            server = try BackendServer(host: host, port: port) { backends.handle($0) }
        } catch {
            FileHandle.standardError.write(Data("reference-backends: \(error)\n".utf8))
            return 1
        }
        FileHandle.standardOutput.write(Data("listening on http://\(host):\(server.port)\n".utf8))
        let stop = DispatchSemaphore(value: 0)
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { stop.signal() }
            s.resume()
            return s
        }
        // A parent may have spawned us with these blocked; Dispatch needs them delivered.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        stop.wait()
        for s in sources { s.cancel() }
        backends.shutdown()
        server.stop()
        return 0
    }
}
