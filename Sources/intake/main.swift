// intake: the broker's executable. `intake serve` runs the broker; other subcommands are the
// operator's tools. Parses the command line, loads the configuration and runs; no logic here.
import IntakeServer
import IntakeCore
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
    static func stderr(_ s: String) { write(2, Array(s.utf8)) }
    static func stdout(_ s: String) { write(1, Array(s.utf8)) }
    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }
}

let usage = """
usage: intake <command> [flags]

commands:
  serve                                  run the broker (intake serve --help lists its flags)
  check --data-dir DIR [--repair]        check the log; with --repair cut it back to the last good record
  export --data-dir DIR [--since T] [--until T] [--unmasked] [--format jsonl]
                                         print the stored messages received in [since, until), one JSON
                                         envelope per line; T is RFC 3339 (2026-11-22T08:00:00Z) or a date
                                         (2026-11-22, UTC midnight); phone and ID-card numbers are masked
                                         (138****1234) unless --unmasked
  status [--url URL] [--token T] [--json]  a running broker's readiness, queues, agents, rates and alerts
  queues [--url URL] [--token T] [--json]  its queues with depth by priority and the longest waits
  agents [--url URL] [--token T] [--json]  its agents with presence, connection and sessions
                                         (URL default http://127.0.0.1:8080; T default $INTAKE_ADMIN_TOKEN)
  help                                   this text

"""

/// `--data-dir DIR` (or `--data-dir=DIR`) and the boolean flags allowed, from `args`.
func offlineFlags(_ args: [String], booleans: Set<String>, values: Set<String>) -> (dataDir: String, flags: [String: String]) {
    var flags: [String: String] = [:]
    var i = 0
    while i < args.count {
        var name = args[i], value: String?
        if let eq = name.firstIndex(of: "=") { value = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
        i += 1
        if booleans.contains(name) { flags[name] = "true"; continue }
        guard values.contains(name) || name == "--data-dir" else { fail("unknown flag \(name)\n" + usage) }
        if value == nil { guard i < args.count else { fail("\(name) needs a value") }; value = args[i]; i += 1 }
        flags[name] = value
    }
    guard let dir = flags["--data-dir"], !dir.isEmpty else { fail("--data-dir DIR is required\n" + usage) }
    return (dir, flags)
}

/// The running broker and its signal sources. A global, because `dispatchMain()` never returns:
/// locals (even inside `withExtendedLifetime`) may be released before it is called in release
/// builds, which freed the server under its loops and dropped the SIGTERM handlers.
nonisolated(unsafe) var runningBroker: Broker?
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
            SystemdNotify.send("STOPPING=1")
            runningBroker?.shutdown()
            Log.info("stopped")
            exit(0)
        }
        src.resume()
        return src
    }
    // SIGHUP: run the server's reload hooks (the TLS certificate, …); the broker keeps serving.
    signal(SIGHUP, SIG_IGN)
    let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .main)
    hangUp.setEventHandler {
        Log.info("signal received; reloading", ["signal": "SIGHUP"])
        runningBroker?.server.reloaders.reloadAll()
    }
    hangUp.resume()
    let broker: Broker
    do { broker = try Broker.start(config: config) } catch {
        if case .agents = error { fail(error.description, code: 2) }
        fail(error.description, code: 1)
    }
    runningBroker = broker
    signalSources = signals + [hangUp]
    FileHandleOut.stdout(broker.server.readyLine + "\n")
    // Type=notify units (Ops/systemd/intake.service): ready only now, after recovery and listen.
    SystemdNotify.send("READY=1\nMAINPID=\(getpid())\nSTATUS=\(broker.server.readyLine)")
    dispatchMain()
case "check":
    let (dir, flags) = offlineFlags(args, booleans: ["--repair"], values: [])
    do {
        let report = try OfflineTools.check(dataDir: dir, repair: flags["--repair"] != nil)
        FileHandleOut.stdout(report.description)
        exit(report.isClean || report.movedTo != nil ? 0 : 1)
    } catch {
        fail("check \(dir): \(error)", code: 1)
    }
case "export":
    let (dir, flags) = offlineFlags(args, booleans: ["--unmasked"], values: ["--format", "--since", "--until"])
    guard (flags["--format"] ?? "jsonl") == "jsonl" else { fail("--format: only jsonl is supported") }
    var options = OfflineTools.ExportOptions()
    options.unmasked = flags["--unmasked"] != nil
    for (flag, set) in [("--since", { (t: EpochMillis) in options.since = t }), ("--until", { options.until = $0 })] {
        guard let text = flags[flag] else { continue }
        guard let t = RFC3339.parse(text) ?? RFC3339.parse(text + "T00:00:00Z") else {
            fail("\(flag): '\(text)' is not an RFC 3339 time (2026-11-22T08:00:00Z) or a date (2026-11-22)")
        }
        set(t)
    }
    if let s = options.since, let u = options.until, u <= s { fail("--until must be after --since") }
    do {
        _ = try OfflineTools.exportJSONL(dataDir: dir, options: options) { FileHandleOut.write(1, $0) }
    } catch {
        fail("export \(dir): \(error)", code: 1)
    }
case "status", "queues", "agents":
    var o = OperatorCLI.Options()
    o.token = ProcessEnvironment.current["INTAKE_ADMIN_TOKEN"]
    var i = 0
    while i < args.count {
        var name = args[i], value: String?
        if let eq = name.firstIndex(of: "=") { value = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
        i += 1
        if name == "--json" { o.json = true; continue }
        guard name == "--url" || name == "--token" else { fail("unknown flag \(name)\n" + usage) }
        if value == nil { guard i < args.count else { fail("\(name) needs a value") }; value = args[i]; i += 1 }
        if name == "--url" { o.url = value! } else { o.token = value! }
    }
    switch OperatorCLI.run(command, o) {
    case .ok(let text): FileHandleOut.stdout(text)
    case let .failed(why, code): fail(why, code: code)
    }
case "help", "--help", "-h":
    FileHandleOut.stdout(usage)
default:
    fail("unknown command '\(command)'\n" + usage)
}
