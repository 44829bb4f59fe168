// IntakeCore/Broker: the bridge from the durable state to the router: a session's routing
// request, and the `RouterSnapshot` the log describes, from which the router is restored after
// a restart (queues in order with their waits, assignments, pending offers renewed to the same
// agent, exclusions, sticky pairs). Pure; the core thread at start-up.

extension BrokerState {
    /// The routing request of `session` waiting in `queue`: its requirements (the queue's name
    /// at proficiency 1 when none were recorded); phone sessions take voice capacity, the others chat.
    public func request(session: String, queue: String, priority: Int, enqueuedAt: EpochMillis) -> SessionRequest {
        let s = sessions[session]
        return SessionRequest(id: session, queue: queue, kind: s?.channel == .phone ? .voice : .chat, priority: priority,
                              requirements: requirements(of: session, queue: queue), citizen: s?.owner, enqueuedAt: enqueuedAt)
    }

    /// The request for an `enqueued` record's session.
    public func request(_ e: Enqueued) -> SessionRequest {
        request(session: e.session, queue: e.queue, priority: e.priority, enqueuedAt: e.enqueuedAt)
    }

    /// What the router looked like, as far as the log knows: agents holding sessions or offers are
    /// online (they get a grace period to reconnect when restored with `connectionsLost`), the
    /// others offline; assigned sessions with their agents; waiting sessions oldest first, those
    /// with a pending offer placed as offered (renewed on restore) unless the agent's capacity
    /// (perhaps lowered in the directory since) is used up; exclusions; last agents within
    /// `stickyMillis` of `now`. Presence (away), timeout streaks and idle clocks are not kept.
    public func routerSnapshot(directory: AgentDirectory, now: EpochMillis) -> RouterSnapshot {
        var load: [String: [ChannelKind: Int]] = [:]
        var sessionEntries: [RouterSnapshot.SessionEntry] = []
        for (session, a) in assignments.sorted(by: { $0.key < $1.key }) {
            let r = request(session: session, queue: a.queue, priority: a.priority, enqueuedAt: a.enqueuedAt)
            load[a.agent, default: [:]][r.kind, default: 0] += 1
            sessionEntries.append(.init(request: r, placement: .assigned(agent: a.agent), excluded: exclusions[session] ?? []))
        }
        var waiting: [SessionRequest] = []
        for name in queues.queueNames {
            for e in queues[queue: name]!.ordered(now: now) {
                waiting.append(request(session: e.id, queue: name, priority: e.priority, enqueuedAt: e.enqueuedAt))
            }
        }
        waiting.sort { $0.enqueuedAt < $1.enqueuedAt }
        let capacity = Dictionary(uniqueKeysWithValues: directory.agents.map { ($0.id, $0.capacity) })
        for r in waiting {
            var placement = RouterSnapshot.Placement.queued
            if let o = pendingOffers[r.id], let cap = capacity[o.agent], load[o.agent]?[r.kind] ?? 0 < cap[r.kind] ?? 0 {
                load[o.agent, default: [:]][r.kind, default: 0] += 1
                placement = .offered(agent: o.agent, offer: o.offer, expiresAt: now, direct: false)
            }
            sessionEntries.append(.init(request: r, placement: placement, excluded: exclusions[r.id] ?? []))
        }
        let busy = Set(load.keys)
        let agents = directory.agents.map { a in
            RouterSnapshot.AgentEntry(id: a.id, presence: busy.contains(a.id) ? .online : .offline, connected: busy.contains(a.id),
                                      graceDeadline: nil, consecutiveTimeouts: 0, idleSince: now)
        }
        let sticky = lastAgents.sorted { $0.key < $1.key }.map { RouterSnapshot.StickyPair(citizen: $0.key, agent: $0.value.agent, at: $0.value.at) }
        return RouterSnapshot(takenAt: now, agents: agents, sessions: sessionEntries, sticky: sticky, nextOfferID: lastOfferID + 1)
    }
}
