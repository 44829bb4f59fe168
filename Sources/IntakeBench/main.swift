// intake-bench: Intake's dependency-free benchmarks and load generators. Each benchmark is a
// subcommand printing human-readable lines and, last, one JSON object (CONTRACT.md, Benchmarks).
// Loopback targets only; every run is bounded in connections and time. Main thread.
import Glibc

let subcommands: [Subcommand] = [
    WSCommand.subcommand,
    WSIdleCommand.subcommand,
    WSSweepCommand.subcommand,
    IngestCommand.subcommand,
    FsyncCommand.subcommand,
    RecoveryCommand.subcommand,
    FAQCommand.subcommand,
    RouterCommand.subcommand,
    E2ECommand.subcommand,
]

@MainActor
func printHelp(_ only: Subcommand? = nil) {
    if let command = only {
        say("usage: intake-bench \(command.name) \(command.synopsis)\n  \(command.summary)")
        for option in command.options {
            let name = option.name + (option.alias.map { ", \($0)" } ?? "")
            say("  " + name.padding(22) + option.help)
        }
        return
    }
    say("usage: intake-bench <subcommand> [options]   (intake-bench help <subcommand> for its options)")
    for command in subcommands { say("  " + command.name.padding(10) + command.summary) }
    say("  " + "help".padding(10) + "this list")
    say("Targets: 127.0.0.0/8 and ::1 only. The last stdout line of every benchmark is one JSON object.")
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, name != "help", name != "--help", name != "-h" else {
    printHelp(arguments.count > 1 ? subcommands.first { $0.name == arguments[1] } : nil)
    exit(0)
}
guard let command = subcommands.first(where: { $0.name == name }) else {
    printError("intake-bench: unknown subcommand \(name)")
    printHelp()
    exit(2)
}
do {
    let args = try Args(Array(arguments.dropFirst()), specs: command.options)
    exit(try command.run(args))
} catch {
    printError("intake-bench \(command.name): \(error.message)")
    exit(2)
}
