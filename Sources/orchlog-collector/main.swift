import Glibc
import OrchCollector

exit(CollectorCommand.main(Array(CommandLine.arguments.dropFirst())))
