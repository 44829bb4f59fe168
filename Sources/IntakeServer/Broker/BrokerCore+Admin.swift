// IntakeServer/Broker: the admin API's reads and commands, answered on the core thread (the
// owner of what they read): agents with presence and load, setting an agent's presence, one
// session with its routing audit trail, and drain (hold new sessions for maintenance while the
// conversations in progress finish). docs/PROTOCOL.md, "Admin API".
//
// The audit trail is the routing records of a session (opened, queued with the rule and
// priority, offered with the router's reason, offer ended and why, assigned, transferred,
// closed with disposition, reopened, rated, replies) as they are written, kept in memory for
// the open sessions and the most recently closed ones (bounded); the log holds them for good.
import IntakeCore
import IntakeJSON
import IntakeTelemetry

/// What the admin API asks the core.
public enum AdminRequest: Sendable {
    case agents
    case setPresence(agent: String, Presence)
    case session(String)
    case drain(Bool)
}

/// The core's answer: an HTTP status and a JSON body.
public typealias AdminReply = @Sendable (Int, JSON) -> Void

/// Audit lines per session and sessions kept (the oldest closed ones go first).
struct AuditBook {
    static let maxLinesPerSession = 200
    static let maxSessions = 20_000
    var lines: [String: [JSON]] = [:]
    var order: [String] = []
    var orderHead = 0

    mutating func note(_ session: String, _ line: JSON) {
        if lines[session] == nil {
            order.append(session)
            if order.count - orderHead > Self.maxSessions {
                lines[order[orderHead]] = nil
                orderHead += 1
                if orderHead > 4096 { order.removeFirst(orderHead); orderHead = 0 }
            }
        }
        lines[session, default: []].append(line)
        if lines[session]!.count > Self.maxLinesPerSession { lines[session]!.removeFirst() }
    }
}

extension BrokerCore {
    /// Records one written record in its session's audit trail (core thread).
    func noteAudit(_ r: BrokerRecord, now: EpochMillis) {
        guard let (session, line) = r.auditLine(now: now) else { return }
        auditBook.note(session, line)
    }

    func admin(_ request: AdminRequest, _ reply: @escaping AdminReply) {
        if let refused = enqueueAdmin(.admin(request, reply)) { reply(503, refused.json) }
    }

    /// Answers an admin request on the core thread.
    func handleAdmin(_ request: AdminRequest, now: EpochMillis, _ reply: AdminReply, _ out: inout Outbox) {
        switch request {
        case .agents:
            reply(200, .object([("agents", .array(router.directory.agents.map { agentJSON($0) })), ("draining", .bool(draining))]))
        case let .setPresence(agent, presence):
            guard let profile = router.directory.agents.first(where: { $0.id == agent }) else {
                return reply(404, ClientError("not_found", "no agent '\(agent)' in the directory", status: .notFound).json)
            }
            if presence == .online && !router.isConnected(agent) {
                return reply(409, ClientError("not_connected", "agent \(agent) is not connected; only away or offline can be set",
                                              status: .conflict).json)
            }
            Log.info("admin: agent presence set", ["agent": .string(agent), "presence": .string(presence.rawValue)])
            route(.presence(agent: agent, presence), now: now, &out)
            notePresence(agent)
            reply(200, agentJSON(profile))
        case .session(let id):
            let open = state.sessions[id]
            let trail = auditBook.lines[id]
            guard open != nil || trail != nil else {
                return reply(404, ClientError("not_found", "no session '\(id)' is open or recently closed", status: .notFound).json)
            }
            var m: [(String, JSON)] = [("session", .string(id)), ("open", .bool(open != nil))]
            if let s = open {
                m.append(("channel", .string(s.channel.rawValue)))
                m.append(("account", .string(s.account)))
                m.append(("citizen", .string(PersonalData.mask(s.citizen))))
                m.append(("openedAt", .string(RFC3339.format(s.openedAt))))
                m.append(("messages", .int(Int64(s.messages))))
                m.append(("replies", .int(Int64(s.replies))))
                let stateText: String
                switch router.state(of: id) {
                case .queued?: stateText = "queued"
                case .offered(let a, _)?: stateText = "offered to \(a)"
                case .assigned(let a)?: stateText = "assigned to \(a)"
                case .wrappingUp(let a)?: stateText = "wrap-up by \(a)"
                case nil: stateText = state.botSessions[id] != nil ? "with the bot" : "open"
                }
                m.append(("state", .string(stateText)))
                if let q = state.queues.entry(for: id) {
                    m.append(("queue", .string(q.queue)))
                    m.append(("priority", .int(Int64(q.entry.priority))))
                    m.append(("waitedMs", .int(max(0, now - q.entry.enqueuedAt))))
                    if let p = state.queues.position(of: id, now: now) { m.append(("position", .int(Int64(p)))) }
                }
                if let ex = state.exclusions[id], !ex.isEmpty { m.append(("excludedAgents", .array(ex.map { .string($0) }))) }
            }
            m.append(("audit", .array(trail ?? [])))
            reply(200, .object(m))
        case .drain(let on):
            let was = draining
            draining = on
            Log.warning(on ? "admin: draining: new sessions are held, conversations in progress continue"
                           : "admin: drain ended: held sessions are routed", ["held": .int(drainHeld.count)])
            if was && !on {
                let held = drainHeld
                drainHeld = []
                for e in held { route(.sessionQueued(state.request(e)), now: now, &out) }
            }
            reply(200, .object([("draining", .bool(on)), ("held", .int(Int64(drainHeld.count)))]))
        }
    }

    private func agentJSON(_ a: AgentProfile) -> JSON {
        let load = router.load(of: a.id)
        let sessions = router.sessions(of: a.id)
        return .object([
            ("id", .string(a.id)), ("name", .string(a.name)),
            ("presence", .string(router.presence(of: a.id)?.rawValue ?? "offline")),
            ("connected", .bool(router.isConnected(a.id))),
            ("skills", .object(a.skills.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            ("capacity", .object(a.capacity.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, .int(Int64($0.value))) })),
            ("load", .object([("chat", .int(Int64(load?.chat ?? 0))), ("voice", .int(Int64(load?.voice ?? 0)))])),
            ("sessions", .array(sessions.map { .string($0) })),
            ("pendingOffers", .int(Int64(router.pendingOffers(of: a.id).count))),
        ])
    }
}
