// IntakeCore/Routing: what each event does to the router: presence, connections and grace,
// arrivals, accept and decline, close and wrap-up, transfers. Part of the Router value; core
// thread only. Invalid input from clients is refused with `.rejected`, never trapped.

extension Router {
    // MARK: presence and connections

    mutating func setPresence(_ id: String, _ presence: Presence, _ out: inout [RouterAction]) {
        guard let a = agentIndex[id] else { return out.append(.rejected("unknown agent \(id)")) }
        switch presence {
        case .online:
            if agents[Int(a)].presence != .online {
                agents[Int(a)].idleSince = now
                agents[Int(a)].consecutiveTimeouts = 0
            }
            agents[Int(a)].presence = .online
            agents[Int(a)].connected = true
            agents[Int(a)].graceDeadline = nil
            refresh(a)
            fill(a, &out)
        case .away:
            setAway(a, &out)
        case .offline:
            goOffline(a, &out)
        }
    }

    /// Away: keeps its conversations; pending offers are revoked and their sessions routed again.
    mutating func setAway(_ a: Int32, _ out: inout [RouterAction]) {
        agents[Int(a)].presence = .away
        agents[Int(a)].consecutiveTimeouts = 0
        refresh(a)
        let requeued = revokeAll(a, cause: .agentAway, &out)
        for slot in requeued { route(slot, &out) }
    }

    /// Offline: pending offers revoked, assigned sessions back to the front of their queues at
    /// their original wait, wrap-ups closed; all of them routed again.
    mutating func goOffline(_ a: Int32, _ out: inout [RouterAction]) {
        agents[Int(a)].presence = .offline
        agents[Int(a)].connected = false
        agents[Int(a)].graceDeadline = nil
        agents[Int(a)].consecutiveTimeouts = 0
        refresh(a)
        var requeued = revokeAll(a, cause: .agentOffline, &out)
        for slot in agents[Int(a)].held {
            switch sessions[Int(slot)]!.state {
            case .assigned:
                release(slot, from: a)
                requeue(slot, cause: .agentOffline, &out)
                requeued.append(slot)
            case .wrappingUp:
                release(slot, from: a)
                forget(slot)
            default: preconditionFailure("BUG: held session in state \(sessions[Int(slot)]!.state)")
            }
        }
        for slot in requeued { route(slot, &out) }
    }

    /// Revokes every pending offer of `a` and requeues the sessions (not yet routed).
    mutating func revokeAll(_ a: Int32, cause: RevokeCause, _ out: inout [RouterAction]) -> [Int32] {
        var requeued: [Int32] = []
        for id in agents[Int(a)].offerIDs {
            let offer = publicOffer(offers[id]!)
            let record = dropOffer(id)
            out.append(.revoke(offer, cause: cause))
            requeue(record.session, cause: .agentUnavailable, &out)
            requeued.append(record.session)
        }
        return requeued
    }

    mutating func disconnect(_ id: String, _ out: inout [RouterAction]) {
        guard let a = agentIndex[id] else { return out.append(.rejected("unknown agent \(id)")) }
        guard agents[Int(a)].connected else { return }
        agents[Int(a)].connected = false
        refresh(a)
        guard agents[Int(a)].presence != .offline else { return }
        let deadline = now + config.graceMillis
        agents[Int(a)].graceDeadline = deadline
        graceDeadlines.push(.init(at: deadline, a: UInt64(a), b: 0, c: 0))
    }

    mutating func reconnect(_ id: String, _ out: inout [RouterAction]) {
        guard let a = agentIndex[id] else { return out.append(.rejected("unknown agent \(id)")) }
        agents[Int(a)].connected = true
        agents[Int(a)].graceDeadline = nil
        refresh(a)
        fill(a, &out)
    }

    // MARK: sessions

