// IntakeServer/Broker: the agent side of the core thread: the router beside the BrokerState,
// the registry of agent connections, the agent protocol's commands (hello, presence, accept,
// decline, send, ack, transfer, close), and the translation of router actions into records
// (offered, offerEnded, assigned, enqueued on a requeue) and frames for agents and citizens.
// Core thread only. Frames leave after the records of the same pass are durable (`Outbox`).
import IntakeCore
import IntakeCrypto
import IntakeJSON
import IntakeTelemetry
import IntakeWire

/// What one pass of the core thread produces: records for one appendBatch, and frames to send
/// once they are durable, in order (agent frames, and citizen events as `CitizenDelivery`).
struct Outbox {
    var records: [(type: UInt8, payload: [UInt8])] = []
    var frames: [(any FrameSink, String)] = []
}

let assignmentsTotal = MetricsRegistry.shared.counter("intake_assignments_total", help: "Sessions accepted by an agent.")
let offersTimedOut = MetricsRegistry.shared.counter("intake_offers_timed_out_total", help: "Offers nobody answered in time.")
let emergenciesTotal = MetricsRegistry.shared.counter(
    "intake_emergencies_total", help: "Sessions classified as emergencies (new, or raised by one of their first messages).")
let repliesByAgents = MetricsRegistry.shared.counter("intake_replies_total", help: "Replies stored for citizens.", labels: ["from": "agent"])
let repliesByBot = MetricsRegistry.shared.counter("intake_replies_total", help: "Replies stored for citizens.", labels: ["from": "bot"])
let waitSeconds = MetricsRegistry.shared.histogram(
    "intake_wait_seconds", help: "Time from enqueue to agent accept.",
    bounds: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800])
let agentsByPresence: [Presence: Gauge] = Dictionary(uniqueKeysWithValues: Presence.allCases.map {
    ($0, MetricsRegistry.shared.gauge("intake_agents", help: "Agents by presence.", labels: ["state": $0.rawValue]))
})

extension BrokerCore: AgentHub {
    /// Characters of text in an offer's preview.
    static let maxPreviewCharacters = 200

    // MARK: any thread

    func agentCommand(_ link: AgentLink, _ command: AgentCommand) {
        if let refused = enqueueAgent(.agent(link, command)) { link.sendError("unavailable", refused.message) }
    }

    // MARK: core thread: messages and routing

    /// A new message was accepted: push it to the agent holding its session, register a widget
    /// visitor with its first message, route new, reopened and reclassified sessions.
    func accepted(_ envelope: Envelope, _ records: [BrokerRecord], now: EpochMillis, _ out: inout Outbox) {
        for r in records {
            switch r {
            case .messageReceived(let m):
                guard let s = state.sessions[m.session] else { continue }
                if let text = envelope.text, state.assignments[m.session] == nil {
                    desk.previews[m.session] = String(text.prefix(Self.maxPreviewCharacters))
                }
                if let holder = state.assignments[m.session]?.agent, let link = links[holder] {
                    out.frames.append((link, messageFrame(m.session, seq: s.messages, json: m.envelopeJSON)))
                }
                if s.channel == .web, s.account == WidgetLink.account { registerVisitorIfNew(s.citizen, now: now, &out) }
            case .enqueued(let e):
                desk.queueDirty = true
                if e.emergency { noteEmergency(e, envelope) }
                // A reclassified session is queued again with its new priority (and skills).
                if router.state(of: e.session) != nil { route(.sessionClosed(e.session, wrapUp: false), now: now, &out) }
                if draining { drainHeld.append(e) } else { route(.sessionQueued(state.request(e)), now: now, &out) }
            case .reopened(let o):
                Log.info("session reopened", ["session": .string(o.session), "reason": .string(o.reason)])
            default:
                break
            }
        }
        botAccepted(envelope, records, now: now, &out)
    }

