// IntakeCore/Routing: who gets what. Lanes and eligibility groups (built once per requirement
// set), agent availability, the two decisions (a session picks its best agent; an agent with
// spare capacity takes the first session it may serve) and the offer/requeue primitives.
// Part of the Router value; core thread only.

extension Router {
    /// A session chosen for an agent.
    struct Pick {
        var slot: Int32
        var lane: Int32
        var priority: Int
        var enqueuedAt: EpochMillis
        var pushSeq: UInt64
        var overdue: Bool
    }

    // MARK: lanes and groups

    /// The lane for (queue, kind, requirements), created with its groups on first use.
    mutating func laneFor(queue: String, kind: ChannelKind, requirements: [String: Int]) -> Int32 {
        var reqs = requirements.map { Requirement(skill: intern($0.key), min: UInt8($0.value)) }
        reqs.sort { $0.skill < $1.skill }
        let key = LaneKey(queue: queue, kind: kind, requirements: reqs)
        if let l = laneIndex[key] { return l }
        let l = Int32(lanes.count)
        var lane = Lane(queue: queue, kind: kind, requirements: reqs,
                        pq: PriorityQueue(starvationLimitMillis: config.starvationLimit(queue: queue)))
        var delta = 0
        var overflow: [Requirement] = []
        for level in 0...config.relaxation.count {
            if level > 0 {
                switch config.relaxation[level - 1].change {
                case .lowerProficiency(let by): delta += by
                case .addOverflowSkill(let s, let p): overflow.append(Requirement(skill: intern(s), min: UInt8(p)))
                }
            }
            let relaxed = reqs.map { Requirement(skill: $0.skill, min: UInt8(Swift.max(1, Int($0.min) - delta))) }
            lane.groups.append(groupFor(GroupKey(kind: kind, requirements: relaxed, overflow: overflow)))
        }
        lanes.append(lane)
        laneIndex[key] = l
        for a in agents.indices {
            for level in 0...config.relaxation.count where score(Int32(a), groups[Int(lane.groups[level])].key) != nil {
                agents[a].lanes.append(LaneRef(lane: l, level: Int32(level)))
                break
            }
        }
        return l
    }

    /// The agent's proficiency score for `key`, or `nil` when it is not eligible: the lowest
    /// proficiency among the required skills when it meets them all, else 0 if it meets an
    /// overflow skill.
    func score(_ a: Int32, _ key: GroupKey) -> Int? {
        let ag = agents[Int(a)]
        var lowest = Int.max
        var meets = true
        for r in key.requirements {
            let p = ag.proficiency(r.skill)
            if p < r.min { meets = false; break }
            lowest = Swift.min(lowest, Int(p))
        }
        if meets { return key.requirements.isEmpty ? 0 : lowest }
        for r in key.overflow where ag.proficiency(r.skill) >= r.min { return 0 }
        return nil
    }

    mutating func groupFor(_ key: GroupKey) -> Int32 {
        if let g = groupIndex[key] { return g }
        let g = Int32(groups.count)
        var byScore: [Int: [Int32]] = [:]
        for a in agents.indices {
            if let s = score(Int32(a), key) { byScore[s, default: []].append(Int32(a)) }
        }
        let scores = byScore.keys.sorted(by: >)
        groups.append(Group(key: key, tiers: scores.map { Tier(score: $0, members: byScore[$0]!, available: []) }))
        groupIndex[key] = g
        for (t, s) in scores.enumerated() {
            for a in byScore[s]! {
                let m = Int32(agents[Int(a)].memberships.count)
                agents[Int(a)].memberships.append(Membership(group: g, tier: Int32(t), position: -1))
                if agents[Int(a)].available[key.kind] { addAvailable(a, membership: m) }
            }
        }
        return g
    }

    // MARK: availability

    /// Whether the agent may take a new offer of `kind` now.
    func computeAvailable(_ ag: AgentState, _ kind: ChannelKind) -> Bool {
        guard ag.presence == .online, ag.connected, ag.load(kind) < ag.capacity[kind] else { return false }
        switch kind {
        case .chat: return ag.load(.voice) == 0
        case .voice: return !config.chatBlocksVoice || ag.load(.chat) == 0
        }
    }

    /// Brings `available` and the groups' available sets up to date for agent `a`.
    mutating func refresh(_ a: Int32) {
        for kind in ChannelKind.allCases {
            let now = computeAvailable(agents[Int(a)], kind)
            guard now != agents[Int(a)].available[kind] else { continue }
            agents[Int(a)].available[kind] = now
            for m in agents[Int(a)].memberships.indices where groups[Int(agents[Int(a)].memberships[m].group)].key.kind == kind {
                if now { addAvailable(a, membership: Int32(m)) } else { removeAvailable(a, membership: Int32(m)) }
            }
        }
    }

