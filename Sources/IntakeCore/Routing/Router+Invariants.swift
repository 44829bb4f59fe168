// IntakeCore/Routing: the router's self-check, run by the tests after every step: every
// session in exactly one consistent state, per-agent counts equal to what they hold, capacity
// respected, availability sets exact, lanes sound. O(sessions + agents × groups). Core thread.

extension Router {
    /// Every broken invariant, as sentences (at most 20); empty when the state is sound.
    package func checkInvariants() -> [String] {
        var problems: [String] = []
        // A plain String parameter: an autoclosure would capture (copy) the whole router per call.
        func fail(_ s: String) { if problems.count < 20 { problems.append(s) } }
        var assigned = [PerKind<Int32>](repeating: .init(chat: 0, voice: 0), count: agents.count)
        var offered = assigned
        var heldCount = [Int](repeating: 0, count: agents.count)
        var exclusions = [Int](repeating: 0, count: agents.count)
        var queued = 0
        for (i, s) in sessions.enumerated() {
            guard let s else { continue }
            let slot = Int32(i)
            if sessionIndex[s.id] != slot { fail("session \(s.id): index says \(String(describing: sessionIndex[s.id])), slot \(i)") }
            let inLane = lanes[Int(s.lane)].pq.contains(slot)
            for x in s.excluded { exclusions[Int(x)] += 1 }
            for (j, x) in s.excluded.enumerated() where s.excluded[(j + 1)...].contains(x) {
                fail("session \(s.id) excludes an agent twice")
            }
            switch s.state {
            case .queued:
                queued += 1
                if !inLane { fail("session \(s.id) is queued but not in its lane") }
            case .offered(let id):
                if inLane { fail("session \(s.id) is offered and queued") }
                guard let o = offers[id] else { fail("session \(s.id): offer \(id) missing"); continue }
                if o.session != slot { fail("offer \(id) names another session") }
                if !o.direct && s.excluded.contains(o.agent) { fail("session \(s.id) offered to an excluded agent") }
                offered[Int(o.agent)][s.kind] += 1
            case .assigned(let a), .wrappingUp(let a):
                if inLane { fail("session \(s.id) is held and queued") }
                assigned[Int(a)][s.kind] += 1
                heldCount[Int(a)] += 1
                if !agents[Int(a)].held.contains(slot) { fail("session \(s.id) is not on its agent's held list") }
            case .detached:
                fail("session \(s.id) is detached between events")
            }
        }
        if sessionIndex.count != sessions.count - freeSessionSlots.count {
            fail("index holds \(sessionIndex.count) sessions, slots \(sessions.count - freeSessionSlots.count)")
        }
        var inLanes = 0
        for l in lanes.indices { inLanes += lanes[l].pq.count }
        if queued != queuedCount || inLanes != queued { fail("queued: states \(queued), counter \(queuedCount), lanes \(inLanes)") }
        for (id, o) in offers {
            guard let s = sessions[Int(o.session)], s.state == .offered(id) else { fail("offer \(id) for a session not offered"); continue }
            if !agents[Int(o.agent)].offerIDs.contains(id) { fail("offer \(id) missing from its agent") }
        }
        var groupKinds: [ChannelKind] = []
        groupKinds.reserveCapacity(groups.count)
        for g in groups.indices { groupKinds.append(groups[g].key.kind) }
        for (i, ag) in agents.enumerated() {
            let name = ag.id
            if ag.assigned != assigned[i] { fail("agent \(name): assigned \(ag.assigned) but holds \(assigned[i])") }
            if ag.offered != offered[i] { fail("agent \(name): offered \(ag.offered) but has \(offered[i]) offers") }
            if ag.held.count != heldCount[i] { fail("agent \(name): held list has \(ag.held.count), sessions say \(heldCount[i])") }
            if ag.offerIDs.count != Int(ag.offered.chat + ag.offered.voice) { fail("agent \(name): offer list length") }
            if ag.exclusions != exclusions[i] { fail("agent \(name): exclusions \(ag.exclusions), actual \(exclusions[i])") }
            for k in ChannelKind.allCases where ag.load(k) > ag.capacity[k] {
                fail("agent \(name) over \(k.rawValue) capacity: \(ag.load(k))/\(ag.capacity[k])")
            }
            if ag.presence == .offline && (ag.load(.chat) + ag.load(.voice) > 0) { fail("offline agent \(name) holds sessions") }
            if ag.presence != .online && !ag.offerIDs.isEmpty { fail("agent \(name) is \(ag.presence) with pending offers") }
            for k in ChannelKind.allCases where ag.available[k] != computeAvailable(ag, k) {
                fail("agent \(name): available[\(k.rawValue)] stale")
            }
            // No `||`/`&&` with `self` on the right here: in debug builds their autoclosure copies the
            // whole router, a thousand times per check.
            for ms in ag.memberships where ag.available[groupKinds[Int(ms.group)]] != (ms.position >= 0) {
                fail("agent \(name): group \(ms.group) availability mismatch")
            }
        }
        for g in groups.indices {
            for t in groups[g].tiers.indices {
                for (p, entry) in groups[g].tiers[t].available.enumerated() {
                    let ms = agents[Int(entry.agent)].memberships[Int(entry.membership)]
                    if ms.group != Int32(g) { fail("group \(g): entry \(p) names another group's membership") }
                    if ms.tier != Int32(t) { fail("group \(g): entry \(p) names another tier") }
                    if ms.position != Int32(p) { fail("group \(g): entry \(p) position recorded as \(ms.position)") }
                }
            }
        }
        var availableEntries = 0, memberships = 0
        for g in groups.indices { for t in groups[g].tiers.indices { availableEntries += groups[g].tiers[t].available.count } }
        for ag in agents { for ms in ag.memberships where ms.position >= 0 { memberships += 1 } }
        if availableEntries != memberships { fail("groups list \(availableEntries) available entries, agents \(memberships)") }
        for l in lanes.indices where !lanes[l].pq.isEmpty {
            for p in lanes[l].pq.checkInvariants() { fail("lane \(l): \(p)") }
        }
        return problems
    }
}
