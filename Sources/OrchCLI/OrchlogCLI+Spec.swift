import OrchFlags

extension OrchlogCLI {
    /// Every `orchlog` command's spec, in the order `orchlog --help` and the README list them.
    static let commands: [(name: String, spec: CommandSpec)] = [
        ("tail", TailCommand.spec), ("inspect", InspectCommand.spec), ("verify", VerifyCommand.spec),
        ("generate", GenerateCommand.spec), ("rules", RulesCommand.spec), ("ingest", IngestCommand.spec),
        ("schema", SchemaCommand.spec), ("help", helpSpec),
    ]

    /// `orchlog help`: the top-level help, a command's, or every command's flag tables.
    static let helpSpec = CommandSpec(
        "orchlog help", summary: "this list; `orchlog help COMMAND` a command's help; --markdown the README's flag tables",
        synopsis: """
        Usage: orchlog help [COMMAND]
               orchlog help --markdown

        Prints the list of commands, or COMMAND's help (as `orchlog COMMAND --help` does).
        """,
        flags: [
            Flag("--markdown", "print every command's flag table as Markdown (the README's section, kept equal by a test)"),
            .help,
        ])

    /// `orchlog` itself: the command list and the flags it takes before a command.
    static var spec: CommandSpec {
        let width = commands.map(\.name.count).max() ?? 0
        let list = commands.map { "  " + $0.name.padding(toLength: width + 3, withPad: " ", startingAt: 0) + $0.spec.summary }
        return CommandSpec(
            "orchlog", summary: "the orchlog CLI",
            synopsis: "Usage: orchlog COMMAND [OPTIONS]\n\nCommands:\n" + list.joined(separator: "\n"),
            flags: [.help, .version],
            epilogue: """
            Run `orchlog COMMAND --help` for a command's options; `orchlog --version` for the build.
            Exit status: 0 ok, 1 a failure was found, 2 usage error.
            """)
    }

    /// `orchlog help --markdown`: the overview of the commands and each one's flag table.
    static var markdown: String { CommandSpec.markdown(commands.map(\.spec)) }
}