    /// `intake_emergencies_total` and a warning line naming the session and the keyword.
    func noteEmergency(_ e: Enqueued, _ envelope: Envelope) {
        emergenciesTotal.increment()
        Log.warning("emergency: a conversation needs an agent at once", [
            "session": .string(e.session), "channel": .string(envelope.channel.rawValue), "account": .string(envelope.account),
            "keyword": .string(envelope.text.flatMap { routing.rules.emergencyKeyword(in: $0) } ?? ""),
            "priority": .int(e.priority), "queue": .string(e.queue), "reason": .string(e.reason),
        ])
    }

    /// Moves the agent in `intake_agents{state}` to its presence in the router.
    func notePresence(_ agent: String) {
        guard let now = router.presence(of: agent), countedPresence[agent] != now else { return }
        if let before = countedPresence[agent] { agentsByPresence[before]?.add(-1) }
        agentsByPresence[now]?.add(1)
        countedPresence[agent] = now
    }

    /// Feeds `event` to the router and handles its actions.
    func route(_ event: RouterEvent, now: EpochMillis, _ out: inout Outbox) {
        handle(router.handle(event, now: now), now: now, &out)
    }

    /// Applies a record and queues it for the pass's batch.
    func record(_ r: BrokerRecord, _ out: inout Outbox) {
        // A session closed while still waiting for an agent: the citizen gave up (or went idle).
        if case .closed(let c) = r, state.queues.contains(c.session) { sessionsAbandoned.increment() }
        state.apply(r)
        out.records.append((r.type.rawValue, r.encoded()))
        noteAudit(r, now: options.clock())
    }

    func frame(_ members: [(String, JSON)]) -> String { JSON.object(members).serializedString }

    func errorFrame(_ code: String, _ message: String) -> String {
        frame([("type", "error"), ("code", .string(code)), ("message", .string(message))])
    }

    /// Router actions → records and frames. Returns the texts of `rejected` actions.
    @discardableResult
    func handle(_ actions: [RouterAction], now: EpochMillis, _ out: inout Outbox) -> [String] {
        var rejected: [String] = []
        for action in actions {
            switch action {
            case let .offer(o, reason):
                let why = reason.description
                record(.offered(Offered(session: o.session, agent: o.agent, offer: o.id, reason: why)), &out)
                if Log.isEnabled(.info) {  // the fields are built before the level check inside
                    Log.info("router: offer", ["offer": .int(Int(o.id)), "session": .string(o.session), "agent": .string(o.agent),
                                               "reason": .string(why)])
                }
                // An agent in its grace period has no connection: it gets the offer when it says
                // hello again, or the offer times out and the session goes to the next agent.
                if let link = links[o.agent] { out.frames.append((link, offerFrame(o, now: now))) }
            case let .revoke(o, cause):
                if cause == .timedOut { offersTimedOut.increment() }
                record(.offerEnded(OfferEnded(session: o.session, agent: o.agent, offer: o.id, cause: cause.rawValue,
                                              excludes: cause == .timedOut)), &out)
                if let link = links[o.agent] {
                    out.frames.append((link, frame([("type", "revoked"), ("offer", .int(Int64(o.id))), ("session", .string(o.session)),
                                                    ("reason", .string(cause.rawValue))])))
                }
            case let .assigned(session, agent):
                assignmentsTotal.increment()
                if let entry = state.queues.entry(for: session) {
                    waitSeconds.observe(Double(max(0, now - entry.entry.enqueuedAt)) / 1000)
                }
                record(.assigned(Assigned(session: session, agent: agent, at: now)), &out)
                if let link = links[agent] { out.frames.append((link, assignedFrame(session, upTo: nil))) }
                desk.queueSent[session] = nil
                desk.previews[session] = nil
                desk.queueDirty = true
                scheduleInactivity(session, now: now)
                let name = router.directory.agents.first { $0.id == agent }?.name ?? agent
                deliver(session, .assigned(session: session, agentName: name, agent: agent), &out)
            case let .requeued(session, cause):
                if let a = state.assignments[session] {
                    record(.enqueued(Enqueued(session: session, queue: a.queue, priority: a.priority, enqueuedAt: a.enqueuedAt,
                                              requirements: state.sessions[session]?.requirements ?? [:],
                                              reason: "requeued: \(cause.rawValue)")), &out)
                }
                desk.queueDirty = true
                Log.info("router: requeued", ["session": .string(session), "cause": .string(cause.rawValue)])
            case let .presenceChanged(agent, presence, reason):
                notePresence(agent)
                Log.info("router: presence", ["agent": .string(agent), "presence": .string(presence.rawValue), "reason": .string(reason)])
            case let .relaxed(session, level, reason):
                Log.debug("router: relaxed", ["session": .string(session), "level": .int(level), "reason": .string(reason)])
            case .rejected(let why):
                rejected.append(why)
            }
        }
        return rejected
    }

