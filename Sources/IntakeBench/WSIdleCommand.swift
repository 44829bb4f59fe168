// `intake-bench ws-idle`: the server's resident memory per idle WebSocket connection, the
// counterpart of nio ws-loadgen's `idle` mode. Opens N connections in batches, reads VmRSS
// before and after a settle, holds, then checks that every connection still gets its reply.
// Main thread; connecting and verifying run on ClientLoop threads.

enum WSIdleCommand {
    static let subcommand = Subcommand(
        name: "ws-idle",
        synopsis: "--url ws://127.0.0.1:PORT/PATH -c N --hold S --server-pid PID [--settle S] [--threads T]",
        summary: "server memory per idle WebSocket connection, then one verified message each",
        options: WSOptions.common + [
            OptionSpec("--hold", "seconds to hold the idle connections (default 10, at most 3600)"),
            OptionSpec("--settle", "seconds between the last connect and the 'after' RSS reading (default 1)"),
        ],
        run: run)

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let endpoint = try Endpoint.parseWebSocketURL(try args.require("--url"))
        let connections = try args.int("--connections", default: 1, in: 1...WSOptions.maxConnections)
        let holdS = try args.double("--hold", default: 10, in: 0...WSOptions.maxDurationS)
        let settleS = try args.double("--settle", default: 1, in: 0...60)
        let threads = try WSOptions.threads(args)
        let serverPid = try args.pid()
        let settings = try WSOptions.settings(args, endpoint: endpoint)

        let fileLimit = ProcStats.raiseOpenFileLimit()
        if fileLimit < connections + 64 {
            printError("warning: open-file limit \(fileLimit) is below \(connections) connections; raise the hard limit (ulimit -Hn)")
        }
        say("intake-bench ws-idle \(endpoint.wsURL) connections=\(connections) threads=\(min(threads, connections)) "
            + "hold=\(fixed(holdS))s settle=\(fixed(settleS))s nofile=\(fileLimit)")

        let rssBefore = serverPid.flatMap { ProcStats.rssKiB(pid: $0) }
        let loops = ClosedLoop.makeLoops(WebSocketClientProtocol(endpoint: endpoint), settings, connections: connections, threads: threads)
        let started = ProcStats.nowNanos()
        ClosedLoop.connectAll(loops, timeoutS: 120)
        let connectS = Double(ProcStats.nowNanos() - started) / 1e9
        var stats = ClosedLoop.mergedStats(loops)
        say("connected=\(stats.connected)/\(connections) in \(fixed(connectS, 2)) s (\(fixed(Double(stats.connected) / connectS, 0)) conn/s)")

        ProcStats.sleep(seconds: settleS)
        let rssAfter = serverPid.flatMap { ProcStats.rssKiB(pid: $0) }
        ProcStats.sleep(seconds: holdS)
        let rssAfterHold = serverPid.flatMap { ProcStats.rssKiB(pid: $0) }

        let verifyDeadline = ProcStats.nowNanos() + 30_000_000_000
        ThreadGroup.runAll(loops.map { loop in { loop.verify(deadline: verifyDeadline) } })
        for loop in loops { loop.close() }
        stats = ClosedLoop.mergedStats(loops)

        func perConnection(_ after: Int?) -> Double? {
            guard let a = rssBefore, let b = after, stats.connected > 0 else { return nil }
            return Double(b - a) / Double(stats.connected)
        }
        let rssText = { (v: Int?) in v.map(String.init) ?? "n/a" }
        say("server VmRSS KiB: before=\(rssText(rssBefore)) after=\(rssText(rssAfter)) after_hold=\(rssText(rssAfterHold)) "
            + "per_connection=\(perConnection(rssAfter).map { fixed($0, 2) } ?? "n/a") KiB")
        say("verified=\(stats.verified)/\(stats.connected) errors=\(stats.errors)" + (stats.firstError.map { " first: \($0)" } ?? ""))

        var j = JSONLine()
        j.add("bench", "ws-idle")
        j.add("connections", connections)
        j.add("connected", stats.connected)
        j.add("serverRssBeforeKiB", rssBefore.map(Double.init), digits: 0)
        j.add("serverRssAfterKiB", rssAfter.map(Double.init), digits: 0)
        j.add("serverRssAfterHoldKiB", rssAfterHold.map(Double.init), digits: 0)
        j.add("perConnectionKiB", perConnection(rssAfter), digits: 3)
        j.add("verified", stats.verified)
        j.add("errors", stats.errors)
        j.add("connectS", connectS, digits: 3)
        say(j.text)
        return stats.errors == 0 && stats.verified == connections ? 0 : 1
    }
}
