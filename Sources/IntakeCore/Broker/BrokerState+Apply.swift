// IntakeCore/Broker: `BrokerState.apply`, the only code that changes the state, on the live
// path and at replay alike, plus the bounded per-session history it keeps. Core thread (or the
// start-up thread during replay).
import IntakeJSON

/// The newest citizen messages and replies of one open session, oldest first.
public struct SessionHistory: Sendable, Equatable {
    /// One message or reply.
    public struct Item: Sendable, Equatable {
        /// The citizen message's `seq` in the session; 0 for a reply.
        public var seq: Int
        /// The stored envelope's JSON (a citizen message) or the reply's JSON object.
        public var json: [UInt8]

        /// An item.
        public init(seq: Int, json: [UInt8]) {
            self.seq = seq
            self.json = json
        }
    }

    /// Oldest first.
    public var items: [Item] = []
    /// Bytes of JSON held.
    public var bytes = 0

    /// An empty history.
    public init() {}
}

extension Replied {
    /// The reply as a history item and as agents see it:
    /// `{"id","session","from","agent","text","clientId","sentAt"}`.
    public func json() -> [UInt8] {
        JSON.object([("id", .string(id)), ("session", .string(session)), ("from", .string(from.rawValue)),
                     ("agent", .string(agent)), ("text", .string(text)), ("clientId", .string(clientId)),
                     ("sentAt", .string(RFC3339.format(at)))]).serializedBytes
    }
}