    // MARK: frames

    /// `offer {offer, session, priority, skills, waitedMs, expiresInMs, preview}`.
    func offerFrame(_ o: Offer, now: EpochMillis) -> String {
        let entry = state.queues.entry(for: o.session)
        let queue = entry?.queue ?? BrokerState.defaultQueue
        var skills = state.requirements(of: o.session, queue: queue).keys.sorted()
        if let i = skills.firstIndex(of: queue), i > 0 { skills.insert(skills.remove(at: i), at: 0) }
        return frame([
            ("type", "offer"), ("offer", .int(Int64(o.id))), ("session", .string(o.session)),
            ("priority", .int(Int64(entry?.entry.priority ?? 0))), ("skills", .array(skills.map { .string($0) })),
            ("waitedMs", .int(Int64(max(0, now - (entry?.entry.enqueuedAt ?? now))))),
            ("expiresInMs", .int(Int64(max(0, o.expiresAt - now)))), ("preview", .string(preview(o.session))),
            ("emergency", .bool(state.sessions[o.session]?.emergency ?? false)),
        ] + botOfferMembers(o.session))
    }

    /// The newest citizen text of the session, shortened (kept while it waits; else from the history).
    func preview(_ session: String) -> String {
        if let p = desk.previews[session] { return p }
        guard let item = state.histories[session]?.items.last(where: { $0.seq > 0 }),
              let text = (try? JSON.parse(item.json))?["text"]?.stringValue else { return "" }
        return String(text.prefix(Self.maxPreviewCharacters))
    }

    /// `message {session, seq, envelope}`: the stored envelope as stored.
    func messageFrame(_ session: String, seq: Int, json: [UInt8]) -> String {
        "{\"type\":\"message\",\"session\":" + JSON.string(session).serializedString + ",\"seq\":\(seq),\"envelope\":"
            + String(decoding: json, as: UTF8.self) + "}"
    }

    /// `assigned {session, seq, history}`: the session's kept history, oldest first: stored
    /// envelopes (citizen messages) and replies (objects with `from`). With `upTo`, citizen
    /// messages after that `seq` are left out (they follow as `message` frames). `seq` is the
    /// newest citizen message included (acknowledge it with `ack`).
    func assignedFrame(_ session: String, upTo: Int?) -> String {
        var text = "{\"type\":\"assigned\",\"session\":" + JSON.string(session).serializedString
        var items: [String] = []
        var newest = 0
        for item in state.histories[session]?.items ?? [] where upTo == nil || item.seq <= upTo! {
            items.append(String(decoding: item.json, as: UTF8.self))
            newest = max(newest, item.seq)
        }
        if upTo == nil { newest = state.sessions[session]?.messages ?? newest }
        text += ",\"seq\":\(newest),\"history\":[" + items.joined(separator: ",") + "]" + botAssignedMembers(session) + "}"
        return text
    }

    // MARK: agent commands

    /// The agent a hello's token names: a signed token (`v1.…`, checked against the agent's
    /// secret and its expiry) or a static token (each compared in constant time).
    func authenticate(_ token: String, now: EpochMillis) -> Result<AgentProfile, AgentToken.Refusal> {
        if AgentToken.isSigned(token) {
            return AgentToken.verify(token, directory: router.directory, nowUnix: now / 1000)
        }
        var found: AgentProfile?
        for a in router.directory.agents {
            if case .token(let t) = a.credential, constantTimeEquals(Array(t.utf8), Array(token.utf8)) { found = a }
        }
        return found.map { .success($0) } ?? .failure(.invalid)
    }

