// IntakeCore/Routing: restart. `snapshot()` is the router's whole durable state as a plain
// value (the store encodes it; no Codable here); `restore` rebuilds an equivalent router and
// renews pending offers (revoke + offer again). Value types; core thread.

/// Everything the router needs to survive a restart: presence, waiting order and wait times,
/// assignments, pending offers, exclusions, sticky pairs. Equal routers give equal snapshots.
public struct RouterSnapshot: Sendable, Equatable {
    /// One agent's routing state.
    public struct AgentEntry: Sendable, Equatable {
        /// The agent id.
        public var id: String
        /// Its presence.
        public var presence: Presence
        /// Whether its connection was up.
        public var connected: Bool
        /// When its grace period ends, if one is running.
        public var graceDeadline: EpochMillis?
        /// Offer timeouts in a row.
        public var consecutiveTimeouts: Int
        /// The idle clock ("longest idle" tie-break).
        public var idleSince: EpochMillis
    }

    /// Where a session was.
    public enum Placement: Sendable, Equatable {
        /// Waiting.
        case queued
        /// Offered (renewed on restore under a new id).
        case offered(agent: String, offer: OfferID, expiresAt: EpochMillis, direct: Bool)
        /// Held by an agent.
        case assigned(agent: String)
        /// Closed, in wrap-up with an agent.
        case wrappingUp(agent: String)
    }

    /// One live session.
    public struct SessionEntry: Sendable, Equatable {
        /// Queue, kind, priority, requirements, citizen and the (original) wait start.
        public var request: SessionRequest
        /// Where it was.
        public var placement: Placement
        /// Agents it must never be offered to again.
        public var excluded: [String]
    }

    /// One sticky pair.
    public struct StickyPair: Sendable, Equatable {
        /// The citizen key.
        public var citizen: String
        /// The last agent.
        public var agent: String
        /// When they were last together (assignment or close).
        public var at: EpochMillis
    }

    /// The router's `now` when taken.
    public var takenAt: EpochMillis
    /// Every agent, in id order.
    public var agents: [AgentEntry]
    /// Every live session, in push order (so queued sessions keep their relative order).
    public var sessions: [SessionEntry]
    /// Sticky pairs, by citizen.
    public var sticky: [StickyPair]
    /// The next offer id (ids are never reused across a restart).
    public var nextOfferID: OfferID
}

extension Router {
    /// The router's durable state. O(sessions log sessions).
    public func snapshot() -> RouterSnapshot {
        let agentEntries = agents.map {
            RouterSnapshot.AgentEntry(id: $0.id, presence: $0.presence, connected: $0.connected,
                                      graceDeadline: $0.graceDeadline, consecutiveTimeouts: $0.consecutiveTimeouts,
                                      idleSince: $0.idleSince)
        }
        let live = sessions.compactMap { $0 }.sorted { $0.pushSeq < $1.pushSeq }
        let entries = live.map { s -> RouterSnapshot.SessionEntry in
            let placement: RouterSnapshot.Placement
            switch s.state {
            case .queued: placement = .queued
            case .offered(let id):
                let o = offers[id]!
                placement = .offered(agent: agents[Int(o.agent)].id, offer: id, expiresAt: o.expiresAt, direct: o.direct)
            case .assigned(let a): placement = .assigned(agent: agents[Int(a)].id)
            case .wrappingUp(let a): placement = .wrappingUp(agent: agents[Int(a)].id)
            case .detached: preconditionFailure("BUG: detached session between events")
            }
            let lane = lanes[Int(s.lane)]
            let request = SessionRequest(id: s.id, queue: lane.queue, kind: s.kind, priority: s.priority,
                                         requirements: s.requirements, citizen: s.citizen, enqueuedAt: s.enqueuedAt)
            return .init(request: request, placement: placement, excluded: s.excluded.map { agents[Int($0)].id }.sorted())
        }
        let pairs = sticky.keys.sorted().map { c in
            RouterSnapshot.StickyPair(citizen: c, agent: agents[Int(sticky[c]!.agent)].id, at: sticky[c]!.at)
        }
        return RouterSnapshot(takenAt: now, agents: agentEntries, sessions: entries, sticky: pairs, nextOfferID: nextOfferID)
    }

