// IntakeCore/Routing: everything time-based, run by `.tick` with the driver's `now`: offer
// timeouts (and setting an agent away after consecutive ones), grace expiry after a lost
// connection, relaxation steps, and forgetting expired sticky pairs. Core thread only.

extension Router {
    mutating func tick(_ out: inout [RouterAction]) {
        while let e = offerDeadlines.popDue(now) {
            guard let offer = offers[e.a], offer.expiresAt == e.at else { continue }
            timeOut(offer, &out)
        }
        while let e = graceDeadlines.popDue(now) {
            let a = Int32(e.a)
            guard agents[Int(a)].graceDeadline == e.at, !agents[Int(a)].connected else { continue }
            out.append(.presenceChanged(agent: agents[Int(a)].id, .offline,
                                        reason: "connection lost; grace period of \(config.graceMillis / 1000) s expired"))
            goOffline(a, &out)
        }
        while let e = relaxDeadlines.popDue(now) {
            let slot = Int32(e.a)
            guard Int(slot) < sessions.count, let s = sessions[Int(slot)], s.state == .queued, s.pushSeq == e.b else { continue }
            out.append(.relaxed(session: s.id, level: Int(e.c), reason: relaxationText[Int(e.c)]))
            route(slot, &out)
        }
        while let e = stickyExpiry.popDue(now) {
            guard let citizen = stickyKeys.removeValue(forKey: e.a) else { continue }
            sticky[citizen] = nil
        }
    }

    /// Pops deadlines that no longer matter off the heap tops, so `nextDeadline` is exact.
    mutating func dropStaleDeadlines() {
        offerDeadlines.dropStale { offers[$0.a]?.expiresAt != $0.at }
        graceDeadlines.dropStale { agents[Int($0.a)].graceDeadline != $0.at || agents[Int($0.a)].connected }
        relaxDeadlines.dropStale { e in
            guard Int(e.a) < sessions.count, let s = sessions[Int(e.a)] else { return true }
            return s.state != .queued || s.pushSeq != e.b
        }
        stickyExpiry.dropStale { stickyKeys[$0.a] == nil }
    }

    /// An offer nobody answered: revoke it, never offer this session to this agent again,
    /// count the timeout (away after `maxConsecutiveTimeouts`), route the session again.
    mutating func timeOut(_ record: OfferRecord, _ out: inout [RouterAction]) {
        let offer = publicOffer(record)
        _ = dropOffer(record.id)
        let a = record.agent
        out.append(.revoke(offer, cause: .timedOut))
        exclude(record.session, a)
        requeue(record.session, cause: .offerTimedOut, &out)
        agents[Int(a)].consecutiveTimeouts += 1
        if agents[Int(a)].consecutiveTimeouts >= config.maxConsecutiveTimeouts && agents[Int(a)].presence == .online {
            out.append(.presenceChanged(agent: agents[Int(a)].id, .away,
                                        reason: "\(config.maxConsecutiveTimeouts) consecutive offer timeouts"))
            setAway(a, &out)
        }
        route(record.session, &out)
        fill(a, &out)
    }
}
