import Foundation
import Glibc

/// `orchlog-bench`: parses arguments, runs the selected benchmarks, prints the report.
enum BenchCommand {
    static let help = """
    Usage: orchlog-bench [--quick] [--json] [--only NAME[,NAME…]] [--dir DIR]

    Measures orchlog against its physical limits (the compressor alone, inflate alone) and prints each
    figure's median and spread and whether the target of issue 6 is met. The issue's limits are zlib's
    (Debian zlib alone on the same blocks); the same ratios against libdeflate, the codec the log
    uses (about twice zlib's speed), are reported as stricter goals. Benchmarks:
      emit          ns per emit (wall and thread CPU), 1, 2, 4, 8 threads; heap allocations per emit
      write         writer events/s and bytes/event on disk per fsync policy, vs zlib / libdeflate alone
      ingest        collector decode + aggregate events/s, vs reading + inflating the segments
      fleet         1,000 instance directories of one service: collector --once seconds, peak RSS, exposition
      fleet-live    1,000 sources × 10 events/s for 10 min: the live collector's lag p99, CPU share, RSS slope
      relay         orchlog ingest --listen: NDJSON datagrams into the log, events/s
      render        exposition time and bytes for 1k/10k/100k series; memory per series
      invocation-memory  collector heap and RSS per tracked (open) invocation, 100,000 left open
      tail-latency  emit → visible to a follower (SourceReader + inotify), p50/p99
      overhead      reference orchestrator at 1,000 invocations/s, CPU with the log on vs off
      live-overhead the live reference orchestrator (real threads, Redis, HTTP backends): invocations/s,
                    and its CPU per invocation with the log on vs --no-log

    Options:
      --quick       small sizes, few runs: a smoke run that shows every benchmark works
      --json        print the report as JSON (progress still goes to stderr)
      --only NAMES  run only these benchmarks (comma-separated, or repeat the option)
      --dir DIR     write logs under DIR (default: the temporary directory)

    Exit status: 0 when every benchmark ran (targets met or not), 1 when one failed, 2 usage.
    """

    static let names = ["emit", "write", "ingest", "fleet", "fleet-live", "relay", "render", "invocation-memory", "tail-latency", "overhead", "live-overhead"]

    static func run(_ argv: [String]) -> Int32 {
        var quick = false, json = false
        var only: [String] = []
        var dir: String?
        var i = 0
        func value(_ flag: String) -> String? {
            i += 1
            guard i < argv.count else { usage("\(flag) needs a value"); return nil }
            return argv[i]
        }
        while i < argv.count {
            switch argv[i] {
            case "--help", "-h": print(help); return 0
            case "--quick": quick = true
            case "--json": json = true
            case "--only":
                guard let v = value("--only") else { return 2 }
                only += v.split(separator: ",").map(String.init)
            case "--dir":
                guard let v = value("--dir") else { return 2 }
                dir = v
            case EventCorpus.exportFlag:
                guard let out = value(EventCorpus.exportFlag), let v = value(EventCorpus.exportFlag), let n = Int(v), n > 0 else { return 2 }
                return EventCorpus.export(to: out, count: n)
            case EmitAllocationProbe.flag:
                guard let v = value(EmitAllocationProbe.flag), let rounds = Int(v), rounds > 0 else { return 2 }
                return EmitAllocationProbe.run(rounds: rounds)
            default:
                usage("unexpected argument \(argv[i])")
                return 2
            }
            i += 1
        }
        if let unknown = only.first(where: { !names.contains($0) }) {
            usage("--only \(unknown): expected one of \(names.joined(separator: ", "))")
            return 2
        }
        var config = quick ? BenchConfig.quick() : BenchConfig()
        if let dir { config.baseDirectory = dir }

        var report = BenchReport(machine: MachineInfo.current(), quick: quick, arguments: argv)
        var failed = false
        if !json { print(report.header, terminator: "") }
        for name in names where only.isEmpty || only.contains(name) {
            progress("\(name)…")
            let start = Clock.nowNs()
            var result: BenchmarkResult
            do {
                result = try runOne(name, config)
            } catch {
                result = BenchmarkResult(name: name)
                result.note("error: \(error)")
                failed = true
                progress("\(name): error: \(error)")
            }
            result.seconds = Clock.seconds(since: start)
            if !json { print(BenchReport.section(result), terminator: "") }
            report.benchmarks.append(result)
        }
        if json {
            do { print(try report.json(), terminator: "") } catch {
                progress("cannot encode the report: \(error)")
                return 1
            }
        } else {
            print(report.footer, terminator: "")
        }
        return failed ? 1 : 0
    }

    private static func runOne(_ name: String, _ config: BenchConfig) throws -> BenchmarkResult {
        switch name {
        case "emit": return try EmitBenchmark(config: config).run()
        case "write": return try WriteBenchmark(config: config).run()
        case "ingest": return try IngestBenchmark(config: config).run()
        case "fleet": return try FleetBenchmark(config: config).run()
        case "fleet-live": return try FleetLiveBenchmark(config: config).run()
        case "relay": return try RelayBenchmark(config: config).run()
        case "render": return try RenderBenchmark(config: config).run()
        case "invocation-memory": return try InvocationMemoryBenchmark(config: config).run()
        case "tail-latency": return try TailLatencyBenchmark(config: config).run()
        case "live-overhead": return try LiveOverheadBenchmark(config: config).run()
        default: return try OverheadBenchmark(config: config).run()
        }
    }

    static func progress(_ message: String) {
        FileHandle.standardError.write(Data("orchlog-bench: \(message)\n".utf8))
    }

    private static func usage(_ message: String) {
        FileHandle.standardError.write(Data("orchlog-bench: \(message)\n\(help)\n".utf8))
    }
}
