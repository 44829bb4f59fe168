// IntakeServer/Broker: the core thread's side of the outbox (Outbound/OutboundDispatcher.swift):
// a reply in a session whose channel account is reached through an API (app webhooks) is written
// as `outboundQueued` in the pass of its `replied` record and staged with the dispatcher; the
// dispatcher's verdicts come back through the inbox and are written as `outboundDone`.
// Core thread, except `finishOutbound` and `startOutbound` (documented on each).
import IntakeCore
import IntakeTelemetry

extension BrokerCore {
    /// Start-up (before `start`): registers each dispatcher for the accounts it reaches (the
    /// CitizenLinks seam) and resumes the durable outbox's pending items.
    func startOutbound(_ dispatchers: [OutboundDispatcher]) {
        outbound = dispatchers
        for d in dispatchers {
            for account in d.senders.keys { desk.citizens.register(d, channel: d.channel, account: account) }
            let mine = state.outbound.values.filter { $0.channel == d.channel && d.handles(account: $0.account) }
            if !mine.isEmpty {
                Log.info("outbound: resuming replies not yet delivered", ["channel": .string(d.channel.rawValue), "count": .int(mine.count)])
            }
            d.resume(mine)
            d.start()
        }
        let orphans = state.outbound.values.filter { q in !dispatchers.contains { $0.channel == q.channel && $0.handles(account: q.account) } }
        if !orphans.isEmpty {
            Log.warning("outbound: replies pending for accounts with no delivery configured; kept until one is",
                        ["count": .int(orphans.count), "accounts": .string(Set(orphans.map { "\($0.channel.rawValue)/\($0.account)" }).sorted().joined(separator: ","))])
        }
    }

    /// Stops the delivery threads (before the core stops). Any thread.
    func stopOutbound() {
        for d in outbound { d.stop() }
    }

    /// Any thread (a dispatcher's): a delivery ended; the core writes it down.
    func finishOutbound(_ done: OutboundDone) {
        // Past the inbox limit, like `gone`: losing it would only cause a repeat after a restart,
        // but there is at most one per reply.
        if let refused = enqueueCitizen(.outbound(done), pastLimit: true) {
            Log.info("outbound: result not recorded; the reply is sent again after a restart",
                     ["id": .string(done.id), "reason": .string(refused.message)])
        }
    }

    /// A reply (`event`) to `s`'s citizen that leaves through a dispatcher among `links`:
    /// `outboundQueued` joins the pass, the dispatcher holds it until the pass is durable.
    func noteOutbound(_ s: BrokerSession, _ event: CitizenEvent, _ links: [any CitizenLink], _ out: inout Outbox) {
        guard case let .message(_, from, text, id) = event,
              let d = links.lazy.compactMap({ $0 as? OutboundDispatcher }).first else { return }
        var agentName = ""
        if from == .agent, let a = state.assignments[s.id] {
            agentName = router.directory.agents.first { $0.id == a.agent }?.name ?? a.agent
        }
        let item = OutboundQueued(id: id, session: s.id, channel: s.channel, account: s.account, citizen: s.citizen, from: from,
                                  agentName: agentName, text: text, at: options.clock())
        record(.outboundQueued(item), &out)
        d.stage(item)
    }

    /// The inbox command of `finishOutbound`.
    func outboundFinished(_ done: OutboundDone, _ out: inout Outbox) {
        guard let item = state.outbound[done.id] else { return }
        record(.outboundDone(done), &out)
        // A reply that will never arrive: the agent holding the session is told why.
        if done.result != .delivered, let holder = state.assignments[item.session]?.agent, let link = links[holder] {
            let code = done.result == .outsideWindow ? "outside_48h" : "not_delivered"
            let why = done.result == .outsideWindow
                ? "the citizen last wrote more than 48 hours ago (or unfollowed): WeChat refuses replies now; reply \(done.id) was not delivered"
                : "reply \(done.id) could not be delivered (\(done.result.rawValue))"
            out.frames.append((link, frame([("type", "error"), ("code", .string(code)), ("message", .string(why)),
                                             ("session", .string(item.session)), ("id", .string(done.id))])))
        }
    }
}

extension BrokerCore {
    /// Start-up (before `start`): `link` reaches every citizen of `channel` in `accounts`.
    func registerCitizenLink(_ link: any CitizenLink, channel: Channel, accounts: [String]) {
        for a in accounts { desk.citizens.register(link, channel: channel, account: a) }
    }
}