    mutating func enqueue(_ r: SessionRequest, _ out: inout [RouterAction]) {
        if let problem = validate(r.requirements, priority: r.priority) ?? (r.id.isEmpty ? "empty session id" : nil)
            ?? (r.queue.isEmpty ? "empty queue name" : nil) {
            return out.append(.rejected("session \(r.id): \(problem)"))
        }
        guard sessionIndex[r.id] == nil else { return out.append(.rejected("session \(r.id) is already live")) }
        let lane = laneFor(queue: r.queue, kind: r.kind, requirements: r.requirements)
        let record = SessionRecord(id: r.id, lane: lane, priority: r.priority, kind: r.kind, requirements: r.requirements,
                                   citizen: r.citizen, enqueuedAt: r.enqueuedAt, state: .queued)
        let slot = store(record)
        push(slot)
        route(slot, &out)
    }

    func validate(_ requirements: [String: Int], priority: Int) -> String? {
        guard PriorityQueue<Int32>.priorities.contains(priority) else { return "priority \(priority) outside 0-9" }
        guard requirements.count <= EnvelopeLimits.maxSkills else { return "more than \(EnvelopeLimits.maxSkills) skills" }
        for (skill, p) in requirements where skill.isEmpty || !AgentDirectory.Limits.proficiency.contains(p) {
            return "requirement \(skill)=\(p): needs a skill name and a proficiency 1-5"
        }
        return nil
    }

    mutating func store(_ record: SessionRecord) -> Int32 {
        let slot: Int32
        if let free = freeSessionSlots.popLast() {
            slot = free
            sessions[Int(slot)] = record
        } else {
            slot = Int32(sessions.count)
            sessions.append(record)
        }
        sessionIndex[record.id] = slot
        return slot
    }

    /// The offer, if it is pending and addressed to `agentID`.
    func pendingOffer(_ id: OfferID, _ agentID: String) -> Result<OfferRecord, RouterError> {
        guard let offer = offers[id] else { return .failure(RouterError("offer \(id) is not pending")) }
        guard agents[Int(offer.agent)].id == agentID else {
            return .failure(RouterError("offer \(id) is not addressed to \(agentID)"))
        }
        return .success(offer)
    }

    mutating func accept(_ id: OfferID, _ agentID: String, _ out: inout [RouterAction]) {
        let offer: OfferRecord
        switch pendingOffer(id, agentID) {
        case .success(let o): offer = o
        case .failure(let e): return out.append(.rejected(e.message))
        }
        _ = dropOffer(id)
        let a = offer.agent, slot = offer.session
        sessions[Int(slot)]!.state = .assigned(a)
        agents[Int(a)].assigned[sessions[Int(slot)]!.kind] += 1
        agents[Int(a)].held.append(slot)
        agents[Int(a)].consecutiveTimeouts = 0
        refresh(a)
        noteSticky(slot, a)
        out.append(.assigned(session: sessions[Int(slot)]!.id, agent: agentID))
    }

    mutating func decline(_ id: OfferID, _ agentID: String, _ out: inout [RouterAction]) {
        let offer: OfferRecord
        switch pendingOffer(id, agentID) {
        case .success(let o): offer = o
        case .failure(let e): return out.append(.rejected(e.message))
        }
        _ = dropOffer(id)
        agents[Int(offer.agent)].consecutiveTimeouts = 0
        exclude(offer.session, offer.agent)
        requeue(offer.session, cause: .declined, &out)
        route(offer.session, &out)
        fill(offer.agent, &out)
    }

    mutating func close(_ id: String, wrapUp: Bool, _ out: inout [RouterAction]) {
        guard let slot = sessionIndex[id] else { return out.append(.rejected("unknown session \(id)")) }
        switch sessions[Int(slot)]!.state {
        case .queued:
            guard lanes[Int(sessions[Int(slot)]!.lane)].pq.remove(slot) != nil else {
                preconditionFailure("BUG: queued session not in its lane")
            }
            queuedCount -= 1
            forget(slot)
        case .offered(let offerID):
            let offer = publicOffer(offers[offerID]!)
            let record = dropOffer(offerID)
            out.append(.revoke(offer, cause: .sessionEnded))
            forget(slot)
            fill(record.agent, &out)
        case .assigned(let a):
            noteSticky(slot, a)
            if wrapUp {
                sessions[Int(slot)]!.state = .wrappingUp(a)
            } else {
                release(slot, from: a)
                forget(slot)
                fill(a, &out)
            }
        case .wrappingUp:
            out.append(.rejected("session \(id) is already closed (wrapping up)"))
        case .detached:
            preconditionFailure("BUG: detached session between events")
        }
    }

