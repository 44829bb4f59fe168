// IntakeServer/Broker: the agent side of the core thread: the router beside the BrokerState,
// the registry of agent connections, and the translation of router actions into records
// (offered, assigned, closed, enqueued on a requeue) and frames for agent connections.
// Core thread only. Frames leave after the records of the same pass are durable (`Outbox`).
import IntakeCore
import IntakeCrypto
import IntakeJSON
import IntakeTelemetry
import IntakeWire

/// What one pass of the core thread produces: records for one appendBatch, and frames to send
/// once they are durable, in order.
struct Outbox {
    var records: [(type: UInt8, payload: [UInt8])] = []
    var frames: [(AgentLink, String)] = []
}

/// The messages of one open session, kept in memory (bounded) for `assigned {history}`.
struct SessionHistory {
    /// The newest messages' stored envelope JSON, oldest first.
    var messages: [[UInt8]] = []
    /// Messages seen in the session (the `seq` of `message` frames).
    var count = 0
    /// The newest text, for offers' `preview`.
    var preview = ""
    /// The queue (skill) the session was routed on.
    var queue = BrokerState.defaultQueue

    /// Adds a message (kept while `bytes`, the total of all histories, stays within
    /// `BrokerCore.maxHistoryBytes`; the oldest beyond `maxHistoryMessages` are dropped) and
    /// returns its `seq`.
    mutating func append(_ json: [UInt8], text: String?, bytes: inout Int) -> Int {
        if bytes + json.count <= BrokerCore.maxHistoryBytes {
            messages.append(json)
            bytes += json.count
        }
        if messages.count > BrokerCore.maxHistoryMessages {
            let excess = messages.count - BrokerCore.maxHistoryMessages
            for m in messages[..<excess] { bytes -= m.count }
            messages.removeFirst(excess)
        }
        count += 1
        if let text { preview = String(text.prefix(BrokerCore.maxPreviewCharacters)) }
        return count
    }
}

let assignmentsTotal = MetricsRegistry.shared.counter("intake_assignments_total", help: "Sessions accepted by an agent.")
let offersTimedOut = MetricsRegistry.shared.counter("intake_offers_timed_out_total", help: "Offers nobody answered in time.")
let waitSeconds = MetricsRegistry.shared.histogram(
    "intake_wait_seconds", help: "Time from enqueue to agent accept.",
    bounds: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800])
let agentsByPresence: [Presence: Gauge] = Dictionary(uniqueKeysWithValues: Presence.allCases.map {
    ($0, MetricsRegistry.shared.gauge("intake_agents", help: "Agents by presence.", labels: ["state": $0.rawValue]))
})

extension BrokerCore: AgentHub {
    /// Messages kept per session for the history.
    static let maxHistoryMessages = 200
    /// Envelope bytes kept in all histories together; past it, new messages are not added to
    /// histories (they are stored and pushed to agents as usual).
    static let maxHistoryBytes = 128 << 20
    /// Characters of text in an offer's preview.
    static let maxPreviewCharacters = 200

    // MARK: any thread

    func agentCommand(_ link: AgentLink, _ command: AgentCommand) {
        if let refused = enqueueAgent(.agent(link, command)) { link.sendError("unavailable", refused.message) }
    }

    // MARK: core thread

    /// The routing request of a session from its enqueued record: the queue name is the one
    /// required skill (proficiency 1 or more); phone sessions are voice, the others chat.
    func request(_ e: Enqueued) -> SessionRequest { Self.request(e, sessions: state.sessions) }

    static func request(_ e: Enqueued, sessions: [String: BrokerSession]) -> SessionRequest {
        let session = sessions[e.session]
        let kind: ChannelKind = session?.channel == .phone ? .voice : .chat
        let citizen = session.map { BrokerState.ownerKey(channel: $0.channel, account: $0.account, citizen: $0.citizen) }
        return SessionRequest(id: e.session, queue: e.queue, kind: kind, priority: e.priority,
                              requirements: [e.queue: 1], citizen: citizen, enqueuedAt: e.enqueuedAt)
    }

