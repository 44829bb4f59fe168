// IntakeCore/Routing: the router, a deterministic state machine that decides which agent gets
// which waiting session: `handle(event, now:) -> [RouterAction]`. No I/O, no threads, no clock:
// a value type owned by the core thread (its only writer); copies are independent snapshots.
//
// Design
// - Guarantees, after every event: a session is in exactly one state (queued, offered to one
//   agent, assigned to one agent, wrapping up with one agent); an agent's assigned plus
//   offered sessions never exceed its capacity per kind (pending offers count, so accepting
//   can never overflow); a call (offered or held) blocks new chats; a session is never offered
//   again to an agent that declined it or let it time out; every offer taken from the queue is
//   the first session in service order that this agent may serve.
// - Service order across queues: overdue sessions (anti-starvation, per queue) oldest first,
//   then highest priority, then oldest `enqueuedAt`, then arrival (push) order.
// - Sessions wait in lanes: one PriorityQueue per (queue, channel kind, requirement set), so
//   every session of a lane needs the same skills and the first session an agent may take in a
//   lane is one of its ten class heads (or just behind one it declined). A freed agent looks at
//   its eligible lanes only, never at all queued sessions.
// - Agents sit in eligibility groups (per lane and relaxation level), tiered by proficiency,
//   with the set of those available right now; a new session looks at its group's best tier
//   with an available agent, never at all agents.
// - Relaxation is a function of the wait at `now`; `tick` at each step's deadline audits it and
//   routes the session. Time never goes backwards: an earlier `now` is treated as the latest.
// - Deliberately not here: authentication, delivery, persistence (see `snapshot()` and
//   `restore`), and metrics. Events with unknown ids are refused with `.rejected`, not trapped.

/// The routing engine. See docs/ROUTING.md for the rules and the audit reasons.
public struct Router: Sendable {
    /// The settings it runs with.
    public let config: RouterConfig
    /// The agent directory it was built with.
    public let directory: AgentDirectory

    /// The latest `now` seen.
    package var now: EpochMillis
    /// Chat plus voice capacity of all agents: the bound on offers one event can make.
    package var totalCapacity = 0
    // The state below is internal; `checkInvariants()` states how the pieces agree.
    /// Skill name → dense index (agents' proficiency arrays use it).
    package var skillIndex: [String: Int32] = [:]
    package var skillNames: [String] = []
    package var agents: [AgentState] = []
    package var agentIndex: [String: Int32] = [:]
    package var sessions: [SessionRecord?] = []
    package var freeSessionSlots: [Int32] = []
    package var sessionIndex: [String: Int32] = [:]
    package var lanes: [Lane] = []
    package var laneIndex: [LaneKey: Int32] = [:]
    package var groups: [Group] = []
    package var groupIndex: [GroupKey: Int32] = [:]
    package var offers: [OfferID: OfferRecord] = [:]
    package var nextOfferID: OfferID = 1
    package var offerDeadlines = DeadlineHeap()
    package var graceDeadlines = DeadlineHeap()
    package var relaxDeadlines = DeadlineHeap()
    package var sticky: [String: StickyEntry] = [:]
    package var stickyExpiry = DeadlineHeap()
    package var stickyKeys: [UInt64: String] = [:]
    package var nextStickyKey: UInt64 = 0
    package var pushCounter: UInt64 = 0
    package var queuedCount = 0
    /// Audit text per relaxation level (index 0 unused).
    package var relaxationText: [String] = [""]

    /// A router with every agent offline and nothing queued. `config` must be valid
    /// (`config.problems()` empty; crashes otherwise: validate configuration at startup).
    public init(directory: AgentDirectory, config: RouterConfig = RouterConfig(), now: EpochMillis) {
        precondition(config.problems().isEmpty, "BUG: invalid RouterConfig: \(config.problems())")
        self.config = config
        self.directory = directory
        self.now = now
        for profile in directory.agents {
            for skill in profile.skills.keys.sorted() { _ = intern(skill) }
        }
        for step in config.relaxation { if case .addOverflowSkill(let s, _) = step.change { _ = intern(s) } }
        for (i, profile) in directory.agents.enumerated() {
            var skills = [UInt8](repeating: 0, count: skillNames.count)
            for (skill, level) in profile.skills { skills[Int(skillIndex[skill]!)] = UInt8(level) }
            agents.append(AgentState(id: profile.id, skills: skills,
                                     capacity: PerKind(chat: Int32(profile.capacity[.chat] ?? 0),
                                                       voice: Int32(profile.capacity[.voice] ?? 0)),
                                     idleSince: now))
            agentIndex[profile.id] = Int32(i)
            totalCapacity += (profile.capacity[.chat] ?? 0) + (profile.capacity[.voice] ?? 0)
        }
        var delta = 0
        for step in config.relaxation {
            let after = "after \(step.afterMillis / 1000) s"
            switch step.change {
            case .lowerProficiency(let by):
                delta += by
                relaxationText.append("relaxed \(after): required proficiency lowered by \(delta) (not below 1)")
            case .addOverflowSkill(let s, let p):
                relaxationText.append("relaxed \(after): agents with \(s) >= \(p) now eligible (overflow)")
            }
        }
    }

    // MARK: the one entry point

