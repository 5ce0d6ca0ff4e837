import Dispatch
import Foundation
import OrchVersion
import Glibc
import OrchLog
import OrchMetrics

/// `orchlog-collector`: flag parsing and the daemon's life cycle. The executable's main only
/// calls `CollectorCommand.main`.
public enum CollectorCommand {
    public static let help = """
    Usage: orchlog-collector --log.dir DIR [options]

    Follows orchlog event logs and serves them as Prometheus metrics.

    Options:
      --log.dir DIR                     root whose subdirectories are sources, or a source
                                        directory (repeatable; new sources are picked up live)
      --web.listen-address ADDR         where to serve HTTP (default :\(CollectorOptions.defaultPort))
      --web.config.file FILE            exporter-toolkit web config: TLS and bcrypt basic auth
      --checkpoint.file FILE            aggregated state + read positions, so a restart neither
                                        loses nor double-counts an event
      --checkpoint.interval SECONDS     how often to checkpoint (default 5; also on SIGTERM/SIGINT)
      --checkpoint.reset                start afresh: ignore the checkpoint (it records the --log.dir
                                        set it was written for, and a different set is refused)
      --source.ttl SECONDS              how long a vanished source keeps its series (default 3600)
      --source.group REGEX              source directories whose name matches share one `source`:
                                        the first capture group (e.g. '^(checkout-api)-[0-9a-f]+$');
                                        a root of service directories (ROOT/SERVICE/INSTANCE/) groups
                                        by SERVICE without it
      --metrics.per-instance            orchlog_collector_* per-source series also carry instance_dir
      --metrics.keep REGEX              export only families whose whole name matches (repeatable)
      --metrics.drop REGEX              neither feed nor export families whose name matches
                                        (repeatable; e.g. 'gen_ai_.*' when the orch_* twins suffice)
      --metrics.max-series-per-family N cardinality guard (default 10000, at most 10000000)
      --pricing.file PATH               LLM prices, USD per million tokens by provider, model and
                                        token type (YAML; deploy/pricing.yml): orch_llm_cost_usd_total.
                                        A model it does not price is counted in
                                        orchlog_collector_unpriced_tokens_total (without it: every model)
      --invocations.tracked N           invocations open at once whose fan-out (calls, tokens, cost)
                                        is tallied for orch_invocation_* (default 100000, at most
                                        10000000; more are counted in orchlog_collector_invocations_untracked_total)
      --state.tracked-keys N            keys tracked for lost updates / stale reads (default 100000, at most 100000000)
      --poll.interval SECONDS           scan interval when inotify is quiet (default 0.1, at most 3600)
      --status.sample-interval SECONDS  how often the status page (/) samples each source; it keeps
                                        90 samples (default 10: 15 minutes; from 0.1 to 3600)
      --status.max-sources N            sources the status page keeps history for (default 500,
                                        at most 100000; about 9.4 KB each)
      --once                            ingest what is there, print the text exposition, exit
      --metrics.reference               print the metric reference (docs/metrics.md) and exit
      --version                         version, revision, build date, Swift version, platform
      -h, --help                        this help

    Endpoints: /metrics, / (status page), /status.json, /-/healthy, /-/ready.
    Exit status: 0 ok, 1 failure (e.g. bad web config, address in use; with --once also corrupt
    data found, which is skipped and reported), 2 usage. A torn tail is a warning (status 0);
    a root with no sources yet is a warning too (docs/exit-status.md).
    """

    /// Parses flags into options.
    /// - Throws: `CollectorError(.invalidArgument)` for a usage error.
    public static func parse(_ argv: [String]) throws -> CollectorOptions? {
        var o = CollectorOptions()
        var i = 0
        func value(_ flag: String, inline: String?) throws -> String {
            if let inline { return inline }
            guard i < argv.count else { throw CollectorError(.invalidArgument, "\(flag) needs a value") }
            defer { i += 1 }
            return argv[i]
        }
        func number(_ flag: String, _ text: String, min: Double, max: Double = .greatestFiniteMagnitude) throws -> Double {
            guard let v = Double(text), v >= min, v <= max, v.isFinite else {
                let range = max == .greatestFiniteMagnitude ? "≥ \(min)" : "from \(min) to \(max)"
                throw CollectorError(.invalidArgument, "\(flag) \(text): expected a number \(range)")
            }
            return v
        }
        func count(_ flag: String, _ text: String, min: Int, max: Int) throws -> Int {
            guard let v = Int(text), v >= min, v <= max else {
                throw CollectorError(.invalidArgument, "\(flag) \(text): expected a whole number from \(min) to \(max)")
            }
            return v
        }
        while i < argv.count {
            var flag = argv[i]
            i += 1
            var inline: String?
            if flag.hasPrefix("--"), let eq = flag.firstIndex(of: "=") {
                inline = String(flag[flag.index(after: eq)...])
                flag = String(flag[..<eq])
            }
            switch flag {
            case "-h", "--help": return nil
            case "--log.dir": o.logDirs.append(try value(flag, inline: inline))
            case "--web.listen-address": o.listenAddress = try value(flag, inline: inline)
            case "--web.config.file": o.webConfigFile = try value(flag, inline: inline)
            case "--checkpoint.file": o.checkpointFile = try value(flag, inline: inline)
            case "--checkpoint.interval": o.checkpointInterval = try number(flag, try value(flag, inline: inline), min: 0.01)
            case "--source.ttl": o.sourceTTL = try number(flag, try value(flag, inline: inline), min: 0)
            case "--source.group":
                let pattern = try value(flag, inline: inline)
                _ = try SourceGrouping(pattern: pattern)
                o.sourceGroup = pattern
            case "--metrics.per-instance": o.perInstance = true
            case "--metrics.keep", "--metrics.drop":
                let pattern = try value(flag, inline: inline)
                _ = try FamilyFilter(keep: [pattern], drop: [])
                if flag == "--metrics.keep" { o.metricsKeep.append(pattern) } else { o.metricsDrop.append(pattern) }
            case "--metrics.max-series-per-family":
                o.seriesLimit = try count(flag, try value(flag, inline: inline), min: 1, max: CollectorOptions.maxSeriesLimit)
            case "--state.tracked-keys":
                o.trackedKeys = try count(flag, try value(flag, inline: inline), min: 2, max: CollectorOptions.maxTrackedKeys)
            case "--pricing.file": o.pricingFile = try value(flag, inline: inline)
            case "--invocations.tracked":
                o.trackedInvocations = try count(flag, try value(flag, inline: inline), min: 2, max: CollectorOptions.maxTrackedInvocations)
            case "--poll.interval": o.pollInterval = try number(flag, try value(flag, inline: inline), min: 0.001, max: 3_600)
            case "--status.sample-interval":
                o.statusSampleInterval = try number(flag, try value(flag, inline: inline), min: 0.1, max: 3_600)
            case "--status.max-sources":
                o.statusMaxSources = try count(flag, try value(flag, inline: inline), min: 0, max: 100_000)
            case "--once": o.once = true
            case "--checkpoint.reset": o.checkpointReset = true
            case "--metrics.reference":
                print(try MetricCatalog.reference(), terminator: "")
                exit(0)
            default: throw CollectorError(.invalidArgument, "unknown flag \(flag) (see --help)")
            }
        }
        guard !o.logDirs.isEmpty else { throw CollectorError(.invalidArgument, "--log.dir is required (see --help)") }
        return o
    }

