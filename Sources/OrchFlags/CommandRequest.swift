/// What a command line asks an executable for: a run with its options, or text to print
/// before exiting 0 (`--help`, `--version`, `--help-markdown`, …).
public enum CommandRequest<Options: Sendable & Equatable>: Sendable, Equatable {
    /// Run with these options.
    case run(Options)
    /// Print this text (as is: it ends with its own newline) and exit 0.
    case print(String)

    /// The options to run with; nil once the text to print is on stdout.
    public func optionsOrPrint() -> Options? {
        switch self {
        case .run(let options): return options
        case .print(let text):
            Swift.print(text, terminator: "")
            return nil
        }
    }
}
