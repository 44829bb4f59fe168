// IntakeServer/Broker: the citizen side of the core thread and its timers: widget commands
// (hello with resume tokens, rate), events to citizens through the `CitizenLinks` seam, queue
// positions with an estimated wait, batched delivery acknowledgements, wrap-up and inactivity.
// Core thread only (`Desk` is core-thread state).
//
// Design
// - Per pass: `beginPass` runs what is due (wrap-ups ending, inactive sessions closing);
//   `endPass` writes the pass's acknowledgements as one `deliveryAcked` record per agent and
//   sends queue positions when the queues changed (at most every `queueUpdateMillis`, and only
//   for sessions whose citizen is connected: output-sensitive `position(of:)`, no full sort).
// - ETA = position × (EWMA of recent handle times) ÷ (chat capacity of the agents online and
//   connected); nil while nobody is online. Deliberately simple and not durable: it starts
//   from `initialHandleSeconds` after a restart.
// - Wrap-up and inactivity deadlines are in memory: after a restart a wrap-up is over, and
//   inactivity is measured again from each assigned session's last activity.
import IntakeCore
import IntakeCrypto
import IntakeJSON
import IntakeTelemetry

let sessionsOpen = MetricsRegistry.shared.gauge("intake_sessions_open", help: "Open sessions (waiting, offered or with an agent).")

/// Session deadlines (wrap-up ends, inactivity checks), earliest first; stale entries are
/// checked against the state when they come due.
struct SessionTimers {
    private var heap: [(at: EpochMillis, seq: UInt64, session: String)] = []
    private var seq: UInt64 = 0

    var next: EpochMillis? { heap.first?.at }

    mutating func push(at: EpochMillis, _ session: String) {
        seq += 1
        heap.append((at, seq, session))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard Self.before(heap[i], heap[p]) else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    /// Removes and returns the earliest session due at `now`.
    mutating func popDue(_ now: EpochMillis) -> (at: EpochMillis, session: String)? {
        guard let top = heap.first, top.at <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                var c = 2 * i + 1
                if c >= heap.count { break }
                if c + 1 < heap.count && Self.before(heap[c + 1], heap[c]) { c += 1 }
                guard Self.before(heap[c], heap[i]) else { break }
                heap.swapAt(i, c)
                i = c
            }
        }
        return (top.at, top.session)
    }

    private static func before(_ a: (at: EpochMillis, seq: UInt64, session: String), _ b: (at: EpochMillis, seq: UInt64, session: String)) -> Bool {
        a.at != b.at ? a.at < b.at : a.seq < b.seq
    }
}

/// The core thread's conversation bookkeeping beside the state and the router.
struct Desk {
    /// Handle time assumed before any close was seen (seconds).
    static let initialHandleSeconds = 300.0
    /// Queue frames are sent at most this often per citizen.
    static let queueUpdateMillis: EpochMillis = 250
    /// Widget visitors who never wrote are forgotten after this (they get a new visitor id).
    static let pendingVisitorMillis: EpochMillis = 24 * 3_600_000
    /// Resume tokens of visitors who wrote stay valid this long after their newest message.
    static let visitorMillis: EpochMillis = 30 * 86_400_000

    var citizens = CitizenLinks()
    /// Agent → session → highest `upTo` acknowledged in this pass.
    var pendingAcks: [String: [String: Int]] = [:]
    var wrapUps = SessionTimers()
    var inactivity = SessionTimers()
    /// EWMA of assigned → closed durations, seconds.
    var handleSeconds = Desk.initialHandleSeconds
    var queueDirty = false
    var nextQueueUpdate: EpochMillis = 0
    /// Waiting session → the newest text, for offers' previews (no JSON parsing on the hot path).
    var previews: [String: String] = [:]
    /// Session → the last `queue` event sent to its citizen.
    var queueSent: [String: (position: Int, eta: Int?)] = [:]
    /// Widget visitors welcomed but not yet in the log (written with their first message).
    var pendingVisitors: [String: (hash: [UInt8], at: EpochMillis)] = [:]
    var pendingVisitorByToken: [[UInt8]: String] = [:]
    /// When `forgetExpired` runs next.
    var nextForget: EpochMillis = 0

