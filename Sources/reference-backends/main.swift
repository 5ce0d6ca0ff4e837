import Glibc
import OrchBackends

// Thin: parse, serve until SIGINT/SIGTERM, map errors to exit codes (0 stopped, 1 cannot serve, 2 usage).
exit(BackendsCommand.main(Array(CommandLine.arguments.dropFirst())))
