import OrchLog
import OrchVersion

/// The `orchlog` command: dispatches to subcommands and maps errors to exit codes
/// (0 ok, 1 failure found, 2 usage).
public enum OrchlogCLI {
    static let help = """
    Usage: orchlog COMMAND [OPTIONS]

    Commands:
      tail       show events, live with -f (like journalctl -f)
      inspect    segments, blocks, events, compression ratio, time range
      verify     check every frame; --repair cuts torn tails
      generate   write a realistic synthetic event mix (tests, benchmarks, demos)
      rules      render the Prometheus alert rules from your thresholds; --check a file
      ingest     write NDJSON events from stdin into a log (any language; docs/ndjson.md)
      schema     the event types and their fields (text, --markdown, -o json)

    Run `orchlog COMMAND --help` for a command's options; `orchlog --version` for the build.
    Exit status: 0 ok, 1 a failure was found, 2 usage error.
    """

    /// Runs the CLI with `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        // Before anything opens a file: a closed 0, 1 or 2 would otherwise be reused by it.
        let closedStreams = StandardStreams.reopenClosed()
        guard let command = arguments.first else {
            Output.err(help)
            return 2
        }
        let rest = Array(arguments.dropFirst())
        do {
            let status: Int32
            switch command {
            case "tail": status = try TailCommand.run(rest)
            case "inspect": status = try InspectCommand.run(rest)
            case "verify": status = try VerifyCommand.run(rest)
            case "generate": status = try GenerateCommand.run(rest)
            case "rules": status = try RulesCommand.run(rest)
            case "schema": status = try SchemaCommand.run(rest)
            case "ingest": status = try IngestCommand.run(rest, stdinClosed: closedStreams.contains(0))
            case "--help", "-h", "help":
                Output.out(help)
                status = 0
            case "--version":
                Output.out(BuildInfo.versionText(program: "orchlog"))
                status = 0
            default:
                throw CLIError.usage("unknown command \(command) (see orchlog --help)")
            }
            Output.flush()
            return status
        } catch let error as CLIError {
            Output.flush()
            Output.err("orchlog: \(error.message)")
            return error.isUsage ? 2 : 1
        } catch let error as OrchLogError {
            Output.flush()
            Output.err("orchlog: \(error.message)")
            return error.code == .invalidArgument ? 2 : 1
        } catch {
            Output.flush()
            Output.err("orchlog: \(error)")
            return 1
        }
    }
}
