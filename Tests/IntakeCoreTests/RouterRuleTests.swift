// Table-driven routing cases: skills × proficiency × capacity × presence × priority ×
// stickiness × relaxation. Each case sets up agents and earlier events, queues one probe
// session, and names the agent it must be offered to (or nobody) and the audit rule used.
import Testing
@testable import IntakeCore

struct RoutingCase: CustomStringConvertible, Sendable {
    var name: String
    var agents: [AgentSpec]
    var config = RouterConfig()
    /// Events before the probe (the driver's clock may be advanced inside).
    var setup: @Sendable (inout RouterDriver) -> Void = { _ in }
    var probe: SessionRequestSpec
    /// The agent the probe must be offered to; nil = it must wait.
    var expected: String?
    /// A fragment of the offer's audit line.
    var reason: String = ""
    var description: String { name }
}

struct SessionRequestSpec: Sendable {
    var reqs: [String: Int] = ["general": 1]
    var kind: ChannelKind = .chat
    var priority = 5
    var citizen: String?
    var waited: EpochMillis = 0
}

extension AgentSpec: @unchecked Sendable {}

let relaxed: RouterConfig = {
    var c = RouterConfig()
    c.relaxation = [RelaxationStep(afterMillis: 60_000, .lowerProficiency(by: 1)),
                    RelaxationStep(afterMillis: 180_000, .addOverflowSkill("overflow", minProficiency: 1))]
    return c
}()