    private mutating func addAvailable(_ a: Int32, membership m: Int32) {
        let ms = agents[Int(a)].memberships[Int(m)]
        precondition(ms.position < 0, "BUG: agent \(a) already available in group \(ms.group)")
        agents[Int(a)].memberships[Int(m)].position = Int32(groups[Int(ms.group)].tiers[Int(ms.tier)].available.count)
        groups[Int(ms.group)].tiers[Int(ms.tier)].available.append((a, m))
    }

    private mutating func removeAvailable(_ a: Int32, membership m: Int32) {
        let ms = agents[Int(a)].memberships[Int(m)]
        precondition(ms.position >= 0, "BUG: agent \(a) not available in group \(ms.group)")
        let (g, t, p) = (Int(ms.group), Int(ms.tier), Int(ms.position))
        let last = groups[g].tiers[t].available.removeLast()
        if p < groups[g].tiers[t].available.count {
            groups[g].tiers[t].available[p] = last
            agents[Int(last.agent)].memberships[Int(last.membership)].position = Int32(p)
        }
        agents[Int(a)].memberships[Int(m)].position = -1
    }

    // MARK: the two decisions

    /// The best available agent for a queued session: best proficiency tier (at its relaxation
    /// level now), then lowest load on its kind, then longest idle, then id; never one it excludes.
    func bestAgent(for slot: Int32) -> (agent: Int32, reason: RoutingReason)? {
        let s = sessions[Int(slot)]!
        let level = relaxationLevel(waited: now - s.enqueuedAt)
        let g = Int(lanes[Int(s.lane)].groups[level])
        let kind = s.kind
        for tier in groups[g].tiers where !tier.available.isEmpty {
            var best: Int32 = -1
            var eligible = 0
            for entry in tier.available {
                let a = entry.agent
                if !s.excluded.isEmpty && s.excluded.contains(a) { continue }
                eligible += 1
                if best < 0 || betterAgent(a, than: best, kind) { best = a }
            }
            if best >= 0 {
                let ag = agents[Int(best)]
                return (best, .bestAgent(proficiency: tier.score, eligibleInTier: eligible, load: Int(ag.load(kind)),
                                         capacity: Int(ag.capacity[kind]), idleMillis: now - ag.idleSince,
                                         relaxation: level))
            }
        }
        return nil
    }

    /// Lower load ratio on `kind`, then longer idle, then lower index (id order).
    @inline(__always)
    func betterAgent(_ a: Int32, than b: Int32, _ kind: ChannelKind) -> Bool {
        let x = agents[Int(a)], y = agents[Int(b)]
        let lx = Int64(x.load(kind)) * Int64(y.capacity[kind]), ly = Int64(y.load(kind)) * Int64(x.capacity[kind])
        if lx != ly { return lx < ly }
        if x.idleSince != y.idleSince { return x.idleSince < y.idleSince }
        return a < b
    }

    /// The first queued session in service order that agent `a` may take now (it must be
    /// available on the session's kind, eligible at the session's relaxation level, and not
    /// excluded), or `nil`. Looks at the agent's lanes only: per lane, the ten class heads.
    func pull(_ a: Int32) -> Pick? {
        let ag = agents[Int(a)]
        guard ag.available.chat || ag.available.voice else { return nil }
        let checkExcluded = ag.exclusions > 0
        var best: Pick?
        for ref in ag.lanes {
            let l = Int(ref.lane)
            guard ag.available[lanes[l].kind], !lanes[l].pq.isEmpty else { continue }
            // Eligible iff the wait reaches the level's step: enqueuedAt <= threshold.
            let threshold = ref.level == 0 ? EpochMillis.max : now - config.relaxation[Int(ref.level) - 1].afterMillis
            let order = ServiceOrder(now: now, limitMillis: lanes[l].pq.starvationLimitMillis)
            for c in stride(from: 9, through: 0, by: -1) {
                guard let head = lanes[l].pq.heaps[c].first, head.enqueuedAt <= threshold else { continue }
                var node = head
                if checkExcluded && isExcluded(lanes[l].pq.idOf[Int(head.handle)]!, a) {
                    guard let n = firstNotExcluded(lane: l, priority: c, threshold: threshold, agent: a) else { continue }
                    node = n
                }
                let slot = lanes[l].pq.idOf[Int(node.handle)]!
                let cand = Pick(slot: slot, lane: Int32(l), priority: c, enqueuedAt: node.enqueuedAt,
                                pushSeq: sessions[Int(slot)]!.pushSeq, overdue: order.isOverdue(node.enqueuedAt))
                if let b = best, !Self.precedes(cand, b) { continue }
                best = cand
            }
        }
        return best
    }