    /// Applies `event` at `now` and returns what to do, in order. Deterministic: the same
    /// events at the same times give the same actions.
    public mutating func handle(_ event: RouterEvent, now: EpochMillis) -> [RouterAction] {
        self.now = max(self.now, now)
        var out: [RouterAction] = []
        switch event {
        case let .presence(agent, presence): setPresence(agent, presence, &out)
        case .disconnected(let agent): disconnect(agent, &out)
        case .reconnected(let agent): reconnect(agent, &out)
        case .sessionQueued(let request): enqueue(request, &out)
        case let .offerAccepted(offer, agent): accept(offer, agent, &out)
        case let .offerDeclined(offer, agent): decline(offer, agent, &out)
        case let .sessionClosed(session, wrapUp): close(session, wrapUp: wrapUp, &out)
        case .wrapUpDone(let session): wrapUpDone(session, &out)
        case let .transfer(session, target): transfer(session, target, &out)
        case .tick: tick(&out)
        }
        dropStaleDeadlines()
        return out
    }

    // MARK: reading

    /// When the driver should send the next `.tick` (earliest offer timeout, grace expiry,
    /// relaxation step or sticky expiry), or `nil` when nothing is pending. Exact: entries made
    /// stale by later events are dropped at the end of every `handle`.
    public var nextDeadline: EpochMillis? {
        [offerDeadlines.peek?.at, graceDeadlines.peek?.at, relaxDeadlines.peek?.at, stickyExpiry.peek?.at]
            .compactMap { $0 }.min()
    }

    /// Where `session` is; `nil` when the router does not know it (never queued, or closed).
    public func state(of session: String) -> SessionState? {
        guard let slot = sessionIndex[session], let s = sessions[Int(slot)] else { return nil }
        return publicState(s)
    }

    /// The agent's presence, or `nil` for an unknown id.
    public func presence(of agent: String) -> Presence? {
        agentIndex[agent].map { agents[Int($0)].presence }
    }

    /// Whether the agent's connection is up (false during the grace period and when offline).
    public func isConnected(_ agent: String) -> Bool {
        agentIndex[agent].map { agents[Int($0)].connected } ?? false
    }

    /// Sessions the agent holds (assigned or wrapping up) plus pending offers, per kind.
    public func load(of agent: String) -> (chat: Int, voice: Int)? {
        guard let a = agentIndex[agent].map(Int.init) else { return nil }
        let ag = agents[a]
        return (Int(ag.load(.chat)), Int(ag.load(.voice)))
    }

    /// Sessions waiting in all queues.
    public var queuedSessionCount: Int { queuedCount }

    /// Sessions the router knows (queued, offered, assigned, wrapping up).
    public var liveSessionCount: Int { sessionIndex.count }

    /// Waiting sessions per queue name.
    public var queueDepths: [String: Int] {
        var out: [String: Int] = [:]
        for lane in lanes { out[lane.queue, default: 0] += lane.pq.count }
        return out
    }

    /// The earliest original wait start among sessions waiting in `queue`.
    public func oldestEnqueuedAt(queue: String) -> EpochMillis? {
        lanes.filter { $0.queue == queue }.compactMap { $0.pq.oldestEnqueuedAt }.min()
    }

    /// Every pending offer, by id.
    public var pendingOffers: [Offer] {
        offers.keys.sorted().map { publicOffer(offers[$0]!) }
    }

    /// The pending offer `id`, or `nil` when it is not pending. O(1).
    public func offer(_ id: OfferID) -> Offer? {
        offers[id].map(publicOffer)
    }

    /// The agent's pending offers, oldest first. O(offers of the agent).
    public func pendingOffers(of agent: String) -> [Offer] {
        guard let a = agentIndex[agent].map(Int.init) else { return [] }
        return agents[a].offerIDs.sorted().compactMap { offers[$0].map(publicOffer) }
    }

    /// The live sessions the agent holds (assigned or wrapping up), sorted.
    public func sessions(of agent: String) -> [String] {
        guard let a = agentIndex[agent].map(Int.init) else { return [] }
        return agents[a].held.map { sessions[Int($0)]!.id }.sorted()
    }

    func publicState(_ s: SessionRecord) -> SessionState {
        switch s.state {
        case .queued: return .queued
        case .offered(let id): return .offered(agent: agents[Int(offers[id]!.agent)].id, offer: id)
        case .assigned(let a): return .assigned(agent: agents[Int(a)].id)
        case .wrappingUp(let a): return .wrappingUp(agent: agents[Int(a)].id)
        case .detached: preconditionFailure("BUG: detached session between events")
        }
    }

    func publicOffer(_ o: OfferRecord) -> Offer {
        Offer(id: o.id, session: sessions[Int(o.session)]!.id, agent: agents[Int(o.agent)].id,
              expiresAt: o.expiresAt, direct: o.direct)
    }

    // MARK: small helpers

    mutating func intern(_ skill: String) -> Int32 {
        if let i = skillIndex[skill] { return i }
        let i = Int32(skillNames.count)
        skillNames.append(skill)
        skillIndex[skill] = i
        return i
    }

    /// The relaxation level a session that has waited `waited` ms is at.
    @inline(__always)
    func relaxationLevel(waited: EpochMillis) -> Int {
        var level = 0
        for step in config.relaxation where step.afterMillis <= waited { level += 1 }
        return level
    }
}
