import Glibc
import OrchLive
import OrchReference

// Thin: parse, run (simulated, or live through OrchLive), map errors to exit codes
// (0 done, 1 failure, 2 usage).
exit(ReferenceCLI.main(Array(CommandLine.arguments.dropFirst()), live: LiveRunner.run))