    /// Service order across lanes: overdue first (oldest), else priority, then oldest, then push order.
    @inline(__always)
    static func precedes(_ x: Pick, _ y: Pick) -> Bool {
        if x.overdue != y.overdue { return x.overdue }
        if !x.overdue && x.priority != y.priority { return x.priority > y.priority }
        if x.enqueuedAt != y.enqueuedAt { return x.enqueuedAt < y.enqueuedAt }
        return x.pushSeq < y.pushSeq
    }

    @inline(__always)
    func isExcluded(_ slot: Int32, _ a: Int32) -> Bool {
        let ex = sessions[Int(slot)]!.excluded
        return !ex.isEmpty && ex.contains(a)
    }

    /// Walks one class heap in age order past the sessions `agent` is excluded from; stops at
    /// the first too young for the agent's relaxation threshold. Visits O(excluded) nodes.
    func firstNotExcluded(lane l: Int, priority c: Int, threshold: EpochMillis, agent a: Int32) -> QueueNode? {
        let heap = lanes[l].pq.heaps[c]
        var frontier: [Int] = [0]
        var visited = 0
        while !frontier.isEmpty {
            visited += 1
            precondition(visited <= heap.count, "BUG: heap walk did not terminate")
            var bi = 0
            for i in 1..<frontier.count where heap[frontier[i]].precedes(heap[frontier[bi]]) { bi = i }
            frontier.swapAt(bi, frontier.count - 1)
            let i = frontier.removeLast()
            let node = heap[i]
            if node.enqueuedAt > threshold { continue }
            if !isExcluded(lanes[l].pq.idOf[Int(node.handle)]!, a) { return node }
            if 2 * i + 1 < heap.count { frontier.append(2 * i + 1) }
            if 2 * i + 2 < heap.count { frontier.append(2 * i + 2) }
        }
        return nil
    }

    // MARK: routing procedures

    /// Finds agents for a queued session: its sticky agent first, else its best agent; the
    /// agent then takes the first session in service order it may serve, which is this one
    /// unless an earlier one waits for it (then the loop tries again for this one).
    mutating func route(_ slot: Int32, _ out: inout [RouterAction]) {
        var triedSticky = false
        // Each pass makes one offer, so spare capacity bounds the passes. More than one pass
        // happens when sessions became eligible by waiting since the last tick.
        for _ in 0...totalCapacity {
            guard let s = sessions[Int(slot)], s.state == .queued else { return }
            var choice: (agent: Int32, reason: RoutingReason)?
            if !triedSticky {
                triedSticky = true
                choice = stickyAgent(for: slot)
            }
            if choice == nil { choice = bestAgent(for: slot) }
            guard let (a, reason) = choice else { return }
            guard let pick = pull(a) else { preconditionFailure("BUG: agent \(agents[Int(a)].id) eligible but pulled nothing") }
            if pick.slot == slot {
                makeOffer(slot, to: a, reason: reason, direct: false, &out)
                return
            }
            makeOffer(pick.slot, to: a, reason: queueReason(pick), direct: false, &out)
        }
        preconditionFailure("BUG: routing a session made more offers than there is capacity")
    }

    /// Offers agent `a` sessions in service order until it has no spare capacity or nothing it may take.
    mutating func fill(_ a: Int32, _ out: inout [RouterAction]) {
        let bound = Int(agents[Int(a)].capacity.chat + agents[Int(a)].capacity.voice) + 1
        for _ in 0..<bound {
            guard let pick = pull(a) else { return }
            makeOffer(pick.slot, to: a, reason: queueReason(pick), direct: false, &out)
        }
        preconditionFailure("BUG: filling agent \(agents[Int(a)].id) exceeded its capacity")
    }

    func queueReason(_ pick: Pick) -> RoutingReason {
        .nextInQueue(queue: lanes[Int(pick.lane)].queue, priority: pick.priority, waitedMillis: now - pick.enqueuedAt,
                     overdue: pick.overdue, relaxation: relaxationLevel(waited: now - pick.enqueuedAt))
    }

    /// The citizen's last agent, if within the sticky window, available, eligible, not excluded.
    func stickyAgent(for slot: Int32) -> (agent: Int32, reason: RoutingReason)? {
        let s = sessions[Int(slot)]!
        guard config.stickyMillis > 0, let citizen = s.citizen, let entry = sticky[citizen],
              now - entry.at <= config.stickyMillis else { return nil }
        let a = entry.agent, ag = agents[Int(a)]
        guard ag.available[s.kind], !s.excluded.contains(a) else { return nil }
        let level = relaxationLevel(waited: now - s.enqueuedAt)
        guard ag.lanes.contains(where: { $0.lane == s.lane && Int($0.level) <= level }) else { return nil }
        return (a, .sticky(sinceMillis: now - entry.at))
    }

