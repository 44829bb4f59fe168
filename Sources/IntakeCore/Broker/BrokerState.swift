// IntakeCore/Broker: the broker's durable state as a deterministic state machine: the dedupe
// index, the sessions, the queues of waiting sessions and what routing needs to survive a
// restart. A value type with one owner, the core thread; copies are cheap (copy-on-write)
// independent snapshots for background encoding.
//
// Design
// - Event-sourced: every change is a `BrokerRecord`, and `apply` (BrokerState+Apply.swift) is
//   the only code that changes the state. A command (`ingest`, `reply`) decides which records a
//   request produces, applies them and returns them for the log, so the live path and replay
//   after a restart run the same `apply`.
// - Pure: no I/O, no clock. The caller passes `now`; ids come from generators that every
//   applied id moves forward, so ids stay unique and increasing across restarts.
// - Sessions: one open session per citizen per channel account; a closed one is remembered for
//   the reopen window (the citizen writing again reopens it); classification rules decide the
//   queue, skills and priority of a new session and raise a waiting one's priority when one of
//   its first messages is an emergency. Routing state that must survive a restart is here too:
//   assignments, pending offers, exclusions, the citizens' last agents, delivery cursors, and a
//   bounded history of each open session (citizen messages and replies).
// - Deliberately not here: durability (the caller acknowledges only after the log reports the
//   records durable), the router itself (rebuilt from this state at start-up) and time-based
//   decisions (the core thread decides inactivity and wrap-up with its clock).

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
    /// Messages received in this session (the newest one's `seq`).
    public var messages: Int
    /// The newest message's id ("" before the first).
    public var lastMessage: String
    /// Skills an agent needs → minimum proficiency (empty: its queue's name, proficiency 1).
    public var requirements: [String: Int] = [:]
    /// Replies stored (agent and bot).
    public var replies = 0
    /// The highest `seq` the holding agent acknowledged (every message up to it reached them).
    public var deliveredUpTo = 0
    /// The newest citizen message or reply (inactivity is measured from it).
    public var lastActivityAt: EpochMillis = 0
    /// The emergency class matched at some point.
    public var emergency = false
    /// Reply clientId → reply id (a repeated send is answered with the first id).
    public var replyIDs: [String: String] = [:]

    /// A session as opened.
    public init(id: String, channel: Channel, account: String, citizen: String, openedAt: EpochMillis,
                messages: Int = 0, lastMessage: String = "") {
        self.id = id
        self.channel = channel
        self.account = account
        self.citizen = citizen
        self.openedAt = openedAt
        self.messages = messages
        self.lastMessage = lastMessage
        lastActivityAt = openedAt
    }

    /// The owner key (`BrokerState.ownerKey`).
    public var owner: String { BrokerState.ownerKey(channel: channel, account: account, citizen: citizen) }
}

/// A session held by an agent, with the wait it had, so a requeue (agent gone) restores it.
public struct SessionAssignment: Sendable, Equatable {
    /// The agent's id.
    public var agent: String
    /// The queue, priority and original wait start the session had before it was assigned.
    public var queue: String
    public var priority: Int
    public var enqueuedAt: EpochMillis
    /// When the agent accepted (0 when unknown: records of format 1).
    public var assignedAt: EpochMillis

    /// An assignment to `agent` of a session that waited in `queue`.
    public init(agent: String, queue: String, priority: Int, enqueuedAt: EpochMillis, assignedAt: EpochMillis = 0) {
        self.agent = agent
        self.queue = queue
        self.priority = priority
        self.enqueuedAt = enqueuedAt
        self.assignedAt = assignedAt
    }
}

/// A closed session, kept for the reopen window.
public struct ClosedSession: Sendable, Equatable {
    /// The session as it was when it closed.
    public var session: BrokerSession
    /// When it closed.
    public var closedAt: EpochMillis
    /// Who held it ("" when nobody).
    public var agent: String
}

/// A pending offer as the log knows it (renewed to the same agent after a restart).
public struct PendingOffer: Sendable, Equatable {
    public var agent: String
    public var offer: UInt64
    public init(agent: String, offer: UInt64) {
        self.agent = agent
        self.offer = offer
    }
}