    func agentCommand(_ link: AgentLink, _ command: AgentCommand, now: EpochMillis, _ out: inout Outbox) {
        if case .hello(let token) = command { return hello(link, token, now: now, &out) }
        guard let agent = agentOfLink[link.id] else {
            if case .gone = command { return }
            return link.sendError("unauthorized", "say hello with your token first")
        }
        func refuse(_ code: String, _ message: String) { out.frames.append((link, errorFrame(code, message))) }
        func holds(_ session: String) -> Bool { state.assignments[session]?.agent == agent }
        switch command {
        case .hello: break
        case .gone:
            agentOfLink[link.id] = nil
            links[agent] = nil
            route(.disconnected(agent: agent), now: now, &out)
        case .presence(let p):
            route(.presence(agent: agent, p), now: now, &out)
            notePresence(agent)
        case .accept(let id), .decline(let id):
            let isAccept: Bool
            if case .accept = command { isAccept = true } else { isAccept = false }
            let offer = router.offer(id)
            let actions = router.handle(isAccept ? .offerAccepted(id, agent: agent) : .offerDeclined(id, agent: agent), now: now)
            if !isAccept, let offer, !actions.contains(where: { if case .rejected = $0 { true } else { false } }) {
                record(.offerEnded(OfferEnded(session: offer.session, agent: agent, offer: id, cause: "declined", excludes: true)), &out)
            }
            if let why = handle(actions, now: now, &out).first { refuse("unknown_offer", why) }
        case let .close(session, disposition):
            guard holds(session) else { return refuse("unknown_session", "session \(session) is not yours") }
            closeSession(session, agent: agent, disposition: disposition, reason: "closed by the agent", now: now,
                         wrapUp: routing.wrapUpSeconds > 0, &out)
            out.frames.append((link, frame([("type", "closed"), ("session", .string(session)), ("reason", "closed by the agent")])))
        case let .send(session, text, clientId):
            guard holds(session) else { return refuse("unknown_session", "session \(session) is not yours") }
            switch state.reply(session: session, from: .agent, agent: agent, text: text, clientId: clientId, now: now) {
            case .unknownSession:
                refuse("unknown_session", "session \(session) is not open")
            case .duplicate(let id):
                out.frames.append((link, sentFrame(clientId, id, session)))
            case .accepted(let r):
                repliesByAgents.increment()
                out.records.append((BrokerRecordType.replied.rawValue, BrokerRecord.replied(r).encoded()))
                out.frames.append((link, sentFrame(clientId, r.id, session)))
                deliver(session, .message(session: session, from: .agent, text: text, id: r.id), &out)
            }
        case let .ack(session, upTo):
            guard holds(session) else { return refuse("unknown_session", "session \(session) is not yours") }
            // Batched: one deliveryAcked record per agent per pass (endPass), whatever the number of acks.
            desk.pendingAcks[agent, default: [:]][session] = max(desk.pendingAcks[agent]?[session] ?? 0, upTo)
        case let .transfer(session, target):
            guard holds(session) else { return refuse("unknown_session", "session \(session) is not yours") }
            transfer(session, from: agent, to: target, link: link, now: now, &out)
        }
    }

    func sentFrame(_ clientId: String, _ id: String, _ session: String) -> String {
        frame([("type", "sent"), ("clientId", .string(clientId)), ("id", .string(id)), ("session", .string(session))])
    }

