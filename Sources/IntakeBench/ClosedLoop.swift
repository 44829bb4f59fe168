// The driver of a closed-loop measurement, shared by `ws`, `ws-sweep` and `ingest`: spreads the
// connections over client-loop threads, connects, runs warm-up + window, samples CPU at the
// window edges and merges the per-thread statistics. Runs on the main thread; the loops are
// handed to worker threads one phase at a time.

/// Parameters of one closed-loop measurement.
struct ClosedLoopPlan {
    let connections: Int
    let threads: Int
    let warmupS: Double
    let durationS: Double
    let serverPid: Int32?
    let settings: LoopSettings
    /// Bound on connecting and handshaking all connections.
    var connectTimeoutS: Double = 30
    /// Skip the window when any connection failed to connect or handshake (e.g. auth refused).
    var abortOnConnectErrors = false
}

/// What a closed-loop measurement found.
struct ClosedLoopResult {
    let connections: Int
    let stats: LoopStats
    let durationS: Double
    /// Replies received inside the window divided by its nominal length.
    let messagesPerSec: Double
    /// This process's CPU over the window, in cores.
    let loadgenCores: Double
    /// The server's CPU over the window, in cores, when its pid was given.
    let serverCores: Double?

    /// Latency percentile `p` (0–100) in microseconds.
    func latencyUs(_ p: Double) -> Double { stats.histogram.percentile(p) / 1000 }
}

enum ClosedLoop {
    /// Loops for `connections` connections over at most `threads` threads; connection i goes to loop i mod T.
    static func makeLoops<P: WireProtocol>(_ proto: P, _ settings: LoopSettings, connections: Int, threads: Int) -> [ClientLoop<P>] {
        let t = max(1, min(threads, connections))
        return (0..<t).map { loop in
            ClientLoop(proto: proto, settings: settings, connectionIDs: Array(stride(from: loop, to: connections, by: t)))
        }
    }

    /// Connects every loop's connections in parallel, bounded by `timeoutS`.
    static func connectAll<P: WireProtocol>(_ loops: [ClientLoop<P>], timeoutS: Double) {
        let deadline = ProcStats.nowNanos() + UInt64(timeoutS * 1e9)
        ThreadGroup.runAll(loops.map { loop in { loop.connect(deadline: deadline) } })
    }

    static func mergedStats<P: WireProtocol>(_ loops: [ClientLoop<P>]) -> LoopStats {
        var total = LoopStats()
        for loop in loops { total.merge(loop.stats) }
        return total
    }

    /// Connects, warms up for `warmupS`, measures for `durationS`, closes. Bounded by
    /// connectTimeoutS + warmupS + durationS plus at most ~0.1 s of loop wake-up.
    static func measure<P: WireProtocol>(_ proto: P, _ plan: ClosedLoopPlan) -> ClosedLoopResult {
        let loops = makeLoops(proto, plan.settings, connections: plan.connections, threads: plan.threads)
        connectAll(loops, timeoutS: plan.connectTimeoutS)
        if plan.abortOnConnectErrors, mergedStats(loops).errors > 0 {
            for loop in loops { loop.close() }
            return ClosedLoopResult(connections: plan.connections, stats: mergedStats(loops), durationS: plan.durationS,
                                    messagesPerSec: 0, loadgenCores: 0, serverCores: nil)
        }
        let windowStart = ProcStats.nowNanos() + UInt64(plan.warmupS * 1e9)
        let windowEnd = windowStart + UInt64(plan.durationS * 1e9)
        let group = ThreadGroup(loops.map { loop in { loop.run(windowStart: windowStart, windowEnd: windowEnd) } })
        ProcStats.sleep(until: windowStart)
        let cpuStart = ProcStats.selfCPUSeconds()
        let serverStart = plan.serverPid.flatMap { ProcStats.cpuSeconds(pid: $0) }
        let wallStart = ProcStats.nowNanos()
        ProcStats.sleep(until: windowEnd)
        let cpuEnd = ProcStats.selfCPUSeconds()
        let serverEnd = plan.serverPid.flatMap { ProcStats.cpuSeconds(pid: $0) }
        let wallS = Double(ProcStats.nowNanos() - wallStart) / 1e9
        group.join()
        for loop in loops { loop.close() }
        let stats = mergedStats(loops)
        var serverCores: Double? = nil
        if let a = serverStart, let b = serverEnd { serverCores = (b - a) / wallS }
        return ClosedLoopResult(
            connections: plan.connections, stats: stats, durationS: plan.durationS,
            messagesPerSec: Double(stats.repliesInWindow) / plan.durationS,
            loadgenCores: (cpuEnd - cpuStart) / wallS, serverCores: serverCores)
    }
}
