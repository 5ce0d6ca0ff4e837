import Glibc
import OrchCLI

signal(SIGPIPE, SIG_IGN)
exit(OrchlogCLI.main(Array(CommandLine.arguments.dropFirst())))
