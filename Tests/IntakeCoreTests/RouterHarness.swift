// Helpers for the router tests: a directory built from short literals, a driver that keeps
// the fake clock, and readers for the actions a step returned.
import Testing
import IntakeJSON
@testable import IntakeCore

/// One agent in a compact form: id, skills, chat and voice capacity.
struct AgentSpec {
    var id: String
    var skills: [String: Int]
    var chat = 3
    var voice = 0
}

func directory(_ specs: [AgentSpec]) -> AgentDirectory {
    // The specs are test literals: a bad one is a bug in the test.
    do {
        return try AgentDirectory(agents: specs.map {
            AgentProfile(id: $0.id, name: "Agent \($0.id)", skills: $0.skills,
                         capacity: [.chat: $0.chat, .voice: $0.voice], credential: .token("t-\($0.id)"))
        })
    } catch {
        preconditionFailure("test directory: \(error)")
    }
}

/// A router and its fake clock; every step also runs the invariant check.
struct RouterDriver {
    var router: Router
    var now: EpochMillis = 1_000_000
    var log: [RouterAction] = []

    init(_ specs: [AgentSpec], config: RouterConfig = RouterConfig(), online: Bool = true) {
        router = Router(directory: directory(specs), config: config, now: 1_000_000)
        if online { for s in specs { send(.presence(agent: s.id, .online)) } }
    }

    @discardableResult
    mutating func send(_ event: RouterEvent, sourceLocation: SourceLocation = #_sourceLocation) -> [RouterAction] {
        let out = router.handle(event, now: now)
        log += out
        let problems = router.checkInvariants()
        #expect(problems == [], "after \(event)", sourceLocation: sourceLocation)
        return out
    }

    @discardableResult
    mutating func queue(_ id: String, _ reqs: [String: Int] = [:], priority: Int = 5, kind: ChannelKind = .chat,
                        queue: String = "general", citizen: String? = nil, waited: EpochMillis = 0,
                        sourceLocation: SourceLocation = #_sourceLocation) -> [RouterAction] {
        send(.sessionQueued(SessionRequest(id: id, queue: queue, kind: kind, priority: priority, requirements: reqs,
                                           citizen: citizen, enqueuedAt: now - waited)),
             sourceLocation: sourceLocation)
    }

    /// Advances the clock and ticks.
    @discardableResult
    mutating func advance(_ millis: EpochMillis) -> [RouterAction] {
        now += millis
        return send(.tick)
    }

    /// The pending offer for `session`.
    func offer(of session: String) -> Offer? { router.pendingOffers.first { $0.session == session } }

    /// Accepts the pending offer of `session`.
    @discardableResult
    mutating func accept(_ session: String, sourceLocation: SourceLocation = #_sourceLocation) -> [RouterAction] {
        guard let o = offer(of: session) else {
            Issue.record("no offer for \(session)", sourceLocation: sourceLocation)
            return []
        }
        return send(.offerAccepted(o.id, agent: o.agent), sourceLocation: sourceLocation)
    }

    /// Declines the pending offer of `session`.
    @discardableResult
    mutating func decline(_ session: String, sourceLocation: SourceLocation = #_sourceLocation) -> [RouterAction] {
        guard let o = offer(of: session) else {
            Issue.record("no offer for \(session)", sourceLocation: sourceLocation)
            return []
        }
        return send(.offerDeclined(o.id, agent: o.agent), sourceLocation: sourceLocation)
    }

    /// Who `session` is offered to, if anyone.
    func offeredTo(_ session: String) -> String? {
        if case .offered(let a, _) = router.state(of: session) { return a }
        return nil
    }
}

extension [RouterAction] {
    /// The (session, agent) of every offer, in order.
    var offers: [(String, String)] {
        compactMap { if case .offer(let o, _) = $0 { return (o.session, o.agent) } else { return nil } }
    }

    /// The offers as "session→agent" strings.
    var offerLines: [String] { offers.map { "\($0.0)→\($0.1)" } }

    /// The audit line of the first offer.
    var firstReason: String? {
        for a in self { if case .offer(_, let r) = a { return r.description } }
        return nil
    }
}
