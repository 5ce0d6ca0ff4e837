import OrchFlags
import OrchLog
import OrchVersion

/// The `orchlog` command: dispatches to subcommands and maps errors to exit codes
/// (0 ok, 1 failure found, 2 usage).
public enum OrchlogCLI {
    /// Runs the CLI with `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        // Before anything opens a file: a closed 0, 1 or 2 would otherwise be reused by it.
        let closedStreams = StandardStreams.reopenClosed()
        guard let command = arguments.first else {
            Output.err(spec.help)
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
            case "help": status = try help(rest)
            case "--help", "-h":
                Output.out(spec.help)
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

    /// `orchlog help [COMMAND | --markdown]`.
    static func help(_ argv: [String]) throws -> Int32 {
        let args = try Arguments(argv, spec: helpSpec)
        if args.has("--help") { Output.out(helpSpec.help); return 0 }
        if args.has("--markdown") {
            guard args.positional.isEmpty else { throw CLIError.usage("help: --markdown takes no COMMAND") }
            Output.out(markdown, terminator: "")
            return 0
        }
        guard let name = args.positional.first else { Output.out(spec.help); return 0 }
        guard args.positional.count == 1, let command = commands.first(where: { $0.name == name }) else {
            throw CLIError.usage("help: unknown command \(args.positional.joined(separator: " ")) (see orchlog --help)")
        }
        Output.out(command.spec.help)
        return 0
    }
}
