// `intake-bench ws-sweep`: the closed loop at 1, 16, 64 and 256 connections, several runs each,
// reporting the median of each figure. Sequential and bounded: 4 × runs × (warmup + duration)
// plus connection set-up. Main thread; each run uses fresh connections and loops.

enum WSSweepCommand {
    static let connectionCounts = [1, 16, 64, 256]

    static let subcommand = Subcommand(
        name: "ws-sweep",
        synopsis: "--url ws://127.0.0.1:PORT/PATH [--server-pid PID] [--duration S] [--runs R] [--warmup S] [--threads T]",
        summary: "ws at C = 1, 16, 64, 256; median of R runs each",
        options: WSOptions.common.filter { $0.name != "--connections" } + [
            OptionSpec("--duration", alias: "-d", "measured seconds per run (default 3, at most 60)"),
            OptionSpec("--warmup", "seconds before each window (default 1)"),
            OptionSpec("--runs", "runs per connection count (default 3, at most 10)"),
        ],
        run: run)

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let endpoint = try Endpoint.parseWebSocketURL(try args.require("--url"))
        let runs = try args.int("--runs", default: 3, in: 1...10)
        let durationS = try args.double("--duration", default: 3, in: 0.1...60)
        let warmupS = try args.double("--warmup", default: 1, in: 0...60)
        let threads = try WSOptions.threads(args)
        let serverPid = try args.pid()
        let settings = try WSOptions.settings(args, endpoint: endpoint)
        let proto = WebSocketClientProtocol(endpoint: endpoint)
        say("intake-bench ws-sweep \(endpoint.wsURL) C=\(connectionCounts) runs=\(runs) warmup=\(fixed(warmupS))s duration=\(fixed(durationS))s threads=\(threads)")

        var summary: [String] = []
        var totalErrors = 0
        for connections in connectionCounts {
            var results: [ClosedLoopResult] = []
            for run in 1...runs {
                let plan = ClosedLoopPlan(connections: connections, threads: threads, warmupS: warmupS, durationS: durationS,
                                          serverPid: serverPid, settings: settings, connectTimeoutS: 30)
                let r = ClosedLoop.measure(proto, plan)
                say("  c=\(connections) run \(run)/\(runs): \(fixed(r.messagesPerSec)) msg/s p50=\(fixed(r.latencyUs(50))) "
                    + "p99=\(fixed(r.latencyUs(99))) us errors=\(r.stats.errors)" + (r.stats.firstError.map { " first: \($0)" } ?? ""))
                totalErrors += r.stats.errors
                results.append(r)
            }
            var j = JSONLine()
            j.add("bench", "ws")
            j.add("connections", connections)
            j.add("messagesPerSec", median(results.map(\.messagesPerSec)))
            j.add("p50Us", median(results.map { $0.latencyUs(50) }))
            j.add("p99Us", median(results.map { $0.latencyUs(99) }))
            j.add("p999Us", median(results.map { $0.latencyUs(99.9) }))
            j.add("loadgenCores", median(results.map(\.loadgenCores)), digits: 3)
            j.add("serverCores", serverPid == nil ? nil : median(results.compactMap(\.serverCores)), digits: 3)
            j.add("errors", results.reduce(0) { $0 + $1.stats.errors })
            j.add("durationS", durationS)
            j.add("runs", runs)
            j.add("statistic", "median")
            say(j.text)
            summary.append(j.text)
        }
        var j = JSONLine()
        j.add("bench", "ws-sweep")
        j.add("url", endpoint.wsURL)
        j.add("runs", runs)
        j.add("durationS", durationS)
        j.add("errors", totalErrors)
        j.addRaw("results", "[" + summary.joined(separator: ",") + "]")
        say(j.text)
        return totalErrors == 0 ? 0 : 1
    }

    /// Median (mean of the middle two for an even count); NaN when empty.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