    /// Runs the collector; returns the exit status.
    public static func main(_ argv: [String]) -> Int32 {
        // Before anything opens a file: a closed 1 or 2 would otherwise be reused by it (a
        // checkpoint would receive the exposition or error messages).
        StandardStreams.reopenClosed()
        func fail(_ message: String, _ status: Int32) -> Int32 {
            FileHandle.standardError.write(Data("orchlog-collector: \(message)\n".utf8))
            return status
        }
        if argv.first == "--version" {
            print(BuildInfo.versionText(program: "orchlog-collector"))
            return 0
        }
        let options: CollectorOptions
        do {
            guard let parsed = try parse(argv) else {
                print(help)
                return 0
            }
            options = parsed
        } catch {
            return fail("\(error)", 2)
        }
        // Before any work: a checkpoint that can never be written would lose it all at exit.
        if let path = options.checkpointFile {
            do { try OutputPath.checkWritable(path, flag: "--checkpoint.file") } catch { return fail("\(error)", 1) }
        }
        let collector: Collector
        do { collector = try Collector(options: options) } catch { return fail("\(error)", 1) }

        if options.once {
            collector.ingestAll()
            for problem in collector.tornTails() {
                FileHandle.standardError.write(Data("orchlog-collector: \(problem.kind.rawValue): \(problem.description)\n".utf8))
            }
            let saved = collector.checkpoint()
            let bytes = collector.render(format: .prometheusText)
            FileHandle.standardOutput.write(Data(bytes))
            if collector.sourceCount == 0 {
                FileHandle.standardError.write(Data("orchlog-collector: warning: no orchlog sources under \(options.logDirs.joined(separator: " ")) yet\n".utf8))
            }
            // A root that could not be read, corrupt data (skipped) or a checkpoint not
            // written (all already reported) fails the run, as `orchlog tail` and `inspect`.
            return collector.unreadableRoots.isEmpty && collector.corruptionFound == 0 && saved ? 0 : 1
        }

        var webConfig: WebConfig?
        if let path = options.webConfigFile {
            do { webConfig = try WebConfig.load(path: path) } catch { return fail("\(error)", 1) }
        }
        let server: HTTPServer
        do {
            server = try HTTPServer(listenAddress: options.listenAddress, webConfig: webConfig,
                                    logger: { line in FileHandle.standardError.write(Data("orchlog-collector: http: \(line)\n".utf8)) },
                                    handler: CollectorHTTP.handler(collector))
        } catch {
            return fail("\(error)", 1)
        }
        let scheme = server.isTLS ? "https" : "http"
        FileHandle.standardError.write(Data("orchlog-collector: serving \(scheme)://\(displayHost(options.listenAddress)):\(server.port)/metrics, following \(options.logDirs.joined(separator: ", "))\n".utf8))

        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        // A parent may have spawned us with these blocked; Dispatch needs them delivered.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        let queue = DispatchQueue(label: "orchlog-collector.signals")
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { collector.stop() }
            source.resume()
            return source
        }
        collector.run()
        server.stop()
        sources.forEach { $0.cancel() }
        FileHandle.standardError.write(Data("orchlog-collector: stopped\n".utf8))
        return 0
    }

    static func displayHost(_ address: String) -> String {
        let host = address.hasPrefix("[") ? String(address.prefix { $0 != "]" }) + "]" : String(address.split(separator: ":", omittingEmptySubsequences: false).first ?? "")
        return host.isEmpty || host == "0.0.0.0" ? "localhost" : host
    }
}