    mutating func noteHandleTime(_ millis: EpochMillis) {
        guard millis > 0 else { return }
        handleSeconds = 0.8 * handleSeconds + 0.2 * Double(millis) / 1000
    }
}

extension BrokerCore: WidgetHub {
    // MARK: any thread

    func widgetCommand(_ link: WidgetLink, _ command: WidgetCommand) {
        // `gone` is taken past the inbox limit: losing it would leave a dead link registered.
        let pastLimit: Bool
        if case .gone = command { pastLimit = true } else { pastLimit = false }
        if let refused = enqueueCitizen(.widget(link, command), pastLimit: pastLimit) { link.sendError("unavailable", refused.message) }
    }

    // MARK: core thread: timers

    /// Seeds the inactivity checks of the sessions held after a restart.
    func startTimers(now: EpochMillis) {
        // Registered now, so /metrics shows them at 0 before the first event (alerts need the series).
        _ = (emergenciesTotal, repliesByAgents, repliesByBot, sessionsOpen)
        for session in state.assignments.keys.sorted() { scheduleInactivity(session, now: now) }
        desk.nextForget = now + 60_000
    }

    /// The earliest of the router's deadline, the session timers and a pending queue update.
    var nextDeadline: EpochMillis? {
        // Runs once per wake-up of the core thread: no array, no allocation.
        var earliest = router.nextDeadline
        func consider(_ t: EpochMillis?) {
            guard let t else { return }
            earliest = min(earliest ?? t, t)
        }
        consider(desk.wrapUps.next)
        consider(desk.inactivity.next)
        if desk.queueDirty && desk.citizens.hasCitizenConnections { consider(desk.nextQueueUpdate) }
        return earliest
    }

    func scheduleInactivity(_ session: String, now: EpochMillis) {
        guard routing.inactivitySeconds > 0 else { return }
        desk.inactivity.push(at: max(lastActivity(session) ?? now, now) + EpochMillis(routing.inactivitySeconds * 1000), session)
    }

    /// The newest message either way, or the assignment if later: a session that waited long
    /// in the queue is not closed the moment an agent takes it.
    func lastActivity(_ session: String) -> EpochMillis? {
        guard let s = state.sessions[session] else { return nil }
        return max(s.lastActivityAt, state.assignments[session]?.assignedAt ?? 0)
    }

    /// Runs what is due: ended wrap-ups free their slots, inactive sessions close.
    func beginPass(now: EpochMillis, _ out: inout Outbox) {
        while let due = desk.wrapUps.popDue(now) {
            if case .wrappingUp = router.state(of: due.session) { route(.wrapUpDone(due.session), now: now, &out) }
        }
        let limit = EpochMillis(routing.inactivitySeconds * 1000)
        while let due = desk.inactivity.popDue(now) {
            guard let a = state.assignments[due.session], let last = lastActivity(due.session) else { continue }
            if last + limit > now {
                desk.inactivity.push(at: last + limit, due.session)
                continue
            }
            closeInactive(due.session, agent: a.agent, now: now, &out)
        }
        if now >= desk.nextForget {
            desk.nextForget = now + 60_000
            state.forgetExpired(now: now, stickyMillis: routing.router.stickyMillis, visitorMillis: Desk.visitorMillis)
            for (visitor, p) in desk.pendingVisitors where now - p.at > Desk.pendingVisitorMillis {
                desk.pendingVisitors[visitor] = nil
                desk.pendingVisitorByToken[p.hash] = nil
            }
            for session in desk.queueSent.keys where !state.queues.contains(session) { desk.queueSent[session] = nil }
            for session in desk.previews.keys where !state.queues.contains(session) { desk.previews[session] = nil }
        }
    }