    /// A new message was accepted: keep it in the session's history, route a new session, and
    /// push the message to the agent holding the session.
    func accepted(_ envelope: Envelope, _ records: [BrokerRecord], now: EpochMillis, _ out: inout Outbox) {
        for r in records {
            switch r {
            case .messageReceived(let m):
                // Mutated in place: a copy out of the dictionary and back would copy the
                // whole message array (a retain per kept message) on every message.
                let seq = history[m.session, default: SessionHistory()].append(
                    m.envelopeJSON, text: envelope.text, bytes: &historyBytes)
                if let holder = state.assignments[m.session]?.agent, let link = links[holder] {
                    out.frames.append((link, "{\"type\":\"message\",\"session\":" + JSON.string(m.session).serializedString
                                       + ",\"seq\":\(seq),\"envelope\":" + String(decoding: m.envelopeJSON, as: UTF8.self) + "}"))
                }
            case .enqueued(let e):
                history[e.session, default: SessionHistory()].queue = e.queue
                route(.sessionQueued(request(e)), now: now, &out)
            default:
                break
            }
        }
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

    func record(_ r: BrokerRecord, _ out: inout Outbox) {
        state.apply(r)
        out.records.append((r.type.rawValue, r.encoded()))
    }

    func frame(_ members: [(String, JSON)]) -> String { JSON.object(members).serializedString }

    /// Router actions → records and frames. Returns the texts of `rejected` actions.
    @discardableResult
    func handle(_ actions: [RouterAction], now: EpochMillis, _ out: inout Outbox) -> [String] {
        var rejected: [String] = []
        for action in actions {
            switch action {
            case let .offer(o, reason):
                record(.offered(Offered(session: o.session, agent: o.agent, offer: o.id)), &out)
                Log.info("router: offer", ["offer": .int(Int(o.id)), "session": .string(o.session), "agent": .string(o.agent),
                                           "reason": .string(reason.description)])
                // An agent in its grace period has no connection: the offer then times out and
                // the session goes to the next agent.
                guard let link = links[o.agent] else { continue }
                let entry = state.queues.entry(for: o.session)
                let h = history[o.session]
                out.frames.append((link, frame([
                    ("type", "offer"), ("offer", .int(Int64(o.id))), ("session", .string(o.session)),
                    ("priority", .int(Int64(entry?.entry.priority ?? 0))),
                    ("skills", .array([.string(entry?.queue ?? h?.queue ?? BrokerState.defaultQueue)])),
                    ("waitedMs", .int(Int64(max(0, now - (entry?.entry.enqueuedAt ?? now))))),
                    ("expiresInMs", .int(Int64(max(0, o.expiresAt - now)))), ("preview", .string(h?.preview ?? "")),
                ])))
            case let .revoke(o, cause):
                if cause == .timedOut { offersTimedOut.increment() }
                if let link = links[o.agent] {
                    out.frames.append((link, frame([("type", "revoked"), ("offer", .int(Int64(o.id))), ("reason", .string(cause.rawValue))])))
                }
            case let .assigned(session, agent):
                assignmentsTotal.increment()
                if let entry = state.queues.entry(for: session) {
                    waitSeconds.observe(Double(max(0, now - entry.entry.enqueuedAt)) / 1000)
                }
                record(.assigned(Assigned(session: session, agent: agent)), &out)
                if let link = links[agent] { out.frames.append((link, assignedFrame(session))) }
            case let .requeued(session, cause):
                if let a = state.assignments[session] {
                    record(.enqueued(Enqueued(session: session, queue: a.queue, priority: a.priority, enqueuedAt: a.enqueuedAt)), &out)
                }
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

    /// `assigned {session, history}`; the history is the stored envelopes, as stored.
    func assignedFrame(_ session: String) -> String {
        var text = "{\"type\":\"assigned\",\"session\":" + JSON.string(session).serializedString + ",\"history\":["
        for (i, m) in (history[session]?.messages ?? []).enumerated() {
            if i > 0 { text += "," }
            text += String(decoding: m, as: UTF8.self)
        }
        return text + "]}"
    }

    /// The agent whose static token is `token` (each compared in constant time).
    func authenticate(_ token: String) -> AgentProfile? {
        var found: AgentProfile?
        for a in router.directory.agents {
            if case .token(let t) = a.credential, constantTimeEquals(Array(t.utf8), Array(token.utf8)) { found = a }
        }
        return found
    }

    func agentCommand(_ link: AgentLink, _ command: AgentCommand, now: EpochMillis, _ out: inout Outbox) {
        if case .hello(let token) = command {
            guard agentOfLink[link.id] == nil else { return link.sendError("bad_frame", "already said hello") }
            guard let profile = authenticate(token) else {
                return link.sendError("unauthorized", "unknown token", closeCode: WebSocketCloseCode.policyViolation)
            }
            if let old = links[profile.id] {
                agentOfLink[old.id] = nil
                old.sendError("replaced", "the agent connected again elsewhere", closeCode: WebSocketCloseCode.policyViolation)
            }
            links[profile.id] = link
            agentOfLink[link.id] = profile.id
            let held = router.sessions(of: profile.id)
            out.frames.append((link, frame([("type", "welcome"), ("agent", .string(profile.id)), ("name", .string(profile.name)),
                                            ("sessions", .array(held.map { .string($0) }))])))
            for s in held { out.frames.append((link, assignedFrame(s))) }
            route(router.presence(of: profile.id) == .offline ? .presence(agent: profile.id, .online) : .reconnected(agent: profile.id),
                  now: now, &out)
            notePresence(profile.id)
            return
        }
        guard let agent = agentOfLink[link.id] else {
            if case .gone = command { return }
            return link.sendError("unauthorized", "say hello with your token first")
        }
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
            let event: RouterEvent
            if case .accept = command { event = .offerAccepted(id, agent: agent) } else { event = .offerDeclined(id, agent: agent) }
            let rejected = handle(router.handle(event, now: now), now: now, &out)
            if let why = rejected.first {
                out.frames.append((link, frame([("type", "error"), ("code", "unknown_offer"), ("message", .string(why))])))
            }
        case let .close(session, disposition):
            guard state.assignments[session]?.agent == agent else {
                out.frames.append((link, frame([("type", "error"), ("code", "unknown_session"),
                                                ("message", .string("session \(session) is not yours"))])))
                return
            }
            record(.closed(Closed(session: session, agent: agent, disposition: disposition)), &out)
            route(.sessionClosed(session, wrapUp: false), now: now, &out)
            historyBytes -= history.removeValue(forKey: session)?.messages.reduce(0) { $0 + $1.count } ?? 0
            out.frames.append((link, frame([("type", "closed"), ("session", .string(session))])))
        }
    }
}
