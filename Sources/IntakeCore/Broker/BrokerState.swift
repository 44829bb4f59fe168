// IntakeCore/Broker: the broker's durable state as a deterministic state machine: the dedupe
// index, the sessions and the queues of waiting sessions. A value type with one owner, the core
// thread; copies are cheap (copy-on-write) independent snapshots for background encoding.
//
// Design
// - Event-sourced: every change is a `BrokerRecord`, and `apply` is the only code that changes
//   the state. A command (`ingest`) decides which records a request produces, applies them and
//   returns them for the log, so the live path and replay after a restart run the same `apply`.
// - Pure: no I/O, no clock. The caller passes `now`; ids come from generators that every
//   applied id moves forward, so ids stay unique and increasing across restarts.
// - Deliberately not here: durability (the caller acknowledges only after the log reports the
//   records durable), session lifecycle beyond "open at the first message" (the routing issue
//   adds offered/assigned/closed records and their `apply` cases).

/// Where an already-stored message went: its id and session.
public struct DedupeEntry: Sendable, Equatable {
    /// The message id ("m…").
    public var message: String
    /// The session id ("s…").
    public var session: String

    /// An entry for message `message` in session `session`.
    public init(message: String, session: String) {
        self.message = message
        self.session = session
    }
}

/// One open conversation.
public struct BrokerSession: Sendable, Equatable {
    /// The session id.
    public var id: String
    /// The owner: channel, account, citizen.
    public var channel: Channel
    public var account: String
    public var citizen: String
    /// When the first message arrived.
    public var openedAt: EpochMillis
    /// Messages received in this session.
    public var messages: Int
    /// The newest message's id ("" before the first).
    public var lastMessage: String

    mutating func noteMessage(_ id: String) {
        messages += 1
        lastMessage = id
    }
}

/// A session held by an agent, with the wait it had, so a requeue (agent gone) restores it.
public struct SessionAssignment: Sendable, Equatable {
    /// The agent's id.
    public var agent: String
    /// The queue, priority and original wait start the session had before it was assigned.
    public var queue: String
    public var priority: Int
    public var enqueuedAt: EpochMillis

    /// An assignment to `agent` of a session that waited in `queue`.
    public init(agent: String, queue: String, priority: Int, enqueuedAt: EpochMillis) {
        self.agent = agent
        self.queue = queue
        self.priority = priority
        self.enqueuedAt = enqueuedAt
    }
}

/// What the state machine decided about one ingested envelope.
public enum IngestDecision: Sendable, Equatable {
    /// Already stored: the original's id and session. No records.
    case duplicate(DedupeEntry)
    /// New: the records to append (already applied), and the id and session assigned.
    case accepted(DedupeEntry, records: [BrokerRecord])
}

/// The queues, sessions and dedupe index, rebuilt from the newest snapshot plus the log.
public struct BrokerState: Sendable {
    /// The queue a session waits in when its envelope names no skill.
    public static let defaultQueue = "general"
    /// The anti-starvation limit of every queue: a session waiting longer than this is served
    /// before younger ones of any priority (docs/PROTOCOL.md, "Queue order").
    public static let starvationLimitMillis: EpochMillis = 10 * 60 * 1000

    /// dedupeKey → the stored message's id and session.
    public private(set) var dedupe: [String: DedupeEntry] = [:]
    /// Session id → session.
    public private(set) var sessions: [String: BrokerSession] = [:]
    /// Owner key (channel, account, citizen) → the owner's open session.
    public private(set) var openSessions: [String: String] = [:]
    /// Sessions waiting for an agent.
    public private(set) var queues = QueueSet<String>(defaultStarvationLimitMillis: BrokerState.starvationLimitMillis)
    /// Session id → the agent holding it (from `assigned` records, until closed or requeued).
    public private(set) var assignments: [String: SessionAssignment] = [:]
    /// The highest offer id recorded (offer ids continue after it across a restart).
    public private(set) var lastOfferID: UInt64 = 0
    /// Generators of message and session ids.
    public private(set) var messageIDs = IDGenerator(prefix: "m")
    public private(set) var sessionIDs = IDGenerator(prefix: "s")
    /// Messages stored in total.
    public private(set) var messageCount = 0

    /// The entries a snapshot holds (dedupe entries and sessions): its size, roughly.
    public var entryCount: Int { dedupe.count + sessions.count }

    /// An empty state.
    public init() {}

    /// The key under which an owner's open session is found.
    public static func ownerKey(channel: Channel, account: String, citizen: String) -> String {
        channel.rawValue + "\u{1F}" + account + "\u{1F}" + citizen
    }

    // MARK: commands

    /// Decides what to do with an envelope received at `now`: a duplicate gets the original's
    /// id and session and changes nothing; a new message gets an id and (for a citizen with no
    /// open session) a new session that is enqueued, and the records are applied and returned.
    /// Queue: the envelope's first skill or "general"; priority: the envelope's or 0.
    public mutating func ingest(_ envelope: Envelope, now: EpochMillis) -> IngestDecision {
        ingest(envelope, dedupeKey: envelope.dedupeKey, now: now)
    }