    /// Closes a session nobody wrote in for `inactivitySeconds`: the bot tells the citizen why,
    /// the agent gets `closed` with reason `inactivity`.
    func closeInactive(_ session: String, agent: String, now: EpochMillis, _ out: inout Outbox) {
        let reason = "inactive for \(Int(routing.inactivitySeconds)) s"
        if case .accepted(let r) = state.reply(session: session, from: .bot, agent: "", text: routing.inactivityMessage,
                                               clientId: "", now: now) {
            repliesByBot.increment()
            out.records.append((BrokerRecordType.replied.rawValue, BrokerRecord.replied(r).encoded()))
            deliver(session, .message(session: session, from: .bot, text: r.text, id: r.id), &out)
        }
        closeSession(session, agent: agent, disposition: "", reason: reason, now: now, wrapUp: false, &out)
        if let link = links[agent] {
            out.frames.append((link, frame([("type", "closed"), ("session", .string(session)), ("reason", "inactivity")])))
        }
        Log.info("session closed for inactivity", ["session": .string(session), "agent": .string(agent)])
    }

    /// Writes the pass's acknowledgements (one record per agent) and sends queue positions.
    func endPass(now: EpochMillis, _ out: inout Outbox) {
        if !desk.pendingAcks.isEmpty {
            for (agent, sessions) in desk.pendingAcks.sorted(by: { $0.key < $1.key }) {
                let acks = sessions.sorted { $0.key < $1.key }.compactMap { session, upTo -> DeliveryAcked.Ack? in
                    guard let s = state.sessions[session], upTo > s.deliveredUpTo else { return nil }
                    return DeliveryAcked.Ack(session: session, upTo: min(upTo, s.messages))
                }
                if !acks.isEmpty { record(.deliveryAcked(DeliveryAcked(agent: agent, acks: acks)), &out) }
            }
            desk.pendingAcks = [:]
        }
        if desk.queueDirty && now >= desk.nextQueueUpdate {
            desk.queueDirty = false
            desk.nextQueueUpdate = now + Desk.queueUpdateMillis
            if desk.citizens.hasCitizenConnections { sendQueuePositions(now: now, &out) }
        }
        sessionsOpen.set(Double(state.sessions.count))
    }

    // MARK: citizens

    /// Queues `event` for the citizen of `session`, sent once the pass is durable.
    func deliver(_ session: String, _ event: CitizenEvent, _ out: inout Outbox) {
        guard let s = state.sessions[session] else { return }
        deliver(s, event, &out)
    }

    func deliver(_ s: BrokerSession, _ event: CitizenEvent, _ out: inout Outbox) {
        let links = desk.citizens.links(for: s)
        guard !links.isEmpty else { return }
        noteOutbound(s, event, links, &out)
        let address = CitizenAddress(channel: s.channel, account: s.account, citizen: s.citizen, session: s.id)
        for link in links { out.frames.append((CitizenDelivery(link: link, event: event, address: address), "")) }
    }

    /// The estimated wait at `position`, or nil while no agent is online.
    func eta(position: Int) -> Int? {
        var slots = 0
        for a in router.directory.agents where router.presence(of: a.id) == .online && router.isConnected(a.id) {
            slots += a.capacity[.chat] ?? 0
        }
        guard slots > 0 else { return nil }
        return Int((Double(position) * desk.handleSeconds / Double(slots)).rounded(.up))
    }

    /// `queue {position, etaSeconds}` to every connected citizen whose place or estimate changed.
    func sendQueuePositions(now: EpochMillis, _ out: inout Outbox) {
        for owner in desk.citizens.byOwner.keys {
            guard let session = state.openSessions[owner] else { continue }
            guard let position = state.queues.position(of: session, now: now) else {
                desk.queueSent[session] = nil
                continue
            }
            let estimate = eta(position: position)
            if let last = desk.queueSent[session], last.position == position, last.eta == estimate { continue }
            desk.queueSent[session] = (position, estimate)
            deliver(session, .queue(session: session, position: position, etaSeconds: estimate), &out)
        }
    }

