import Dispatch
import Foundation
import Glibc
import OrchReference

/// The `reference-backends` command: the reference orchestrator's LLM provider and tools
/// over real HTTP, until SIGINT or SIGTERM.
public enum BackendsCommand {
    public static let help = """
    reference-backends — the reference orchestrator's LLM provider and tools over real HTTP

    USAGE
      reference-backends [--listen HOST:PORT] [--speed K] [--seed S] [--latency-scale X]

    OPTIONS
      --listen HOST:PORT   where to listen (default 127.0.0.1:0: a free loopback port); the
                           address is printed on stdout as "listening on http://HOST:PORT"
      --speed K            time runs K× faster: latencies and retry-afters ÷ K, quotas refill K× faster
      --seed S             random seed of latencies and errors (default 1)
      --latency-scale X    multiply every latency (0: instant backends)
      --concurrency N      every key's concurrency limit (default 20)
      --rpm N, --tpm N     every key's requests and tokens per minute (default 1000, 400000)
      --help, -h           show this help

    ENDPOINTS
      POST /v1/chat/completions   OpenAI-compatible (stream: true for server-sent events); Authorization:
                                  Bearer KEY with KEY one of key-a … key-p; per key a concurrency limit
                                  (20) and requests/tokens-per-minute buckets (1,000 / 400,000): past them
                                  429 with Retry-After, retry-after-ms and x-ratelimit-* headers
      POST /tools/NAME            crm, billing, search, ticketing: latency, errors (500), outages
      POST /admin/faults          {"fault":"tool_hang"|"tool_down"|"tool_slow"|"llm_quota_cut"|"clear",
                                   "tool":NAME, "fraction":F, "factor":X, "seconds":S}
      GET  /admin/stats           per key: requests, rate_limited, max_in_flight; per tool: calls, errors, hung
      GET  /-/healthy

    Exit status: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 usage error.
    """

    /// Runs the command with `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        var host = "127.0.0.1", port: UInt16 = 0, speed = 1.0, seed: UInt64 = 1, latencyScale: Double?
        var concurrency: Int?, rpm: Double?, tpm: Double?
        var i = 0
        func fail(_ m: String) -> Int32 {
            FileHandle.standardError.write(Data("reference-backends: \(m)\n".utf8))
            return 2
        }
        while i < arguments.count {
            let arg = arguments[i]
            let value: String? = i + 1 < arguments.count ? arguments[i + 1] : nil
            switch arg {
            case "--help", "-h":
                print(help)
                return 0
            case "--listen":
                guard let v = value, let colon = v.lastIndex(of: ":"), let p = UInt16(v[v.index(after: colon)...]) else { return fail("--listen: give HOST:PORT") }
                host = colon == v.startIndex ? "127.0.0.1" : String(v[..<colon])
                port = p
                i += 1
            case "--speed":
                guard let v = value, let k = Double(v), k > 0, k.isFinite else { return fail("--speed: give a positive factor") }
                speed = k
                i += 1
            case "--seed":
                guard let v = value, let s = UInt64(v) else { return fail("--seed: give an unsigned integer") }
                seed = s
                i += 1
            case "--latency-scale":
                guard let v = value, let x = Double(v), x >= 0, x <= 1000 else { return fail("--latency-scale: give a factor, 0 to 1000") }
                latencyScale = x
                i += 1
            case "--concurrency":
                guard let v = value, let n = Int(v), n > 0 else { return fail("--concurrency: give a positive integer") }
                concurrency = n
                i += 1
            case "--rpm", "--tpm":
                guard let v = value, let n = Double(v), n > 0, n.isFinite else { return fail("\(arg): give a positive number per minute") }
                if arg == "--rpm" { rpm = n } else { tpm = n }
                i += 1
            default:
                return fail("unknown argument \(arg) (see --help)")
            }
            i += 1
        }
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
