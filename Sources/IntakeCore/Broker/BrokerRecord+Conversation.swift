// IntakeCore/Broker: payloads of the conversation records: transfers, replies to citizens,
// delivery acknowledgements, offers that ended, reopened sessions, widget visitors and ratings
// (docs/STORAGE.md, "Record types"). Value types; any thread. Codec in BrokerRecord.swift.

/// A session moved by its agent: to other skills (back to the queue as a new wait) or to a named
/// agent (offered to them directly; it waits in its old queue meanwhile, at its original wait).
public struct Transferred: Sendable, Equatable {
    public var session: String
    /// The agent who held it.
    public var from: String
    /// The named agent, or "" for a transfer to skills.
    public var toAgent: String
    /// The queue it waits in now (the first skill named, or its old queue).
    public var queue: String
    /// The new requirements (a transfer to skills), or empty (to an agent: unchanged).
    public var requirements: [String: Int]
    /// Audit text: "transferred by a1 to skills tax, english".
    public var reason: String
    /// When; a transfer to skills starts a new wait at this time.
    public var at: EpochMillis

    /// A transferred record.
    public init(session: String, from: String, toAgent: String = "", queue: String, requirements: [String: Int] = [:],
                reason: String, at: EpochMillis) {
        self.session = session
        self.from = from
        self.toAgent = toAgent
        self.queue = queue
        self.requirements = requirements
        self.reason = reason
        self.at = at
    }
}

/// An agent's delivery acknowledgements of one core pass: per session, every citizen message up
/// to `upTo` (its `seq`) reached the agent. Many acks arriving together become one record.
public struct DeliveryAcked: Sendable, Equatable {
    /// One session's cursor.
    public struct Ack: Sendable, Equatable {
        public var session: String
        public var upTo: Int
        public init(session: String, upTo: Int) {
            self.session = session
            self.upTo = upTo
        }
    }

    /// The agent who acknowledged.
    public var agent: String
    /// The sessions, each once.
    public var acks: [Ack]

    /// A deliveryAcked record.
    public init(agent: String, acks: [Ack]) {
        self.agent = agent
        self.acks = acks
    }
}

/// An outbound message to the citizen, from the session's agent or from the broker's bot
/// (inactivity notices, later the FAQ bot). Durable before the agent hears `sent` and before it
/// leaves for the citizen's channel.
public struct Replied: Sendable, Equatable {
    /// Who wrote it.
    public enum From: String, Sendable, Equatable {
        case agent
        case bot

        var code: UInt8 { self == .agent ? 0 : 1 }
        init?(code: UInt8) {
            switch code {
            case 0: self = .agent
            case 1: self = .bot
            default: return nil
            }
        }
    }

    public var session: String
    /// The broker-assigned id ("m…", from the same generator as citizen messages).
    public var id: String
    public var from: From
    /// The agent's id ("" for the bot).
    public var agent: String
    public var text: String
    /// The sender's idempotency key: a repeat within the session gets the same id, stores nothing.
    public var clientId: String
    public var at: EpochMillis

    /// A replied record.
    public init(session: String, id: String, from: From, agent: String, text: String, clientId: String, at: EpochMillis) {
        self.session = session
        self.id = id
        self.from = from
        self.agent = agent
        self.text = text
        self.clientId = clientId
        self.at = at
    }
}

/// An offer that ended without an accept: declined, timed out, revoked (agent away or offline,
/// session ended, restart). With `excludes`, the agent is never offered the session again.
public struct OfferEnded: Sendable, Equatable {
    public var session: String
    public var agent: String
    public var offer: UInt64
    /// "declined", "timed out", "agent away", "agent offline", "session ended", "restart".
    public var cause: String
    /// The agent is excluded for this session from now on (declined or timed out).
    public var excludes: Bool

    /// An offerEnded record.
    public init(session: String, agent: String, offer: UInt64, cause: String, excludes: Bool) {
        self.session = session
        self.agent = agent
        self.offer = offer
        self.cause = cause
        self.excludes = excludes
    }
}

/// A closed session opened again because its citizen wrote within the reopen window.
public struct Reopened: Sendable, Equatable {
    public var session: String
    public var at: EpochMillis
    /// "the citizen wrote again 42 s after the close (reopen window 600 s)".
    public var reason: String

    /// A reopened record.
    public init(session: String, at: EpochMillis, reason: String) {
        self.session = session
        self.at = at
        self.reason = reason
    }
}

/// A widget visitor's first message: its resume token (as a SHA-256 hash, never the token) is
/// kept so the visitor can reconnect after a broker restart.
public struct VisitorRegistered: Sendable, Equatable {
    public var visitor: String
    /// SHA-256 of the resume token.
    public var tokenHash: [UInt8]
    public var at: EpochMillis

    /// A visitorRegistered record.
    public init(visitor: String, tokenHash: [UInt8], at: EpochMillis) {
        self.visitor = visitor
        self.tokenHash = tokenHash
        self.at = at
    }
}

/// A citizen's rating of a session, 1–5 (audit only).
public struct Rated: Sendable, Equatable {
    public var session: String
    public var score: Int
    public var at: EpochMillis

    /// A rated record.
    public init(session: String, score: Int, at: EpochMillis) {
        self.session = session
        self.score = score
        self.at = at
    }
}
