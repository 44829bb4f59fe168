// intake: the broker's executable. `intake serve` runs the broker; other subcommands are the
// operator's tools. Parses the command line, loads the configuration and runs; no logic here.
import IntakeServer
import IntakeTelemetry
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandleOut.stderr("intake: " + message + "\n")
    exit(code)
}

enum FileHandleOut {
    static func stderr(_ s: String) { var b = Array(s.utf8); _ = b.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) } }
    static func stdout(_ s: String) { var b = Array(s.utf8); _ = b.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) } }
}

let usage = """
usage: intake <command> [flags]

commands:
  serve        run the broker (intake serve --help lists its flags)
  help         this text

"""

/// What must live until the process exits (see `serve`).
nonisolated(unsafe) var processLifetime: Any?
nonisolated(unsafe) var signalSources: [any DispatchSourceSignal] = []

var args = Array(CommandLine.arguments.dropFirst())
let command = args.isEmpty ? "help" : args.removeFirst()

switch command {
case "serve":
    if args.contains("--help") || args.contains("-h") { FileHandleOut.stdout(ConfigLoader.usage); exit(0) }
    let config: ServerConfig
    switch ConfigLoader.load(arguments: args, environment: ProcessEnvironment.current, readFile: ProcessEnvironment.readFile) {
    case .failure(let e): fail(e.description)
    case .success(let c): config = c
    }
    signal(SIGPIPE, SIG_IGN)
    // Signal handling is in place before the ready line, so a signal sent as soon as the line
    // appears is handled; handlers run on the main queue once dispatchMain starts.
    let signals = [SIGTERM, SIGINT].map { sig -> any DispatchSourceSignal in
        signal(sig, SIG_IGN)
        let src = DispatchSource.makeSignalSource(signal: sig, queue: .main)
        src.setEventHandler {
            Log.info("signal received; stopping", ["signal": .string(sig == SIGTERM ? "SIGTERM" : "SIGINT")])
            (processLifetime as? Server)?.shutdown()
            Log.info("stopped")
            exit(0)
        }
        src.resume()
        return src
    }
    let server: Server
    do { server = try Server(config: config) } catch { fail("cannot start: \(error)", code: 1) }
    // dispatchMain never returns, so the optimizer may end local lifetimes before calling it:
    // keep the server and the signal sources in globals.
    processLifetime = server
    signalSources = signals
    FileHandleOut.stdout(server.readyLine + "\n")
    dispatchMain()
case "help", "--help", "-h":
    FileHandleOut.stdout(usage)
default:
    fail("unknown command '\(command)'\n" + usage)
}