    mutating func wrapUpDone(_ id: String, _ out: inout [RouterAction]) {
        guard let slot = sessionIndex[id], case .wrappingUp(let a) = sessions[Int(slot)]!.state else {
            return out.append(.rejected("session \(id) is not wrapping up"))
        }
        release(slot, from: a)
        forget(slot)
        fill(a, &out)
    }

    /// Remembers the citizen's agent for sticky routing.
    mutating func noteSticky(_ slot: Int32, _ a: Int32) {
        guard config.stickyMillis > 0, let citizen = sessions[Int(slot)]!.citizen else { return }
        let key = nextStickyKey
        nextStickyKey += 1
        if let old = sticky[citizen] { stickyKeys[old.key] = nil }
        sticky[citizen] = StickyEntry(agent: a, at: now, key: key)
        stickyKeys[key] = citizen
        stickyExpiry.push(.init(at: now + config.stickyMillis + 1, a: key, b: 0, c: 0))
    }

    // MARK: transfers

    mutating func transfer(_ id: String, _ target: TransferTarget, _ out: inout [RouterAction]) {
        guard let slot = sessionIndex[id] else { return out.append(.rejected("unknown session \(id)")) }
        let s = sessions[Int(slot)]!
        var holder: Int32?
        switch s.state {
        case .wrappingUp: return out.append(.rejected("session \(id) is closed"))
        case .assigned(let a): holder = a
        case .offered(let o): holder = offers[o]!.agent
        case .queued: holder = nil
        case .detached: preconditionFailure("BUG: detached session between events")
        }
        switch target {
        case let .skills(requirements, queue):
            if let problem = validate(requirements, priority: s.priority) ?? (queue?.isEmpty == true ? "empty queue name" : nil) {
                return out.append(.rejected("transfer of \(id): \(problem)"))
            }
            detach(slot, &out)
            let lane = laneFor(queue: queue ?? lanes[Int(s.lane)].queue, kind: s.kind, requirements: requirements)
            sessions[Int(slot)]!.lane = lane
            sessions[Int(slot)]!.requirements = requirements
            sessions[Int(slot)]!.enqueuedAt = now
            clearExclusions(slot)
            if case .assigned(let a) = s.state { exclude(slot, a) }
            requeue(slot, cause: .transferred, &out)
            route(slot, &out)
            if let h = holder { fill(h, &out) }
        case .agent(let agentID):
            guard let t = agentIndex[agentID] else { return out.append(.rejected("unknown agent \(agentID)")) }
            guard t != holder else { return out.append(.rejected("session \(id) is already with \(agentID)")) }
            guard computeAvailable(agents[Int(t)], s.kind) else {
                return out.append(.rejected("agent \(agentID) is not online with \(s.kind.rawValue) capacity"))
            }
            detach(slot, &out)
            makeOffer(slot, to: t, reason: .directTransfer(from: holder.map { agents[Int($0)].id }), direct: true, &out)
            if let h = holder { fill(h, &out) }
        }
    }

    /// Takes a session off whoever has it (queue, offer, agent), leaving it in limbo for the caller.
    mutating func detach(_ slot: Int32, _ out: inout [RouterAction]) {
        switch sessions[Int(slot)]!.state {
        case .queued:
            guard lanes[Int(sessions[Int(slot)]!.lane)].pq.remove(slot) != nil else {
                preconditionFailure("BUG: queued session not in its lane")
            }
            queuedCount -= 1
        case .offered(let o):
            let offer = publicOffer(offers[o]!)
            _ = dropOffer(o)
            out.append(.revoke(offer, cause: .sessionEnded))
        case .assigned(let a):
            release(slot, from: a)
        case .wrappingUp, .detached:
            preconditionFailure("BUG: detaching a session in state \(sessions[Int(slot)]!.state)")
        }
        sessions[Int(slot)]!.state = .detached
    }
}

/// A refused event's explanation.
struct RouterError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