let routingCases: [RoutingCase] = [
    RoutingCase(name: "skill required: only the agent with it",
                agents: [.init(id: "a", skills: ["general": 5]), .init(id: "b", skills: ["general": 1, "enterprise": 2])],
                probe: .init(reqs: ["enterprise": 1]), expected: "b", reason: "best proficiency 2 among 1"),
    RoutingCase(name: "every required skill",
                agents: [.init(id: "a", skills: ["english": 5]), .init(id: "b", skills: ["enterprise": 5]),
                         .init(id: "c", skills: ["english": 2, "enterprise": 3])],
                probe: .init(reqs: ["english": 1, "enterprise": 1]), expected: "c", reason: "best proficiency 2"),
    RoutingCase(name: "proficiency floor excludes a weaker agent",
                agents: [.init(id: "a", skills: ["general": 2])],
                probe: .init(reqs: ["general": 3]), expected: nil),
    RoutingCase(name: "best proficiency wins",
                agents: [.init(id: "a", skills: ["general": 3]), .init(id: "b", skills: ["general": 5]),
                         .init(id: "c", skills: ["general": 4])],
                probe: .init(reqs: ["general": 3]), expected: "b", reason: "best proficiency 5 among 1 eligible"),
    RoutingCase(name: "equal proficiency: lowest load",
                agents: [.init(id: "a", skills: ["general": 3]), .init(id: "b", skills: ["general": 3])],
                setup: { d in d.queue("x"); d.accept("x") },
                probe: .init(), expected: "b", reason: "load 0/3"),
    RoutingCase(name: "load is a ratio of capacity",
                agents: [.init(id: "a", skills: ["general": 3], chat: 10), .init(id: "b", skills: ["general": 3], chat: 2)],
                setup: { d in d.queue("x"); d.accept("x"); d.now += 1; d.queue("y"); d.accept("y") },
                probe: .init(), expected: "a", reason: "load 1/10"),
    RoutingCase(name: "equal load: longest idle",
                agents: [.init(id: "a", skills: ["general": 3]), .init(id: "b", skills: ["general": 3])],
                setup: { d in
                    d.send(.presence(agent: "a", .away)); d.now += 5_000; d.send(.presence(agent: "a", .online))
                    d.now += 42_000
                },
                probe: .init(), expected: "b", reason: "idle 47 s"),
    RoutingCase(name: "full capacity: waits",
                agents: [.init(id: "a", skills: ["general": 3], chat: 1)],
                setup: { d in d.queue("x"); d.accept("x") }, probe: .init(), expected: nil),
    RoutingCase(name: "pending offers count against capacity",
                agents: [.init(id: "a", skills: ["general": 3], chat: 1)],
                setup: { d in d.queue("x") }, probe: .init(), expected: nil),
    RoutingCase(name: "away agent gets nothing",
                agents: [.init(id: "a", skills: ["general": 3]), .init(id: "b", skills: ["general": 1])],
                setup: { d in d.send(.presence(agent: "a", .away)) }, probe: .init(), expected: "b"),
    RoutingCase(name: "offline agent gets nothing",
                agents: [.init(id: "a", skills: ["general": 3])],
                setup: { d in d.send(.presence(agent: "a", .offline)) }, probe: .init(), expected: nil),
    RoutingCase(name: "disconnected agent (in grace) gets nothing new",
                agents: [.init(id: "a", skills: ["general": 3]), .init(id: "b", skills: ["general": 1])],
                setup: { d in d.send(.disconnected(agent: "a")) }, probe: .init(), expected: "b"),
    RoutingCase(name: "a call blocks new chats",
                agents: [.init(id: "a", skills: ["general": 5], chat: 5, voice: 1), .init(id: "b", skills: ["general": 1])],
                setup: { d in d.queue("call", kind: .voice); d.accept("call") }, probe: .init(), expected: "b"),
    RoutingCase(name: "a pending call offer blocks new chats",
                agents: [.init(id: "a", skills: ["general": 5], chat: 5, voice: 1)],
                setup: { d in d.queue("call", kind: .voice) }, probe: .init(), expected: nil),
    RoutingCase(name: "open chats do not block a call (Genesys default)",
                agents: [.init(id: "a", skills: ["general": 5], chat: 5, voice: 1)],
                setup: { d in d.queue("x"); d.accept("x") }, probe: .init(kind: .voice), expected: "a"),
    RoutingCase(name: "open chats block a call when configured",
                agents: [.init(id: "a", skills: ["general": 5], chat: 5, voice: 1)],
                config: { var c = RouterConfig(); c.chatBlocksVoice = true; return c }(),
                setup: { d in d.queue("x"); d.accept("x") }, probe: .init(kind: .voice), expected: nil),
    RoutingCase(name: "voice needs voice capacity",
                agents: [.init(id: "a", skills: ["general": 5], chat: 5, voice: 0)],
                probe: .init(kind: .voice), expected: nil),
    RoutingCase(name: "a higher-priority waiting session goes first to the freed agent",
                agents: [.init(id: "a", skills: ["general": 3], chat: 1)],
                setup: { d in d.queue("x"); d.accept("x"); d.queue("low", priority: 2, waited: 50_000); d.queue("high", priority: 8) ;
                         d.send(.sessionClosed("x", wrapUp: false)) },
                probe: .init(priority: 1), expected: nil),
    RoutingCase(name: "sticky: the returning citizen's last agent, not the better one",
                agents: [.init(id: "a", skills: ["general": 2]), .init(id: "b", skills: ["general": 5])],
                setup: { d in
                    d.send(.presence(agent: "b", .away))
                    d.queue("first", citizen: "c1"); d.accept("first"); d.send(.sessionClosed("first", wrapUp: false))
                    d.send(.presence(agent: "b", .online)); d.now += 60_000
                },
                probe: .init(citizen: "c1"), expected: "a", reason: "sticky"),
    RoutingCase(name: "sticky expires",
                agents: [.init(id: "a", skills: ["general": 2]), .init(id: "b", skills: ["general": 5])],
                setup: { d in
                    d.send(.presence(agent: "b", .away))
                    d.queue("first", citizen: "c1"); d.accept("first"); d.send(.sessionClosed("first", wrapUp: false))
                    d.send(.presence(agent: "b", .online)); d.advance(31 * 60_000)
                },
                probe: .init(citizen: "c1"), expected: "b", reason: "best proficiency 5"),
    RoutingCase(name: "sticky needs capacity",
                agents: [.init(id: "a", skills: ["general": 2], chat: 1), .init(id: "b", skills: ["general": 5])],
                setup: { d in
                    d.send(.presence(agent: "b", .away))
                    d.queue("first", citizen: "c1"); d.accept("first")
                    d.send(.presence(agent: "b", .online))
                },
                probe: .init(citizen: "c1"), expected: "b"),
    RoutingCase(name: "no relaxation before the step",
                agents: [.init(id: "a", skills: ["general": 2])], config: relaxed,
                probe: .init(reqs: ["general": 3], waited: 59_999), expected: nil),
    RoutingCase(name: "relaxed floor after 60 s",
                agents: [.init(id: "a", skills: ["general": 2])], config: relaxed,
                probe: .init(reqs: ["general": 3], waited: 60_000), expected: "a", reason: "relaxation level 1"),
    RoutingCase(name: "overflow group after 180 s",
                agents: [.init(id: "a", skills: ["overflow": 1])], config: relaxed,
                probe: .init(reqs: ["general": 4], waited: 180_000), expected: "a", reason: "relaxation level 2"),
    RoutingCase(name: "strict match preferred over overflow",
                agents: [.init(id: "a", skills: ["overflow": 5]), .init(id: "b", skills: ["general": 3])], config: relaxed,
                probe: .init(reqs: ["general": 4], waited: 200_000), expected: "b", reason: "best proficiency 3"),
]

