// IntakeCore/Broker: a record as one line of a session's routing audit trail (the admin API's
// GET /api/v1/sessions/{id}): what happened, when, to which agent, and why (the router's reason,
// the rule, the cause). Pure.
import IntakeJSON

extension BrokerRecord {
    /// The session this record is about and its audit line; nil for records that are not part
    /// of a session's trail (messages are the history, not the audit; visitors; acks).
    public func auditLine(now: EpochMillis) -> (session: String, line: JSON)? {
        func line(_ event: String, _ at: EpochMillis, _ extra: [(String, JSON)]) -> JSON {
            .object([("at", .string(RFC3339.format(at))), ("event", .string(event))] + extra.filter { m in
                if case .string(let s) = m.1 { return !s.isEmpty }
                return true
            })
        }
        switch self {
        case .sessionOpened(let o):
            return (o.session, line("opened", o.openedAt, [("channel", .string(o.channel.rawValue)), ("account", .string(o.account))]))
        case .enqueued(let e):
            return (e.session, line("queued", now, [("queue", .string(e.queue)), ("priority", .int(Int64(e.priority))),
                                                   ("reason", .string(e.reason)), ("emergency", .bool(e.emergency))]))
        case .offered(let o):
            return (o.session, line("offered", now, [("agent", .string(o.agent)), ("offer", .int(Int64(o.offer))), ("reason", .string(o.reason))]))
        case .offerEnded(let o):
            return (o.session, line("offer_ended", now, [("agent", .string(o.agent)), ("offer", .int(Int64(o.offer))),
                                                        ("reason", .string(o.cause)), ("excluded", .bool(o.excludes))]))
        case .assigned(let a):
            return (a.session, line("assigned", a.at == 0 ? now : a.at, [("agent", .string(a.agent))]))
        case .transferred(let t):
            return (t.session, line("transferred", t.at, [("agent", .string(t.from)), ("toAgent", .string(t.toAgent)),
                                                         ("queue", .string(t.queue)), ("reason", .string(t.reason))]))
        case .closed(let c):
            return (c.session, line("closed", c.at == 0 ? now : c.at, [("agent", .string(c.agent)), ("disposition", .string(c.disposition)),
                                                                      ("reason", .string(c.reason))]))
        case .reopened(let r):
            return (r.session, line("reopened", r.at, [("reason", .string(r.reason))]))
        case .rated(let r):
            return (r.session, line("rated", r.at, [("score", .int(Int64(r.score)))]))
        case .replied(let r):
            return (r.session, line("replied", r.at, [("from", .string(r.from.rawValue)), ("agent", .string(r.agent))]))
        case .botStarted(let b):
            return (b.session, line("bot", b.at, [("queue", .string(b.queue)), ("priority", .int(Int64(b.priority))), ("reason", .string(b.reason))]))
        case .botDecided(let d):
            return (d.session, line(d.answered ? "bot_answered" : "bot_handed_over", d.at,
                                    [("entry", .string(d.entry)), ("confidence", .double((d.confidence * 1000).rounded() / 1000)),
                                     ("reason", .string(d.reason))]))
        case .messageReceived, .deliveryAcked, .visitorRegistered, .outboundQueued, .outboundDone:
            return nil
        }
    }
}
