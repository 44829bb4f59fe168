// `intake-bench ws`: closed-loop WebSocket throughput and latency, the counterpart of
// nio ws-loadgen's `load` mode (same message bytes, same window and CPU accounting).
// Main thread; the measurement itself runs on ClientLoop threads.

enum WSCommand {
    static let subcommand = Subcommand(
        name: "ws",
        synopsis: "--url ws://127.0.0.1:PORT/PATH -c C --duration S [--warmup S] [--threads T] [--size 128] [--server-pid PID] [--hello TEXT]",
        summary: "closed-loop WebSocket load: one message out, one reply back, per connection",
        options: WSOptions.common + [
            OptionSpec("--duration", alias: "-d", "measured seconds (default 10, at most 3600)"),
            OptionSpec("--warmup", "seconds before the window, not counted (default 2)"),
        ],
        run: run)

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let endpoint = try Endpoint.parseWebSocketURL(try args.require("--url"))
        let plan = ClosedLoopPlan(
            connections: try args.int("--connections", default: 1, in: 1...WSOptions.maxConnections),
            threads: try WSOptions.threads(args),
            warmupS: try args.double("--warmup", default: 2, in: 0...600),
            durationS: try args.double("--duration", default: 10, in: 0.1...WSOptions.maxDurationS),
            serverPid: try args.pid(),
            settings: try WSOptions.settings(args, endpoint: endpoint))
        if plan.connections > 1000 { ProcStats.raiseOpenFileLimit() }
        say("intake-bench ws \(endpoint.wsURL) connections=\(plan.connections) threads=\(min(plan.threads, plan.connections)) "
            + "size=\(plan.settings.message.size) warmup=\(fixed(plan.warmupS))s duration=\(fixed(plan.durationS))s")
        let result = ClosedLoop.measure(WebSocketClientProtocol(endpoint: endpoint), plan)
        report(result)
        say(jsonLine(result).text)
        return result.stats.errors == 0 ? 0 : 1
    }

    /// Human-readable lines of a closed-loop result.
    static func report(_ r: ClosedLoopResult) {
        let s = r.stats
        say("connected=\(s.connected)/\(r.connections) messages=\(s.repliesInWindow) rate=\(fixed(r.messagesPerSec)) msg/s")
        say("latency_us p50=\(fixed(r.latencyUs(50))) p90=\(fixed(r.latencyUs(90))) p99=\(fixed(r.latencyUs(99))) "
            + "p99.9=\(fixed(r.latencyUs(99.9))) max=\(fixed(Double(s.histogram.maxValue) / 1000))")
        say("loadgen_cpu=\(fixed(r.loadgenCores, 2)) cores" + (r.serverCores.map { " server_cpu=\(fixed($0, 2)) cores" } ?? ""))
        say("errors=\(s.errors) unsolicited_frames=\(s.unsolicited)" + (s.firstError.map { " first: \($0)" } ?? ""))
    }

    /// The contract's result object plus the extra fields.
    static func jsonLine(_ r: ClosedLoopResult) -> JSONLine {
        var j = JSONLine()
        j.add("bench", "ws")
        j.add("connections", r.connections)
        j.add("messagesPerSec", r.messagesPerSec)
        j.add("p50Us", r.latencyUs(50))
        j.add("p99Us", r.latencyUs(99))
        j.add("p999Us", r.latencyUs(99.9))
        j.add("loadgenCores", r.loadgenCores, digits: 3)
        j.add("serverCores", r.serverCores, digits: 3)
        j.add("errors", r.stats.errors)
        j.add("durationS", r.durationS)
        return j
    }
}