/// A citizen's last agent and when they were last together (sticky routing after a restart).
public struct LastAgent: Sendable, Equatable {
    public var agent: String
    public var at: EpochMillis
    public init(agent: String, at: EpochMillis) {
        self.agent = agent
        self.at = at
    }
}

/// A widget visitor who wrote at least once: the hash of its resume token.
public struct VisitorEntry: Sendable, Equatable {
    public var tokenHash: [UInt8]
    /// Registration or newest message.
    public var seenAt: EpochMillis
}

/// The settings commands decide with (configuration, not state: not in snapshots).
public struct BrokerSettings: Sendable, Equatable {
    /// A citizen writing this soon after a close reopens the session; 0: never.
    public var reopenWindowMillis: EpochMillis = 10 * 60_000
    /// A waiting session's first messages are classified again (an emergency raises it).
    public var firstMessages = 3
    /// The classification rules and the emergency class.
    public var rules = ClassificationRules()
    /// Messages and replies kept per open session for `assigned {history}` and redelivery.
    public var maxHistoryItems = 200
    /// Bytes of history kept for all sessions together; past it, new items are not kept.
    public var maxHistoryBytes = 128 << 20
    /// Channels whose new sessions go to the FAQ bot first (emergencies never do).
    public var botChannels: Set<Channel> = []

    /// The defaults.
    public init() {}
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
    public internal(set) var dedupe: [String: DedupeEntry] = [:]
    /// Session id → session.
    public internal(set) var sessions: [String: BrokerSession] = [:]
    /// Owner key (channel, account, citizen) → the owner's open session.
    public internal(set) var openSessions: [String: String] = [:]
    /// Sessions waiting for an agent (offered ones included: an offer is not an assignment).
    public internal(set) var queues = QueueSet<String>(defaultStarvationLimitMillis: BrokerState.starvationLimitMillis)
    /// Session id → the agent holding it (from `assigned` records, until closed, transferred or requeued).
    public internal(set) var assignments: [String: SessionAssignment] = [:]
    /// The highest offer id recorded (offer ids continue after it across a restart).
    public internal(set) var lastOfferID: UInt64 = 0
    /// Generators of message and session ids (replies take message ids).
    public internal(set) var messageIDs = IDGenerator(prefix: "m")
    public internal(set) var sessionIDs = IDGenerator(prefix: "s")
    /// Messages stored in total.
    public internal(set) var messageCount = 0
    /// Closed sessions by id, kept for the reopen window (see `forgetExpired`).
    public internal(set) var recentlyClosed: [String: ClosedSession] = [:]
    /// Owner key → its recently closed session.
    public internal(set) var closedByOwner: [String: String] = [:]
    /// Session → its pending offer.
    public internal(set) var pendingOffers: [String: PendingOffer] = [:]
    /// Session → agents never to be offered it again (declined, timed out, transferred it away).
    public internal(set) var exclusions: [String: [String]] = [:]
    /// Owner key → the citizen's last agent.
    public internal(set) var lastAgents: [String: LastAgent] = [:]
    /// Widget visitor → its entry; token hash → visitor.
    public internal(set) var visitors: [String: VisitorEntry] = [:]
    public internal(set) var visitorByToken: [[UInt8]: String] = [:]
    /// Open session → its newest messages and replies (bounded by the settings).
    public internal(set) var histories: [String: SessionHistory] = [:]
    /// Bytes held in `histories`.
    public internal(set) var historyBytes = 0
    /// Reply id → a reply waiting to leave through its channel's API (BrokerRecord+Outbound.swift).
    public internal(set) var outbound: [String: OutboundQueued] = [:]
    /// Sessions with the FAQ bot (BrokerRecord+Bot.swift), until handed over or closed.
    public internal(set) var botSessions: [String: BotSession] = [:]
    /// Session handed over by the bot → its hand-over JSON (suggestions, transcript), until closed.
    public internal(set) var botHandOvers: [String: String] = [:]
    /// How commands decide (reopen window, rules, history bounds); not part of the state.
    public var settings = BrokerSettings()

