// `intake-bench router`: the routing engine alone, in process, no I/O. Queues N sessions with
// mixed skills behind A agents of mixed skills, brings the agents online (they fill up), then
// runs a steady state of decisions: a close frees a slot (the agent takes the next session in
// service order) and is accepted; an arrival looks for an agent. Main thread only.
import IntakeCore

enum RouterCommand {
    static let subcommand = Subcommand(
        name: "router",
        synopsis: "[--sessions 100000] [--agents 5000] [--decisions 1000000] [--seed 1]",
        summary: "routing decisions/s and latency per decision, in process (no I/O)",
        options: [
            OptionSpec("--sessions", "sessions queued before the measurement (default 100000)"),
            OptionSpec("--agents", "agents of mixed skills (default 5000)"),
            OptionSpec("--decisions", "measured decisions: closes and arrivals (default 1000000)"),
            OptionSpec("--seed", "random seed (default 1)"),
        ],
        run: run)

    /// SplitMix64, so runs are repeatable.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let sessionCount = try args.int("--sessions", default: 100_000, in: 0...2_000_000)
        let agentCount = try args.int("--agents", default: 5_000, in: 1...100_000)
        let decisions = try args.int("--decisions", default: 1_000_000, in: 1...100_000_000)
        var rng = Random(state: UInt64(try args.int("--seed", default: 1, in: 0...Int.max)))

        var profiles: [AgentProfile] = []
        for i in 0..<agentCount {
            var skills = ["general": 1 + rng.int(5)]
            if rng.int(10) < 3 { skills["enterprise"] = 1 + rng.int(5) }
            if rng.int(10) < 2 { skills["english"] = 1 + rng.int(5) }
            if rng.int(10) < 1 { skills["cantonese"] = 1 + rng.int(5) }
            if rng.int(10) < 1 { skills["overflow"] = 1 }
            profiles.append(AgentProfile(id: "a\(i)", name: "Agent \(i)", skills: skills,
                                         capacity: [.chat: 3 + rng.int(3), .voice: rng.int(5) == 0 ? 1 : 0],
                                         credential: .token("t")))
        }
        let directory: AgentDirectory
        do { directory = try AgentDirectory(agents: profiles) } catch {
            throw UsageError("generated directory refused: \(error)")
        }
        var config = RouterConfig()
        config.relaxation = [RelaxationStep(afterMillis: 60_000, .lowerProficiency(by: 1)),
                             RelaxationStep(afterMillis: 180_000, .addOverflowSkill("overflow", minProficiency: 1))]
        var now: EpochMillis = 1_700_000_000_000
        var router = Router(directory: directory, config: config, now: now)
        var next = 0
        func request() -> SessionRequest {
            next += 1
            let roll = rng.int(100)
            let reqs: [String: Int] = roll < 70 ? ["general": 1 + rng.int(3)]
                : roll < 85 ? ["enterprise": 2 + rng.int(3)]
                : roll < 95 ? ["english": 2, "general": 1] : ["cantonese": 1]
            return SessionRequest(id: "s\(next)", queue: roll >= 70 && roll < 85 ? "enterprise" : "general",
                                  kind: rng.int(20) == 0 ? .voice : .chat, priority: rng.int(10), requirements: reqs,
                                  citizen: "c\(rng.int(1_000_000))", enqueuedAt: now)
        }
        for _ in 0..<sessionCount {
            now += EpochMillis(rng.int(3))
            _ = router.handle(.sessionQueued(request()), now: now)
        }
        var held: [String] = []
        func acceptAll(_ actions: [RouterAction]) {
            for case let .offer(o, _) in actions {
                for case .assigned(let s, _) in router.handle(.offerAccepted(o.id, agent: o.agent), now: now) { held.append(s) }
            }
        }
        for p in profiles { acceptAll(router.handle(.presence(agent: p.id, .online), now: now)) }
        say("router: \(router.queuedSessionCount) queued, \(held.count) assigned to \(agentCount) agents")

        var histogram = Histogram()
        var timedNanos: UInt64 = 0
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<decisions {
            now += 1
            let t0 = clock.now
            let actions: [RouterAction]
            if i % 2 == 0, !held.isEmpty {
                let k = rng.int(held.count)
                let session = held[k]
                held[k] = held[held.count - 1]
                held.removeLast()
                actions = router.handle(.sessionClosed(session, wrapUp: false), now: now)
            } else {
                actions = router.handle(.sessionQueued(request()), now: now)
            }
            let t1 = clock.now
            let nanos = UInt64((t1 - t0) / .nanoseconds(1))
            timedNanos += nanos
            histogram.record(nanos)
            acceptAll(actions)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var line = JSONLine()
        line.add("bench", "router")
        line.add("sessions", sessionCount)
        line.add("agents", agentCount)
        line.add("decisions", decisions)
        line.add("decisionsPerSec", Double(decisions) / (Double(timedNanos) / 1e9), digits: 0)
        line.add("wallDecisionsPerSec", Double(decisions) / seconds, digits: 0)
        line.add("p50Us", histogram.percentile(50) / 1000, digits: 2)
        line.add("p99Us", histogram.percentile(99) / 1000, digits: 2)
        line.add("p999Us", histogram.percentile(99.9) / 1000, digits: 2)
        line.add("queuedAtEnd", router.queuedSessionCount)
        say("router: \(decisions) decisions, \(fixed(Double(timedNanos) / 1e9, 2)) s inside handle(); "
            + "\(fixed(seconds, 2)) s wall with the accepts and request generation")
        say(line.text)
        return 0
    }
}