    /// Rebuilds a router from `snapshot` at `now`, with the (possibly edited) directory and config.
    ///
    /// - `connectionsLost`: `true` after a process restart: every agent counts as disconnected
    ///   and gets a fresh grace period from `now` (reconnecting within it loses nothing).
    /// - Pending offers are renewed: `.revoke(old, .restart)` then `.offer(new id)` to the same
    ///   agent while it is online; otherwise the session is requeued at its original wait.
    /// - Sessions held by agents no longer in the directory are requeued.
    public static func restore(_ snapshot: RouterSnapshot, directory: AgentDirectory, config: RouterConfig,
                               now: EpochMillis, connectionsLost: Bool) -> (Router, [RouterAction]) {
        let at = max(now, snapshot.takenAt)
        var r = Router(directory: directory, config: config, now: at)
        r.nextOfferID = snapshot.nextOfferID
        var out: [RouterAction] = []
        for e in snapshot.agents {
            guard let a = r.agentIndex[e.id].map(Int.init) else { continue }
            r.agents[a].presence = e.presence
            r.agents[a].consecutiveTimeouts = e.consecutiveTimeouts
            r.agents[a].idleSince = e.idleSince
            r.agents[a].connected = e.connected && !connectionsLost
            var grace = e.graceDeadline
            if connectionsLost && e.presence != .offline { grace = at + config.graceMillis }
            if e.presence == .offline { grace = nil }
            if let g = grace {
                r.agents[a].graceDeadline = g
                r.graceDeadlines.push(.init(at: g, a: UInt64(a), b: 0, c: 0))
            }
        }
        var renew: [(slot: Int32, agent: Int32, old: Offer)] = []
        var orphans: [Int32] = []
        for e in snapshot.sessions {
            let q = e.request
            let lane = r.laneFor(queue: q.queue, kind: q.kind, requirements: q.requirements)
            let slot = r.store(SessionRecord(id: q.id, lane: lane, priority: q.priority, kind: q.kind,
                                             requirements: q.requirements, citizen: q.citizen, enqueuedAt: q.enqueuedAt,
                                             state: .detached))
            for x in e.excluded { if let a = r.agentIndex[x] { r.exclude(slot, a) } }
            switch e.placement {
            case .queued:
                r.push(slot)
            case let .offered(agent, offer, expiresAt, direct):
                r.sessions[Int(slot)]!.pushSeq = r.pushCounter
                r.pushCounter += 1
                let old = Offer(id: offer, session: q.id, agent: agent, expiresAt: expiresAt, direct: direct)
                if let a = r.agentIndex[agent] { renew.append((slot, a, old)) } else {
                    out.append(.revoke(old, cause: .restart))
                    orphans.append(slot)
                }
            case .assigned(let agent), .wrappingUp(let agent):
                guard let a = r.agentIndex[agent] else { orphans.append(slot); continue }
                if case .assigned = e.placement { r.sessions[Int(slot)]!.state = .assigned(a) } else {
                    r.sessions[Int(slot)]!.state = .wrappingUp(a)
                }
                r.sessions[Int(slot)]!.pushSeq = r.pushCounter
                r.pushCounter += 1
                r.agents[Int(a)].assigned[q.kind] += 1
                r.agents[Int(a)].held.append(slot)
            }
        }
        for p in snapshot.sticky {
            guard let a = r.agentIndex[p.agent], config.stickyMillis > 0 else { continue }
            let key = r.nextStickyKey
            r.nextStickyKey += 1
            r.sticky[p.citizen] = StickyEntry(agent: a, at: p.at, key: key)
            r.stickyKeys[key] = p.citizen
            r.stickyExpiry.push(.init(at: p.at + config.stickyMillis + 1, a: key, b: 0, c: 0))
        }
        for a in r.agents.indices { r.refresh(Int32(a)) }
        // Renewals first count against capacity, so routing the orphans cannot take their place.
        for (slot, a, old) in renew {
            out.append(.revoke(old, cause: .restart))
            if r.agents[Int(a)].presence == .online {
                r.renewOffer(slot, to: a, direct: old.direct, &out)
            } else {
                orphans.append(slot)
            }
        }
        for slot in orphans {
            r.sessions[Int(slot)]!.state = .detached
            r.requeue(slot, cause: .agentUnavailable, &out)
        }
        for slot in orphans { r.route(slot, &out) }
        for a in r.agents.indices { r.fill(Int32(a), &out) }
        r.dropStaleDeadlines()
        return (r, out)
    }

    /// A restart renewal: like `makeOffer`, but the agent may be disconnected (it gets the offer
    /// on reconnecting) and its capacity was already counted before the restart.
    mutating func renewOffer(_ slot: Int32, to a: Int32, direct: Bool, _ out: inout [RouterAction]) {
        let kind = sessions[Int(slot)]!.kind
        precondition(agents[Int(a)].load(kind) < agents[Int(a)].capacity[kind], "BUG: renewed offer over capacity")
        let id = nextOfferID
        nextOfferID += 1
        let offer = OfferRecord(id: id, session: slot, agent: a, expiresAt: now + config.offerTimeoutMillis, direct: direct)
        sessions[Int(slot)]!.state = .offered(id)
        offers[id] = offer
        agents[Int(a)].offered[kind] += 1
        agents[Int(a)].offerIDs.append(id)
        refresh(a)
        offerDeadlines.push(.init(at: offer.expiresAt, a: id, b: 0, c: 0))
        out.append(.offer(publicOffer(offer), reason: .restart))
    }
}