    /// hello: authenticate, register the connection (replacing an older one), welcome with the
    /// held sessions, each with its history and its unacknowledged messages again, then the
    /// agent's pending offers again; then online (or reconnected within its grace period).
    private func hello(_ link: AgentLink, _ token: String, now: EpochMillis, _ out: inout Outbox) {
        guard agentOfLink[link.id] == nil else { return link.sendError("bad_frame", "already said hello") }
        let profile: AgentProfile
        switch authenticate(token, now: now) {
        case .success(let p): profile = p
        case .failure(.expired):
            authFailures.increment()
            return link.sendError("token_expired", "the signed token has expired; get a new one",
                                  closeCode: WebSocketCloseCode.policyViolation)
        case .failure(.invalid):
            authFailures.increment()
            return link.sendError("unauthorized", "unknown token", closeCode: WebSocketCloseCode.policyViolation)
        }
        if let old = links[profile.id] {
            agentOfLink[old.id] = nil
            old.sendError("replaced", "the agent connected again elsewhere", closeCode: WebSocketCloseCode.policyViolation)
        }
        links[profile.id] = link
        agentOfLink[link.id] = profile.id
        let held = router.sessions(of: profile.id).filter { state.assignments[$0]?.agent == profile.id }
        out.frames.append((link, frame([("type", "welcome"), ("agent", .string(profile.id)), ("name", .string(profile.name)),
                                        ("sessions", .array(held.map { .string($0) }))])))
        for s in held {
            let upTo = state.sessions[s]?.deliveredUpTo ?? 0
            out.frames.append((link, assignedFrame(s, upTo: upTo)))
            for item in state.histories[s]?.items ?? [] where item.seq > upTo {
                out.frames.append((link, messageFrame(s, seq: item.seq, json: item.json)))
            }
        }
        for o in router.pendingOffers(of: profile.id) { out.frames.append((link, offerFrame(o, now: now))) }
        route(router.presence(of: profile.id) == .offline ? .presence(agent: profile.id, .online) : .reconnected(agent: profile.id),
              now: now, &out)
        notePresence(profile.id)
    }

    /// Records the close, frees (or, with wrap-up, keeps until the wrap-up ends) the agent's slot,
    /// tells the citizen. The caller answers the agent.
    func closeSession(_ session: String, agent: String, disposition: String, reason: String, now: EpochMillis, wrapUp: Bool,
                      _ out: inout Outbox) {
        if let a = state.assignments[session], a.assignedAt > 0 { desk.noteHandleTime(now - a.assignedAt) }
        let citizen = state.sessions[session]
        record(.closed(Closed(session: session, agent: agent, disposition: disposition, reason: reason, at: now)), &out)
        route(.sessionClosed(session, wrapUp: wrapUp), now: now, &out)
        if wrapUp { desk.wrapUps.push(at: now + EpochMillis(routing.wrapUpSeconds * 1000), session) }
        desk.queueDirty = true
        if let citizen { deliver(citizen, .closed(session: session, reason: reason), &out) }
    }

    /// A transfer to skills (a new wait in the first skill's queue, never back to this agent)
    /// or to a named agent (offered to them directly); the agent is told `closed` with reason
    /// `transferred`.
    private func transfer(_ session: String, from agent: String, to target: TransferTarget, link: AgentLink, now: EpochMillis,
                          _ out: inout Outbox) {
        if case .agent(let other) = target, other == agent {
            return out.frames.append((link, errorFrame("bad_frame", "session \(session) is already yours")))
        }
        let held = state.assignments[session]
        let actions = router.handle(.transfer(session, to: target), now: now)
        if case .rejected(let why)? = actions.first(where: { if case .rejected = $0 { true } else { false } }) {
            // The router changed nothing.
            return out.frames.append((link, errorFrame("transfer_refused", why)))
        }
        let t: Transferred
        switch target {
        case let .skills(requirements, queue):
            let q = queue ?? held?.queue ?? BrokerState.defaultQueue
            t = Transferred(session: session, from: agent, queue: q, requirements: requirements,
                            reason: "transferred by \(agent) to skills " + requirements.keys.sorted().joined(separator: ", "), at: now)
        case .agent(let other):
            t = Transferred(session: session, from: agent, toAgent: other, queue: held?.queue ?? BrokerState.defaultQueue,
                            reason: "transferred by \(agent) to agent \(other)", at: now)
        }
        record(.transferred(t), &out)
        Log.info("session transferred", ["session": .string(session), "reason": .string(t.reason)])
        handle(actions, now: now, &out)
        desk.queueDirty = true
        out.frames.append((link, frame([("type", "closed"), ("session", .string(session)), ("reason", "transferred")])))
    }
}
