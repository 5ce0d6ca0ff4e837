import Dispatch
import Foundation
import OrchVersion
import Glibc
import OrchLog
import OrchFlags
import OrchMetrics

/// `orchlog-collector`: flag parsing and the daemon's life cycle. The executable's main only
/// calls `CollectorCommand.main`.
public enum CollectorCommand {
    /// The `--help` text.
    public static var help: String { spec.help }

    /// Parses flags against `spec` into options, or the text `--help`, `--version`,
    /// `--metrics.reference` or `--help-markdown` print.
    /// - Throws: `CollectorError(.invalidArgument)` for a usage error.
    public static func parse(_ argv: [String]) throws -> CommandRequest<CollectorOptions> {
        var o = CollectorOptions()
        /// A flag's value (ParsedFlags has read it: never nil for a flag that takes one).
        func value(_ flag: String, inline: String?) throws -> String {
            guard let inline else { throw CollectorError(.invalidArgument, "\(flag) needs a value") }
            return inline
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
        let parsed: ParsedFlags
        do { parsed = try ParsedFlags(argv, spec: spec) } catch { throw CollectorError(.invalidArgument, error.message) }
        if parsed.has("--help") { return .print(help + "\n") }
        if let extra = parsed.positional.first { throw CollectorError(.invalidArgument, "unexpected argument \(extra) (see --help)") }
        for (flag, text) in parsed.given {
            let inline: String? = text
            switch flag {
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
            case "--poll.interval": o.pollInterval = try number(flag, try value(flag, inline: inline), min: 0.001, max: 3_600)
            case "--status.sample-interval":
                o.statusSampleInterval = try number(flag, try value(flag, inline: inline), min: 0.1, max: 3_600)
            case "--status.max-sources":
                o.statusMaxSources = try count(flag, try value(flag, inline: inline), min: 0, max: 100_000)
            case "--once": o.once = true
            case "--checkpoint.reset": o.checkpointReset = true
            case "--metrics.reference": return .print(try MetricCatalog.reference())
            case "--version": return .print(BuildInfo.versionText(program: "orchlog-collector") + "\n")
            case "--help-markdown": return .print(spec.markdownTable)
            default: throw CollectorError(.invalidArgument, "\(flag): in the flag spec but not parsed")
            }
        }
        guard !o.logDirs.isEmpty else { throw CollectorError(.invalidArgument, "--log.dir is required (see --help)") }
        return .run(o)
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
        let options: CollectorOptions
        do {
            guard let parsed = try parse(argv).optionsOrPrint() else { return 0 }
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
