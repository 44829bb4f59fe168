// `intake-bench ingest`: durable ingest, closed loop per producer: one Envelope out, its
// acknowledgement back, next. `--tcp`: NDJSON lines after an auth line (a refused auth stops the
// run); `--http`: keep-alive POST /api/v1/messages with a Bearer key. Main thread; the
// measurement runs on ClientLoop threads.
import IntakeCrypto

enum IngestCommand {
    static let subcommand = Subcommand(
        name: "ingest",
        synopsis: "(--tcp | --http) 127.0.0.1:PORT -c C --duration S [--account A --key K] [--warmup S] [--threads T] [--size 128] [--server-pid PID]",
        summary: "durable ingest over raw TCP NDJSON or HTTP: one Envelope out, its ack back, per producer",
        options: [
            OptionSpec("--tcp", "HOST:PORT of the raw TCP NDJSON listener (loopback only)"),
            OptionSpec("--http", "HOST:PORT of the HTTP listener: POST /api/v1/messages (loopback only)"),
            OptionSpec("--connections", alias: "-c", "producers, one connection each (1..60000)"),
            OptionSpec("--duration", alias: "-d", "measured seconds (default 10, at most 3600)"),
            OptionSpec("--warmup", "seconds before the window, not counted (default 2)"),
            WSOptions.threads,
            OptionSpec("--size", "bytes of the Envelope JSON reached by padding its text (default 128)"),
            OptionSpec("--account", "app account (default bench)"),
            OptionSpec("--key", "the account's key: the auth line (tcp) or Bearer token (http)"),
            WSOptions.serverPid,
        ],
        run: run)

    /// The wire chosen by --tcp or --http.
    enum Transport: String {
        case tcp, http
    }

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let (transport, endpoint) = try target(args)
        let account = args.string("--account") ?? "bench"
        let key = args.string("--key")
        let size = try args.int("--size", default: 128, in: 0...(1 << 20))
        let plan = ClosedLoopPlan(
            connections: try args.int("--connections", default: 1, in: 1...WSOptions.maxConnections),
            threads: try WSOptions.threads(args),
            warmupS: try args.double("--warmup", default: 2, in: 0...600),
            durationS: try args.double("--duration", default: 10, in: 0.1...WSOptions.maxDurationS),
            serverPid: try args.pid(),
            settings: settings(endpoint, account: account, size: size),
            abortOnConnectErrors: true)
        if plan.connections > 1000 { ProcStats.raiseOpenFileLimit() }
        say("intake-bench ingest \(transport.rawValue)=\(endpoint.hostHeader) producers=\(plan.connections) size=\(size) "
            + "warmup=\(fixed(plan.warmupS))s duration=\(fixed(plan.durationS))s key=\(key != nil)")
        let r: ClosedLoopResult
        switch transport {
        case .tcp: r = ClosedLoop.measure(NDJSONClientProtocol(authLine: key.map { authLine(account: account, key: $0) }), plan)
        case .http: r = ClosedLoop.measure(try HTTPIngestClientProtocol(endpoint: endpoint, key: key), plan)
        }
        WSCommand.report(r)
        let s = r.stats
        say("acks=\(s.repliesInWindow - s.replyErrorsInWindow) duplicates=\(s.duplicatesInWindow) "
            + "error_answers=\(s.replyErrors) (in window \(s.replyErrorsInWindow))")
        var j = JSONLine()
        j.add("bench", "ingest")
        j.add("producers", plan.connections)
        j.add("acksPerSec", Double(s.repliesInWindow - s.replyErrorsInWindow) / plan.durationS)
        j.add("p50Us", r.latencyUs(50))
        j.add("p99Us", r.latencyUs(99))
        j.add("p999Us", r.latencyUs(99.9))
        j.add("errors", s.errors + Int(s.replyErrors))
        j.add("errorAnswers", s.replyErrors)
        j.add("duplicates", s.duplicatesInWindow)
        j.add("loadgenCores", r.loadgenCores, digits: 3)
        j.add("serverCores", r.serverCores, digits: 3)
        j.add("transport", transport.rawValue)
        j.add("durationS", plan.durationS)
        say(j.text)
        return s.errors == 0 && s.replyErrors == 0 ? 0 : 1
    }

    static func target(_ args: Args) throws(UsageError) -> (Transport, Endpoint) {
        switch (args.string("--tcp"), args.string("--http")) {
        case (let tcp?, nil): return (.tcp, try Endpoint.parseHostPort(tcp))
        case (nil, let http?): return (.http, try Endpoint.parseHostPort(http))
        default: throw UsageError("give exactly one of --tcp HOST:PORT and --http HOST:PORT")
        }
    }

    /// Envelope template: a fresh run id keeps channelMessageId (run, producer, sequence) unique
    /// across runs against the same store, so no message is a duplicate.
    static func settings(_ endpoint: Endpoint, account: String, size: Int, runID: String = SecureRandom.token(bytes: 6)) -> LoopSettings {
        let envelope = #"{"channel":"app","account":"\#(JSONLine.escape(account))","channelMessageId":"\#(runID)-{c}-{n}","#
            + #""citizen":"u{c}","kind":"text","text":"{pad}"}"#
        return LoopSettings(endpoint: endpoint, message: MessageTemplate(envelope, size: size), hello: nil,
                            replyMatch: nil, connectBatch: 500)
    }

    static func authLine(account: String, key: String) -> String {
        #"{"type":"auth","account":"\#(JSONLine.escape(account))","key":"\#(JSONLine.escape(key))"}"#
    }
}
