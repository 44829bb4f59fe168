// `intake-bench ingest`: durable NDJSON ingest over raw TCP, closed loop per producer (one
// Envelope line out, its ack line back). A skeleton on the same ClientLoop as `ws`; it has only
// been run against a local line-echo, since the broker's TCP listener is still being written.
// Main thread; the measurement runs on ClientLoop threads.
import IntakeCrypto

enum IngestCommand {
    static let subcommand = Subcommand(
        name: "ingest",
        synopsis: "--tcp 127.0.0.1:PORT -c C --duration S [--account A --key K] [--warmup S] [--threads T] [--size 128] [--server-pid PID]",
        summary: "durable NDJSON ingest over raw TCP: one Envelope line out, its ack back, per producer",
        options: [
            OptionSpec("--tcp", "HOST:PORT of the raw TCP listener (loopback only; required)"),
            OptionSpec("--connections", alias: "-c", "producers (1..60000)"),
            OptionSpec("--duration", alias: "-d", "measured seconds (default 10, at most 3600)"),
            OptionSpec("--warmup", "seconds before the window, not counted (default 2)"),
            WSOptions.threads,
            OptionSpec("--size", "bytes of the Envelope line reached by text padding (default 128)"),
            OptionSpec("--account", "app account; with --key sends the auth line first (default bench)"),
            OptionSpec("--key", "the account's key for the auth line"),
            WSOptions.serverPid,
        ],
        run: run)

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let endpoint = try Endpoint.parseHostPort(try args.require("--tcp"))
        let account = JSONLine.escape(args.string("--account") ?? "bench")
        let size = try args.int("--size", default: 128, in: 0...(1 << 20))
        // A fresh run id keeps channelMessageId unique across runs, so no line is a duplicate.
        let runID = SecureRandom.token(bytes: 6)
        let envelope = #"{"channel":"app","account":"\#(account)","channelMessageId":"bench-\#(runID)-{c}-{n}","#
            + #""citizen":"bench-{c}","kind":"text","text":"{pad}"}"#
        let authLine = args.string("--key").map {
            #"{"type":"auth","account":"\#(account)","key":"\#(JSONLine.escape($0))"}"#
        }
        let settings = LoopSettings(
            endpoint: endpoint, message: MessageTemplate(envelope, size: size), hello: nil,
            replyMatch: nil, errorMatch: Array(#""error""#.utf8), connectBatch: 500)
        let plan = ClosedLoopPlan(
            connections: try args.int("--connections", default: 1, in: 1...WSOptions.maxConnections),
            threads: try WSOptions.threads(args),
            warmupS: try args.double("--warmup", default: 2, in: 0...600),
            durationS: try args.double("--duration", default: 10, in: 0.1...WSOptions.maxDurationS),
            serverPid: try args.pid(),
            settings: settings)
        say("intake-bench ingest tcp=\(endpoint.hostHeader) producers=\(plan.connections) size=\(size) "
            + "warmup=\(fixed(plan.warmupS))s duration=\(fixed(plan.durationS))s auth=\(authLine != nil)")
        let r = ClosedLoop.measure(NDJSONClientProtocol(authLine: authLine), plan)
        WSCommand.report(r)
        say("error_answers=\(r.stats.replyErrors) (in window \(r.stats.replyErrorsInWindow))")
        var j = JSONLine()
        j.add("bench", "ingest")
        j.add("producers", plan.connections)
        j.add("acksPerSec", Double(r.stats.repliesInWindow - r.stats.replyErrorsInWindow) / plan.durationS)
        j.add("p50Us", r.latencyUs(50))
        j.add("p99Us", r.latencyUs(99))
        j.add("p999Us", r.latencyUs(99.9))
        j.add("loadgenCores", r.loadgenCores, digits: 3)
        j.add("serverCores", r.serverCores, digits: 3)
        j.add("errors", r.stats.errors + Int(r.stats.replyErrors))
        j.add("durationS", plan.durationS)
        say(j.text)
        return r.stats.errors == 0 && r.stats.replyErrors == 0 ? 0 : 1
    }
}
