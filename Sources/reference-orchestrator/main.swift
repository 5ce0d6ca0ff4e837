import Glibc
import OrchReference

// Thin: parse, run, map errors to exit codes (0 done, 1 failure, 2 usage).
exit(ReferenceCLI.main(Array(CommandLine.arguments.dropFirst())))