    /// `ingest(_:now:)` for a caller that already holds `envelope.dedupeKey` (the core thread
    /// needs it too, and building it is a string concatenation per message).
    public mutating func ingest(_ envelope: Envelope, dedupeKey: String, now: EpochMillis) -> IngestDecision {
        assert(dedupeKey == envelope.dedupeKey, "BUG: dedupeKey does not match the envelope")
        if let original = dedupe[dedupeKey] { return .duplicate(original) }
        var records: [BrokerRecord] = []
        var stored = envelope
        stored.receivedAt = now
        stored.id = messageIDs.next(now: now)
        let owner = Self.ownerKey(channel: envelope.channel, account: envelope.account, citizen: envelope.citizen)
        var opened: SessionOpened?
        if let open = openSessions[owner] {
            stored.session = open
        } else {
            stored.session = sessionIDs.next(now: now)
            opened = SessionOpened(session: stored.session, channel: envelope.channel, account: envelope.account,
                                   citizen: envelope.citizen, openedAt: now)
            records.append(.sessionOpened(opened!))
        }
        records.append(.messageReceived(StoredMessage(stored, dedupeKey: dedupeKey)))
        if opened != nil {
            let queue = envelope.skills?.first ?? Self.defaultQueue
            records.append(.enqueued(Enqueued(session: stored.session, queue: queue, priority: envelope.priority ?? 0,
                                              enqueuedAt: now)))
        }
        for r in records { apply(r) }
        return .accepted(DedupeEntry(message: stored.id, session: stored.session), records: records)
    }

    // MARK: apply

    /// Applies one record: the only way the state changes, on the live path and at replay.
    /// Records that refer to something unknown are applied as far as they can be (a session
    /// missing from a damaged history does not stop start-up).
    public mutating func apply(_ record: BrokerRecord) {
        switch record {
        case .messageReceived(let m):
            dedupe[m.dedupeKey] = DedupeEntry(message: m.id, session: m.session)
            messageIDs.observe(m.id)
            messageCount += 1
            // In place (optional chaining through the dictionary's modify accessor): no copy of
            // the session's strings out and back.
            sessions[m.session]?.noteMessage(m.id)
        case .sessionOpened(let o):
            sessions[o.session] = BrokerSession(id: o.session, channel: o.channel, account: o.account, citizen: o.citizen,
                                                openedAt: o.openedAt, messages: 0, lastMessage: "")
            openSessions[Self.ownerKey(channel: o.channel, account: o.account, citizen: o.citizen)] = o.session
            sessionIDs.observe(o.session)
        case .enqueued(let e):
            assignments[e.session] = nil  // a requeue ends the assignment
            _ = queues.push(e.session, queue: e.queue, priority: e.priority, enqueuedAt: e.enqueuedAt)
        case .offered(let o):
            // Otherwise audit only: after a restart the session is routed again from its queue.
            lastOfferID = max(lastOfferID, o.offer)
        case .assigned(let a):
            let removed = queues.remove(a.session)
            let openedAt = sessions[a.session]?.openedAt ?? 0
            assignments[a.session] = SessionAssignment(agent: a.agent, queue: removed?.queue ?? Self.defaultQueue,
                                                       priority: removed?.entry.priority ?? 0,
                                                       enqueuedAt: removed?.entry.enqueuedAt ?? openedAt)
        case .closed(let c):
            _ = queues.remove(c.session)
            assignments[c.session] = nil
            if let s = sessions.removeValue(forKey: c.session) {
                let owner = Self.ownerKey(channel: s.channel, account: s.account, citizen: s.citizen)
                if openSessions[owner] == c.session { openSessions[owner] = nil }
            }
        }
    }

    // MARK: views

    /// One queue as the admin view shows it.
    public struct QueueView: Sendable, Equatable {
        /// The queue's name.
        public var name: String
        /// Waiting sessions in total.
        public var depth: Int
        /// Waiting sessions per priority class, index = class (0...9).
        public var depthByPriority: [Int]
        /// The first sessions in service order (at most the limit asked for).
        public var sessions: [PriorityQueue<String>.Entry]
    }

    /// Every queue, by name, with at most `limit` sessions each in service order at `now`.
    public func queueViews(now: EpochMillis, limit: Int) -> [QueueView] {
        queues.queueNames.map { name in
            let q = queues[queue: name]!
            return QueueView(name: name, depth: q.count, depthByPriority: PriorityQueue<String>.priorities.map { q.count(priority: $0) },
                             sessions: q.ordered(now: now, limit: limit))
        }
    }

    /// True when both states hold the same dedupe index, sessions, id generators and queues
    /// (same items in the same service order at `now`). Queue sequence numbers may differ.
    public func hasSameContents(as other: BrokerState, now: EpochMillis) -> Bool {
        guard dedupe == other.dedupe, sessions == other.sessions, openSessions == other.openSessions,
              assignments == other.assignments, messageIDs == other.messageIDs, sessionIDs == other.sessionIDs, messageCount == other.messageCount,
              queues.queueNames == other.queues.queueNames
        else { return false }
        func strip(_ e: [PriorityQueue<String>.Entry]) -> [String] { e.map { "\($0.id)/\($0.priority)/\($0.enqueuedAt)" } }
        for name in queues.queueNames {
            guard let a = queues[queue: name], let b = other.queues[queue: name],
                  strip(a.ordered(now: now)) == strip(b.ordered(now: now)) else { return false }
        }
        return true
    }

    // Snapshots (BrokerState+Snapshot.swift) rebuild the stored properties directly.
    mutating func restore(dedupe: [String: DedupeEntry], sessions: [String: BrokerSession], queues: QueueSet<String>,
                          messageIDs: IDGenerator, sessionIDs: IDGenerator, messageCount: Int,
                          assignments: [String: SessionAssignment], lastOfferID: UInt64) {
        self.assignments = assignments
        self.lastOfferID = lastOfferID
        self.dedupe = dedupe
        self.sessions = sessions
        self.queues = queues
        self.messageIDs = messageIDs
        self.sessionIDs = sessionIDs
        self.messageCount = messageCount
        openSessions = [:]
        openSessions.reserveCapacity(sessions.count)
        for s in sessions.values {
            openSessions[Self.ownerKey(channel: s.channel, account: s.account, citizen: s.citizen)] = s.id
        }
    }
}