    /// The entries a snapshot holds (dedupe entries and sessions): its size, roughly.
    public var entryCount: Int { dedupe.count + sessions.count }

    /// An empty state.
    public init(settings: BrokerSettings = BrokerSettings()) { self.settings = settings }

    /// The key under which an owner's open session is found.
    public static func ownerKey(channel: Channel, account: String, citizen: String) -> String {
        channel.rawValue + "\u{1F}" + account + "\u{1F}" + citizen
    }

    // MARK: commands

    /// Decides what to do with an envelope received at `now`: a duplicate gets the original's
    /// id and session and changes nothing; a new message gets an id and joins its citizen's open
    /// session, reopens the session closed within the reopen window, or opens a new one. New and
    /// reopened sessions are classified (`settings.rules`) and enqueued. The records are applied
    /// and returned.
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
        var enqueue: Enqueued?
        var toBot: BotStarted?
        if let open = openSessions[owner], let bot = botSessions[open] {
            stored.session = open
            // The bot never answers an emergency: it goes to people at once, at the emergency's class.
            let c = settings.rules.classify(envelope)
            fill(&stored, c)
            if c.emergency {
                let takeSkills = settings.rules.emergency.skills != nil
                enqueue = Enqueued(session: open, queue: takeSkills ? c.queue : bot.queue, priority: max(c.priority, bot.priority),
                                   enqueuedAt: now, requirements: takeSkills ? c.requirements : bot.requirements,
                                   reason: "taken from the bot: \(c.reason)", emergency: true)
            }
        } else if let open = openSessions[owner] {
            stored.session = open
            // One of a waiting session's first messages may raise its priority (an emergency).
            if let waiting = queues.entry(for: open), let s = sessions[open], s.messages < settings.firstMessages {
                let c = settings.rules.classify(envelope)
                fill(&stored, c)
                if c.priority > waiting.entry.priority {
                    let takeSkills = c.emergency && settings.rules.emergency.skills != nil
                    enqueue = Enqueued(session: open, queue: takeSkills ? c.queue : waiting.queue, priority: c.priority,
                                       enqueuedAt: waiting.entry.enqueuedAt,
                                       requirements: takeSkills ? c.requirements : s.requirements,
                                       reason: "reclassified by message \(s.messages + 1): \(c.reason)", emergency: c.emergency)
                }
            }
        } else {
            let c = settings.rules.classify(envelope)
            fill(&stored, c)
            var why = "new session"
            if let closedID = closedByOwner[owner], let closed = recentlyClosed[closedID],
               now - closed.closedAt <= settings.reopenWindowMillis {
                stored.session = closedID
                why = "reopened"
                let after = max(0, now - closed.closedAt) / 1000
                records.append(.reopened(Reopened(session: closedID, at: now, reason: "the citizen wrote again \(after) s after the "
                                                  + "close (reopen window \(settings.reopenWindowMillis / 1000) s)")))
            } else {
                stored.session = sessionIDs.next(now: now)
                records.append(.sessionOpened(SessionOpened(session: stored.session, channel: envelope.channel, account: envelope.account,
                                                            citizen: envelope.citizen, openedAt: now)))
            }
            if settings.botChannels.contains(envelope.channel) && !c.emergency {
                toBot = BotStarted(session: stored.session, queue: c.queue, priority: c.priority, requirements: c.requirements,
                                   reason: why + "; the bot answers \(envelope.channel.rawValue) first; " + c.reason, at: now)
            } else {
                enqueue = Enqueued(session: stored.session, queue: c.queue, priority: c.priority, enqueuedAt: now,
                                   requirements: c.requirements, reason: why + "; " + c.reason, emergency: c.emergency)
            }
        }
        if let toBot { records.append(.botStarted(toBot)) }
        records.append(.messageReceived(StoredMessage(stored, dedupeKey: dedupeKey)))
        if let enqueue { records.append(.enqueued(enqueue)) }
        for r in records { apply(r) }
        return .accepted(DedupeEntry(message: stored.id, session: stored.session), records: records)
    }

    /// Writes what classification decided into the stored envelope where the producer gave nothing.
    private func fill(_ e: inout Envelope, _ c: Classification) {
        if e.skills == nil, let s = c.envelopeSkills { e.skills = s }
        if e.priority == nil, let p = c.envelopePriority { e.priority = p }
    }

    /// What `reply` decided.
    public enum ReplyDecision: Sendable, Equatable {
        /// The clientId was seen in this session: the first reply's id; nothing stored.
        case duplicate(id: String)
        /// New: the record to append (already applied).
        case accepted(Replied)
        /// The session is not open.
        case unknownSession
    }

    /// A reply to the citizen of an open session, from its agent or the bot; idempotent per
    /// (session, clientId) when `clientId` is not empty.
    public mutating func reply(session: String, from: Replied.From, agent: String, text: String, clientId: String,
                               now: EpochMillis) -> ReplyDecision {
        guard let s = sessions[session] else { return .unknownSession }
        if !clientId.isEmpty, let id = s.replyIDs[clientId] { return .duplicate(id: id) }
        let r = Replied(session: session, id: messageIDs.next(now: now), from: from, agent: agent, text: text,
                        clientId: clientId, at: now)
        apply(.replied(r))
        return .accepted(r)
    }

    /// Forgets what can no longer have an effect: closed sessions past the reopen window, last
    /// agents older than `stickyMillis`, visitors unseen for `visitorMillis`. Not a durable
    /// change: a restart may bring them back from the log, where they are just as expired.
    public mutating func forgetExpired(now: EpochMillis, stickyMillis: EpochMillis, visitorMillis: EpochMillis) {
        for (id, c) in recentlyClosed where now - c.closedAt > settings.reopenWindowMillis {
            recentlyClosed[id] = nil
            if closedByOwner[c.session.owner] == id { closedByOwner[c.session.owner] = nil }
        }
        if lastAgents.contains(where: { now - $0.value.at > stickyMillis }) {
            lastAgents = lastAgents.filter { now - $0.value.at <= stickyMillis }
        }
        for (visitor, v) in visitors where now - v.seenAt > visitorMillis {
            visitors[visitor] = nil
            if visitorByToken[v.tokenHash] == visitor { visitorByToken[v.tokenHash] = nil }
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

    /// The session's requirements (its queue's name at proficiency 1 when none were recorded).
    public func requirements(of session: String, queue: String) -> [String: Int] {
        let r = sessions[session]?.requirements ?? [:]
        return r.isEmpty ? [queue: 1] : r
    }

    /// True when both states hold the same dedupe index, sessions, id generators, queues (same
    /// items in the same service order at `now`; queue sequence numbers may differ) and routing
    /// and conversation state (assignments, offers, exclusions, last agents, visitors, histories).
    public func hasSameContents(as other: BrokerState, now: EpochMillis) -> Bool {
        guard dedupe == other.dedupe, sessions == other.sessions, openSessions == other.openSessions,
              assignments == other.assignments, messageIDs == other.messageIDs, sessionIDs == other.sessionIDs,
              messageCount == other.messageCount, queues.queueNames == other.queues.queueNames,
              recentlyClosed == other.recentlyClosed, closedByOwner == other.closedByOwner,
              pendingOffers == other.pendingOffers, exclusions == other.exclusions, lastAgents == other.lastAgents,
              visitors == other.visitors, visitorByToken == other.visitorByToken, histories == other.histories,
              historyBytes == other.historyBytes, lastOfferID == other.lastOfferID,
              botSessions == other.botSessions, botHandOvers == other.botHandOvers
        else { return false }
        func strip(_ e: [PriorityQueue<String>.Entry]) -> [String] { e.map { "\($0.id)/\($0.priority)/\($0.enqueuedAt)" } }
        for name in queues.queueNames {
            guard let a = queues[queue: name], let b = other.queues[queue: name],
                  strip(a.ordered(now: now)) == strip(b.ordered(now: now)) else { return false }
        }
        return true
    }

    /// Rebuilds the owner → open session index (after a snapshot set `sessions`).
    mutating func reindexOpenSessions() {
        openSessions = [:]
        openSessions.reserveCapacity(sessions.count)
        for s in sessions.values { openSessions[s.owner] = s.id }
    }
}