extension BrokerState {
    /// Applies one record: the only way the state changes, on the live path and at replay.
    /// Records that refer to something unknown are applied as far as they can be (a session
    /// missing from a damaged history does not stop start-up).
    public mutating func apply(_ record: BrokerRecord) {
        switch record {
        case .messageReceived(let m):
            dedupe[m.dedupeKey] = DedupeEntry(message: m.id, session: m.session)
            messageIDs.observe(m.id)
            messageCount += 1
            // In place (the dictionary's modify accessor): no copy of the session out and back.
            if let (seq, channel, citizen) = sessions[m.session]?.noteMessage(m.id, at: m.receivedAt) {
                if channel == .web, visitors[citizen] != nil { visitors[citizen]!.seenAt = m.receivedAt }
                // Replay without the envelope (keepEnvelope: false) keeps no history.
                if !m.envelopeJSON.isEmpty { remember(m.session, SessionHistory.Item(seq: seq, json: m.envelopeJSON)) }
            }
        case .sessionOpened(let o):
            let s = BrokerSession(id: o.session, channel: o.channel, account: o.account, citizen: o.citizen, openedAt: o.openedAt)
            sessions[o.session] = s
            openSessions[s.owner] = o.session
            // A new session replaces the one remembered for the reopen window.
            if let old = closedByOwner.removeValue(forKey: s.owner) { recentlyClosed[old] = nil }
            sessionIDs.observe(o.session)
        case .reopened(let r):
            guard let closed = recentlyClosed.removeValue(forKey: r.session) else { return }
            var s = closed.session
            s.deliveredUpTo = s.messages
            s.lastActivityAt = max(s.lastActivityAt, r.at)
            sessions[r.session] = s
            openSessions[s.owner] = r.session
            if closedByOwner[s.owner] == r.session { closedByOwner[s.owner] = nil }
        case .enqueued(let e):
            assignments[e.session] = nil  // a requeue ends the assignment
            botSessions[e.session] = nil  // a hand-over ends the bot's turn
            _ = queues.remove(e.session)  // a reclassified session moves
            _ = queues.push(e.session, queue: e.queue, priority: e.priority, enqueuedAt: e.enqueuedAt)
            if var s = sessions[e.session] {
                s.requirements = e.requirements
                s.emergency = s.emergency || e.emergency
                sessions[e.session] = s
            }
        case .offered(let o):
            lastOfferID = max(lastOfferID, o.offer)
            pendingOffers[o.session] = PendingOffer(agent: o.agent, offer: o.offer)
        case .offerEnded(let o):
            if pendingOffers[o.session]?.offer == o.offer { pendingOffers[o.session] = nil }
            if o.excludes, sessions[o.session] != nil, !(exclusions[o.session]?.contains(o.agent) ?? false) {
                exclusions[o.session, default: []].append(o.agent)
            }
        case .assigned(let a):
            let removed = queues.remove(a.session)
            let openedAt = sessions[a.session]?.openedAt ?? 0
            pendingOffers[a.session] = nil
            assignments[a.session] = SessionAssignment(agent: a.agent, queue: removed?.queue ?? Self.defaultQueue,
                                                       priority: removed?.entry.priority ?? 0,
                                                       enqueuedAt: removed?.entry.enqueuedAt ?? openedAt, assignedAt: a.at)
            if var s = sessions[a.session] {
                s.deliveredUpTo = s.messages  // the `assigned` frame carries the whole history
                sessions[a.session] = s
                lastAgents[s.owner] = LastAgent(agent: a.agent, at: a.at)
            }
        case .transferred(let t):
            let held = assignments.removeValue(forKey: t.session)
            let waiting = queues.remove(t.session)
            pendingOffers[t.session] = nil
            guard var s = sessions[t.session] else { return }
            let priority = held?.priority ?? waiting?.entry.priority ?? 0
            if t.toAgent.isEmpty {
                // To skills: a new wait with the new requirements; never back to the one who sent it.
                s.requirements = t.requirements
                exclusions[t.session] = [t.from]
                _ = queues.push(t.session, queue: t.queue, priority: priority, enqueuedAt: t.at)
            } else {
                // To an agent: offered to them directly; meanwhile it waits at its original wait.
                let enqueuedAt = held?.enqueuedAt ?? waiting?.entry.enqueuedAt ?? s.openedAt
                _ = queues.push(t.session, queue: t.queue, priority: priority, enqueuedAt: enqueuedAt)
            }
            s.deliveredUpTo = s.messages
            sessions[t.session] = s
        case .closed(let c):
            _ = queues.remove(c.session)
            assignments[c.session] = nil
            pendingOffers[c.session] = nil
            exclusions[c.session] = nil
            botSessions[c.session] = nil
            botHandOvers[c.session] = nil
            if let h = histories.removeValue(forKey: c.session) { historyBytes -= h.bytes }
            if let s = sessions.removeValue(forKey: c.session) {
                if openSessions[s.owner] == c.session { openSessions[s.owner] = nil }
                if !c.agent.isEmpty { lastAgents[s.owner] = LastAgent(agent: c.agent, at: c.at) }
                if let old = closedByOwner[s.owner], old != c.session { recentlyClosed[old] = nil }
                recentlyClosed[c.session] = ClosedSession(session: s, closedAt: c.at, agent: c.agent)
                closedByOwner[s.owner] = c.session
            }
        case .deliveryAcked(let d):
            for a in d.acks {
                guard var s = sessions[a.session] else { continue }
                s.deliveredUpTo = max(s.deliveredUpTo, min(a.upTo, s.messages))
                sessions[a.session] = s
            }
        case .replied(let r):
            messageIDs.observe(r.id)
            guard var s = sessions[r.session] else { return }
            s.replies += 1
            s.lastActivityAt = max(s.lastActivityAt, r.at)
            if !r.clientId.isEmpty { s.replyIDs[r.clientId] = r.id }
            sessions[r.session] = s
            remember(r.session, SessionHistory.Item(seq: 0, json: r.json()))
        case .visitorRegistered(let v):
            if let old = visitors[v.visitor], visitorByToken[old.tokenHash] == v.visitor { visitorByToken[old.tokenHash] = nil }
            visitors[v.visitor] = VisitorEntry(tokenHash: v.tokenHash, seenAt: v.at)
            visitorByToken[v.tokenHash] = v.visitor
        case .rated:
            break  // audit only
        case .outboundQueued, .outboundDone:
            applyOutbound(record)
        case .botStarted, .botDecided:
            applyBot(record)
        }
    }

    /// Adds an item to the session's history within the bounds: the oldest items make room past
    /// `maxHistoryItems`; past `maxHistoryBytes` in all, the item is not kept.
    mutating func remember(_ session: String, _ item: SessionHistory.Item) {
        guard historyBytes + item.json.count <= settings.maxHistoryBytes, settings.maxHistoryItems > 0 else { return }
        var h = histories.removeValue(forKey: session) ?? SessionHistory()
        h.items.append(item)
        h.bytes += item.json.count
        historyBytes += item.json.count
        if h.items.count > settings.maxHistoryItems {
            let gone = h.items.removeFirst().json.count
            h.bytes -= gone
            historyBytes -= gone
        }
        histories[session] = h
    }
}

extension BrokerSession {
    /// Counts a citizen message; returns its seq and the owner's channel and citizen.
    mutating func noteMessage(_ id: String, at: EpochMillis) -> (Int, Channel, String) {
        messages += 1
        lastMessage = id
        lastActivityAt = max(lastActivityAt, at)
        return (messages, channel, citizen)
    }
}