    /// A widget visitor's first message: its resume token's hash goes into the log with it.
    func registerVisitorIfNew(_ visitor: String, now: EpochMillis, _ out: inout Outbox) {
        guard state.visitors[visitor] == nil, let p = desk.pendingVisitors.removeValue(forKey: visitor) else { return }
        desk.pendingVisitorByToken[p.hash] = nil
        record(.visitorRegistered(VisitorRegistered(visitor: visitor, tokenHash: p.hash, at: now)), &out)
    }

    // MARK: widget commands

    func widgetCommand(_ link: WidgetLink, _ command: WidgetCommand, now: EpochMillis, _ out: inout Outbox) {
        switch command {
        case let .hello(resume, after):
            widgetHello(link, resume: resume, after: after, now: now, &out)
        case let .rate(session, score):
            guard let owner = link.owner else { return link.sendError("unauthorized", "say hello first") }
            let belongs = state.sessions[session]?.owner == owner || state.recentlyClosed[session]?.session.owner == owner
            guard belongs else { return link.sendError("unknown_session", "session \(session) is not yours") }
            record(.rated(Rated(session: session, score: score, at: now)), &out)
        case .gone:
            if let owner = link.owner { desk.citizens.detach(link, owner: owner) }
            link.owner = nil
        }
    }

    /// hello: the visitor a resume token names (the log's or one welcomed earlier in this run),
    /// or a fresh visitor with a new 128-bit token; then where its open session stands.
    private func widgetHello(_ link: WidgetLink, resume: String?, after: String?, now: EpochMillis, _ out: inout Outbox) {
        var visitor: String?
        var token = resume ?? ""
        if let resume, !resume.isEmpty {
            let hash = Digest.sha256(Array(resume.utf8))
            visitor = state.visitorByToken[hash] ?? desk.pendingVisitorByToken[hash]
        }
        let resumed = visitor != nil
        if visitor == nil {
            // Both random, 128 bits each: neither can be guessed from the other or from earlier ones.
            let fresh = "v" + SecureRandom.token(bytes: 16)
            token = SecureRandom.token(bytes: 16)
            let hash = Digest.sha256(Array(token.utf8))
            desk.pendingVisitors[fresh] = (hash, now)
            desk.pendingVisitorByToken[hash] = fresh
            visitor = fresh
        }
        let v = visitor!
        let owner = BrokerState.ownerKey(channel: .web, account: WidgetLink.account, citizen: v)
        if let old = link.owner { desk.citizens.detach(link, owner: old) }
        link.owner = owner
        desk.citizens.attach(link, owner: owner)
        let session = state.openSessions[owner]
        let welcome = frame([("type", "welcome"), ("visitor", .string(v)), ("session", session.map { .string($0) } ?? .null),
                             ("resume", .string(token)), ("resumed", .bool(resumed))])
        // The visitor is set on the loop before any frame that follows, so messages after the
        // welcome are accepted.
        link.welcomed(visitor: v, frame: welcome)
        guard let session, let s = state.sessions[session] else { return }
        var frames: [CitizenEvent] = []
        if let a = state.assignments[session] {
            frames.append(.assigned(session: session, agentName: router.directory.agents.first { $0.id == a.agent }?.name ?? a.agent))
        } else if let position = state.queues.position(of: session, now: now) {
            let estimate = eta(position: position)
            desk.queueSent[session] = (position, estimate)
            frames.append(.queue(session: session, position: position, etaSeconds: estimate))
        }
        // Replies newer than the client's newest, so a reconnect loses none (the client drops repeats by id).
        for item in state.histories[session]?.items ?? [] where item.seq == 0 {
            guard let json = try? JSON.parse(item.json), let id = json["id"]?.stringValue, id > (after ?? ""),
                  let text = json["text"]?.stringValue, let from = json["from"]?.stringValue.flatMap(Replied.From.init(rawValue:))
            else { continue }
            frames.append(.message(session: session, from: from, text: text, id: id))
        }
        let address = CitizenAddress(channel: s.channel, account: s.account, citizen: s.citizen, session: session)
        for e in frames { out.frames.append((CitizenDelivery(link: link, event: e, address: address), "")) }
    }
}