@Suite(.timeLimit(.minutes(5))) struct RouterRuleTests {
    @Test(arguments: routingCases) func probe(_ c: RoutingCase) {
        var d = RouterDriver(c.agents, config: c.config)
        c.setup(&d)
        let p = c.probe
        let out = d.queue("probe", p.reqs, priority: p.priority, kind: p.kind, citizen: p.citizen, waited: p.waited)
        let offered = out.offers.first { $0.0 == "probe" }?.1
        #expect(offered == c.expected, "\(c.name): offers \(out.offerLines)")
        if c.expected == nil { #expect(d.router.state(of: "probe") == .queued, "\(c.name)") }
        if !c.reason.isEmpty, let line = out.firstReason {
            #expect(line.contains(c.reason), "\(c.name): audit \(line)")
        }
    }

    @Test func freedAgentTakesHighestPriorityThenOldest() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 3], chat: 1)])
        d.queue("x"); d.accept("x")
        d.queue("old-low", priority: 2, waited: 50_000)
        d.queue("new-high", priority: 8)
        d.queue("old-high", priority: 8, waited: 10_000)
        var order: [String] = []
        var current = "x"
        for _ in 0..<3 {
            let out = d.send(.sessionClosed(current, wrapUp: false))
            guard let next = out.offers.first?.0 else { Issue.record("nothing offered"); return }
            order.append(next)
            d.accept(next)
            current = next
        }
        #expect(order == ["old-high", "new-high", "old-low"])
    }

    @Test func antiStarvationAcrossQueues() {
        var c = RouterConfig()
        c.starvationLimitMillis = ["general": 60_000]
        var d = RouterDriver([.init(id: "a", skills: ["general": 3], chat: 1)], config: c)
        d.queue("x"); d.accept("x")
        d.queue("starved", priority: 0, queue: "general", waited: 61_000)
        d.queue("urgent", priority: 9, queue: "other")
        let out = d.send(.sessionClosed("x", wrapUp: false))
        #expect(out.offerLines == ["starved→a"])
        #expect(out.firstReason?.contains("overdue") == true)
    }

    @Test func declineGoesToTheNextAgentAndNeverBack() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5]), .init(id: "b", skills: ["general": 3])])
        d.queue("s")
        #expect(d.offeredTo("s") == "a")
        let out = d.decline("s")
        #expect(out.contains(.requeued(session: "s", cause: .declined)))
        #expect(d.offeredTo("s") == "b")
        d.decline("s")
        #expect(d.router.state(of: "s") == .queued, "both declined: waits")
        d.send(.presence(agent: "a", .away)); d.send(.presence(agent: "a", .online))
        #expect(d.router.state(of: "s") == .queued, "never offered again to a decliner")
    }

    @Test func twoConsecutiveTimeoutsSetAway() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5]), .init(id: "b", skills: ["general": 3], chat: 1)])
        d.send(.presence(agent: "b", .away))
        d.queue("s1"); d.queue("s2")
        d.send(.presence(agent: "b", .online))
        #expect(d.offeredTo("s1") == "a" && d.offeredTo("s2") == "a")
        #expect(d.router.nextDeadline == d.now + 20_000)
        let out = d.advance(20_000)
        #expect(out.contains(.presenceChanged(agent: "a", .away, reason: "2 consecutive offer timeouts")))
        #expect(d.router.presence(of: "a") == .away)
        #expect(out.filter { if case .revoke(_, .timedOut) = $0 { return true }; return false }.count == 2)
        #expect(d.offeredTo("s1") == "b", "timed-out session goes to the next agent")
        #expect(d.router.state(of: "s2") == .queued)
    }

    @Test func acceptResetsTheTimeoutStreak() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5])])
        d.queue("s1")
        d.advance(20_000)
        d.queue("s2"); d.accept("s2")
        d.queue("s3"); d.advance(20_000)
        #expect(d.router.presence(of: "a") == .online)
    }

    @Test func graceReconnectKeepsEverything() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5])])
        d.queue("s"); d.accept("s")
        d.send(.disconnected(agent: "a"))
        #expect(d.router.nextDeadline == d.now + 30_000)
        d.now += 29_000
        let out = d.send(.reconnected(agent: "a"))
        #expect(out.isEmpty)
        d.advance(5_000)
        #expect(d.router.state(of: "s") == .assigned(agent: "a") && d.router.presence(of: "a") == .online)
    }

    @Test func graceExpiryRequeuesAtTheFrontWithTheOriginalWait() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5], chat: 1), .init(id: "b", skills: ["general": 1], chat: 1)])
        d.queue("s", waited: 5_000); d.accept("s")
        d.queue("t"); d.accept("t")
        d.queue("u")
        #expect(d.router.state(of: "u") == .queued)
        d.send(.disconnected(agent: "a"))
        let out = d.advance(30_000)
        #expect(out.contains(.presenceChanged(agent: "a", .offline,
                                              reason: "connection lost; grace period of 30 s expired")))
        #expect(out.contains(.requeued(session: "s", cause: .agentOffline)))
        d.send(.sessionClosed("t", wrapUp: false))
        #expect(d.offeredTo("s") == "b", "s kept its original wait: ahead of u")
        let wait = d.router.snapshot().sessions.first(where: { $0.request.id == "s" })?.request.enqueuedAt
        #expect(wait == 995_000)
    }

    @Test func explicitOfflineRequeuesAndAwayKeeps() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5])])
        d.queue("s"); d.accept("s"); d.queue("t")
        let away = d.send(.presence(agent: "a", .away))
        #expect(away.contains { if case .revoke(_, .agentAway) = $0 { return true }; return false })
        #expect(d.router.state(of: "s") == .assigned(agent: "a") && d.router.state(of: "t") == .queued)
        d.send(.presence(agent: "a", .offline))
        #expect(d.router.state(of: "s") == .queued)
    }

    @Test func wrapUpHoldsTheSlot() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5], chat: 1)])
        d.queue("s"); d.accept("s"); d.queue("t")
        d.send(.sessionClosed("s", wrapUp: true))
        #expect(d.router.state(of: "t") == .queued)
        let out = d.send(.wrapUpDone("s"))
        #expect(out.offerLines == ["t→a"] && d.router.state(of: "s") == nil)
    }

    @Test func transferToSkillsAndToAgent() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5]), .init(id: "b", skills: ["general": 1, "enterprise": 4]),
                              .init(id: "c", skills: ["general": 1])])
        d.queue("s"); d.accept("s")
        let out = d.send(.transfer("s", to: .skills(["enterprise": 3], queue: "enterprise")))
        #expect(out.contains(.requeued(session: "s", cause: .transferred)) && d.offeredTo("s") == "b")
        d.accept("s")
        let direct = d.send(.transfer("s", to: .agent("c")))
        #expect(direct.offerLines == ["s→c"] && direct.firstReason == "transfer to a named agent from b")
        #expect(d.router.load(of: "b")?.chat == 0)
        d.decline("s")
        #expect(d.offeredTo("s") == "b", "declined direct transfer: back to the queue")
        let refused = d.send(.transfer("s", to: .agent("nobody")))
        #expect(refused == [.rejected("unknown agent nobody")])
    }

    @Test func relaxationIsAuditedOnTick() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 2])], config: relaxed)
        d.queue("s", ["general": 3])
        #expect(d.router.nextDeadline == d.now + 60_000)
        let out = d.advance(60_000)
        #expect(out.contains(.relaxed(session: "s", level: 1,
                                      reason: "relaxed after 60 s: required proficiency lowered by 1 (not below 1)")))
        #expect(d.offeredTo("s") == "a")
    }

    @Test func staleAndForeignOffersAreRefused() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5]), .init(id: "b", skills: ["general": 1])])
        d.queue("s")
        let o = d.offer(of: "s")!
        #expect(d.send(.offerAccepted(o.id, agent: "b")) == [.rejected("offer \(o.id) is not addressed to b")])
        d.accept("s")
        #expect(d.send(.offerAccepted(o.id, agent: "a")) == [.rejected("offer \(o.id) is not pending")])
        #expect(d.queue("s") == [.rejected("session s is already live")])
        #expect(d.queue("bad", ["x": 9]).count == 1)
    }

    @Test func restartRenewsOffersAndKeepsOrder() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 5], chat: 2)])
        d.queue("s1"); d.accept("s1")
        d.queue("s2")
        d.queue("q-low", priority: 1, waited: 9_000); d.queue("q-high", priority: 7)
        let before = d.router.snapshot()
        let old = d.offer(of: "s2")!
        let (r, out) = Router.restore(before, directory: d.router.directory, config: d.router.config, now: d.now + 100,
                                      connectionsLost: true)
        #expect(out.first == .revoke(old, cause: .restart))
        #expect(out.offers.map { $0.0 } == ["s2"] && out.count == 2)
        #expect(r.checkInvariants() == [])
        #expect(r.state(of: "s1") == .assigned(agent: "a") && !r.isConnected("a"))
        var d2 = d
        d2.router = r
        d2.now += 100
        d2.send(.reconnected(agent: "a"))
        d2.accept("s2")
        d2.send(.sessionClosed("s1", wrapUp: false))
        #expect(d2.offeredTo("q-high") == "a")
        // An in-process rebuild gives the same state back (offers renewed under new ids).
        let (same, renew) = Router.restore(d2.router.snapshot(), directory: r.directory, config: r.config, now: d2.now,
                                           connectionsLost: false)
        #expect(renew.count == 2)
        var a = same.snapshot(), b = d2.router.snapshot()
        a.sessions = a.sessions.map { var e = $0; if case .offered(let g, _, _, let x) = e.placement { e.placement = .offered(agent: g, offer: 0, expiresAt: 0, direct: x) }; return e }
        b.sessions = b.sessions.map { var e = $0; if case .offered(let g, _, _, let x) = e.placement { e.placement = .offered(agent: g, offer: 0, expiresAt: 0, direct: x) }; return e }
        a.nextOfferID = 0; b.nextOfferID = 0
        #expect(a == b)
    }
}

@Suite(.timeLimit(.minutes(5))) struct RouterEdgeTests {
    /// Sessions that became eligible by waiting (no tick yet) are taken first, one per pass,
    /// however many passes that needs (more than there are agents).
    @Test func arrivalAfterUntickedRelaxationServesTheOlderFirst() {
        var d = RouterDriver([.init(id: "a", skills: ["general": 2], chat: 5)], config: relaxed)
        for i in 0..<4 { d.queue("old\(i)", ["general": 3]) }
        d.now += 61_000
        let out = d.queue("new", ["general": 1])
        #expect(out.offerLines == ["old0→a", "old1→a", "old2→a", "old3→a", "new→a"])
    }
}