    // MARK: primitives

    /// Offers a session (queued, or just released by a transfer) to `a`.
    mutating func makeOffer(_ slot: Int32, to a: Int32, reason: RoutingReason, direct: Bool, _ out: inout [RouterAction]) {
        var s = sessions[Int(slot)]!
        if s.state == .queued {
            guard lanes[Int(s.lane)].pq.remove(slot) != nil else { preconditionFailure("BUG: queued session not in its lane") }
            queuedCount -= 1
        }
        precondition(computeAvailable(agents[Int(a)], s.kind), "BUG: offer to an agent without capacity")
        let id = nextOfferID
        nextOfferID += 1
        let offer = OfferRecord(id: id, session: slot, agent: a, expiresAt: now + config.offerTimeoutMillis, direct: direct)
        s.state = .offered(id)
        sessions[Int(slot)] = s
        offers[id] = offer
        agents[Int(a)].offered[s.kind] += 1
        agents[Int(a)].offerIDs.append(id)
        agents[Int(a)].idleSince = now
        refresh(a)
        offerDeadlines.push(.init(at: offer.expiresAt, a: id, b: 0, c: 0))
        out.append(.offer(publicOffer(offer), reason: reason))
    }

    /// Takes a pending offer out of the books (the caller says why and where the session goes).
    mutating func dropOffer(_ id: OfferID) -> OfferRecord {
        guard let offer = offers.removeValue(forKey: id) else { preconditionFailure("BUG: dropping unknown offer \(id)") }
        let a = Int(offer.agent)
        let kind = sessions[Int(offer.session)]!.kind
        agents[a].offered[kind] -= 1
        guard let i = agents[a].offerIDs.firstIndex(of: id) else { preconditionFailure("BUG: offer \(id) not on its agent") }
        agents[a].offerIDs.remove(at: i)
        refresh(offer.agent)
        return offer
    }

    /// Releases a held (assigned or wrapping-up) session from its agent.
    mutating func release(_ slot: Int32, from a: Int32) {
        guard let i = agents[Int(a)].held.firstIndex(of: slot) else { preconditionFailure("BUG: session not held by its agent") }
        agents[Int(a)].held.remove(at: i)
        agents[Int(a)].assigned[sessions[Int(slot)]!.kind] -= 1
        refresh(a)
    }

    /// Puts a session back in its lane at its (original) `enqueuedAt`: ahead of every session
    /// of its class that started waiting later.
    mutating func requeue(_ slot: Int32, cause: RequeueCause, _ out: inout [RouterAction]) {
        push(slot)
        out.append(.requeued(session: sessions[Int(slot)]!.id, cause: cause))
    }

    /// Pushes a session into its lane and schedules its future relaxation steps.
    mutating func push(_ slot: Int32) {
        var s = sessions[Int(slot)]!
        s.state = .queued
        s.pushSeq = pushCounter
        pushCounter += 1
        sessions[Int(slot)] = s
        guard lanes[Int(s.lane)].pq.push(slot, priority: s.priority, enqueuedAt: s.enqueuedAt) else {
            preconditionFailure("BUG: session \(s.id) queued twice")
        }
        queuedCount += 1
        for (i, step) in config.relaxation.enumerated() where s.enqueuedAt + step.afterMillis > now {
            relaxDeadlines.push(.init(at: s.enqueuedAt + step.afterMillis, a: UInt64(slot), b: s.pushSeq, c: UInt64(i + 1)))
        }
    }

    /// Adds `a` to the session's exclusions.
    mutating func exclude(_ slot: Int32, _ a: Int32) {
        guard !sessions[Int(slot)]!.excluded.contains(a) else { return }
        sessions[Int(slot)]!.excluded.append(a)
        agents[Int(a)].exclusions += 1
    }

    /// Clears the session's exclusions.
    mutating func clearExclusions(_ slot: Int32) {
        for a in sessions[Int(slot)]!.excluded { agents[Int(a)].exclusions -= 1 }
        sessions[Int(slot)]!.excluded = []
    }

    /// Forgets a session that is neither queued, offered nor held.
    mutating func forget(_ slot: Int32) {
        clearExclusions(slot)
        sessionIndex[sessions[Int(slot)]!.id] = nil
        sessions[Int(slot)] = nil
        freeSessionSlots.append(slot)
    }
}
