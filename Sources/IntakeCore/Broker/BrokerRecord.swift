// IntakeCore/Broker: the broker's log records, one per state change that must survive a
// restart, and their binary codec. Value types; any thread. The type numbers are stable and
// listed in docs/STORAGE.md ("Record types"); a new kind of change gets a new number.
//
// Payloads start with a format byte (1, or 2 for the records that grew fields), then fixed
// fields, little-endian, strings as u32 length + UTF-8. `messageReceived` carries the fields
// replay needs first and the envelope's stored JSON last, so replay never parses JSON and export
// reads the message exactly as stored. Payload structs of the conversation records (replies,
// acknowledgements, transfers …) are in BrokerRecord+Conversation.swift.
import IntakeJSON

/// The record type numbers of docs/STORAGE.md. Never renumber; 0 is reserved by the store.
public enum BrokerRecordType: UInt8, Sendable, CaseIterable {
    case messageReceived = 1
    case sessionOpened = 2
    case enqueued = 3
    case offered = 4
    case assigned = 5
    case transferred = 6
    case closed = 7
    case deliveryAcked = 8
    case checkpoint = 9
    case replied = 10
    case offerEnded = 11
    case reopened = 12
    case visitorRegistered = 13
    case rated = 14
    case outboundQueued = 15
    case outboundDone = 16
    /// The FAQ bot (BrokerRecord+Bot.swift); 15–19 are left for the channels' delivery records.
    case botStarted = 20
    case botDecided = 21
}

/// A message as stored: the envelope (with id, session and receivedAt filled in) and the
/// fields replay needs, kept apart so replay reads them without touching the JSON.
public struct StoredMessage: Sendable, Equatable {
    /// The broker-assigned message id.
    public var id: String
    /// The session it belongs to.
    public var session: String
    /// `Envelope.dedupeKey` of the message.
    public var dedupeKey: String
    /// When the broker received it.
    public var receivedAt: EpochMillis
    /// The envelope's stored JSON form (`Envelope.toJSON()` serialized).
    public var envelopeJSON: [UInt8]

    /// The stored form of `envelope`, whose id, session and receivedAt must be set.
    public init(_ envelope: Envelope, dedupeKey: String? = nil) {
        precondition(!envelope.id.isEmpty && !envelope.session.isEmpty, "BUG: storing an envelope without id or session")
        id = envelope.id
        session = envelope.session
        self.dedupeKey = dedupeKey ?? envelope.dedupeKey
        receivedAt = envelope.receivedAt
        var json: [UInt8] = []
        json.reserveCapacity(256 + (envelope.text?.utf8.count ?? 0))
        envelope.appendJSON(to: &json)
        envelopeJSON = json
    }

    init(id: String, session: String, dedupeKey: String, receivedAt: EpochMillis, envelopeJSON: [UInt8]) {
        self.id = id
        self.session = session
        self.dedupeKey = dedupeKey
        self.receivedAt = receivedAt
        self.envelopeJSON = envelopeJSON
    }

    /// The envelope, parsed back from its stored JSON.
    public func envelope() throws -> Envelope {
        try Envelope.decodeStored(try JSON.parse(envelopeJSON))
    }
}

/// A conversation opened for one citizen of one channel account.
public struct SessionOpened: Sendable, Equatable {
    /// The session id ("s…").
    public var session: String
    /// Channel, account and citizen: the session's owner.
    public var channel: Channel
    public var account: String
    public var citizen: String
    /// When it opened (the first message's receivedAt).
    public var openedAt: EpochMillis

    /// A session-opened record.
    public init(session: String, channel: Channel, account: String, citizen: String, openedAt: EpochMillis) {
        self.session = session
        self.channel = channel
        self.account = account
        self.citizen = citizen
        self.openedAt = openedAt
    }
}

/// A session put into a queue to wait for an agent (a new session, a requeue after its agent
/// left, a reopened or reclassified one). Format 2 adds the requirements, the audit reason and
/// the emergency flag; format 1 records read as `[queue: 1]`, no reason.
public struct Enqueued: Sendable, Equatable {
    /// The waiting session.
    public var session: String
    /// The queue's name (a skill, or "general").
    public var queue: String
    /// Priority class 0–9.
    public var priority: Int
    /// The wait start (kept when a session is sent back to the queue).
    public var enqueuedAt: EpochMillis
    /// Skills an agent needs → minimum proficiency (empty: `[queue: 1]`).
    public var requirements: [String: Int]
    /// Why it was queued, for the audit trail ("new session; rule enterprise (keyword 企业)").
    public var reason: String
    /// The emergency class matched.
    public var emergency: Bool

    /// An enqueued record.
    public init(session: String, queue: String, priority: Int, enqueuedAt: EpochMillis, requirements: [String: Int] = [:],
                reason: String = "", emergency: Bool = false) {
        self.session = session
        self.queue = queue
        self.priority = priority
        self.enqueuedAt = enqueuedAt
        self.requirements = requirements
        self.reason = reason
        self.emergency = emergency
    }

    /// The requirements, `[queue: 1]` when none were recorded.
    public var effectiveRequirements: [String: Int] { requirements.isEmpty ? [queue: 1] : requirements }
}

/// A session offered to an agent: the audit line of the routing decision. After a restart the
/// offer is renewed (revoked, then offered again under a new id) to the same agent.
public struct Offered: Sendable, Equatable {
    public var session: String
    public var agent: String
    /// The router's offer id.
    public var offer: UInt64
    /// The routing reason ("best proficiency 4 among 3 eligible; …"); format 2.
    public var reason: String
    public init(session: String, agent: String, offer: UInt64, reason: String = "") {
        self.session = session
        self.agent = agent
        self.offer = offer
        self.reason = reason
    }
}

/// A session an agent accepted: it leaves its queue and is the agent's until closed, transferred
/// or requeued (a later `enqueued` record of the same session).
public struct Assigned: Sendable, Equatable {
    public var session: String
    public var agent: String
    /// When it was accepted (format 2; 0 in format 1).
    public var at: EpochMillis
    public init(session: String, agent: String, at: EpochMillis = 0) {
        self.session = session
        self.agent = agent
        self.at = at
    }
}

/// A session that ended: closed by its agent (with a disposition) or by the broker (inactivity).
/// The session is remembered for the reopen window (the citizen writing again reopens it).
public struct Closed: Sendable, Equatable {
    public var session: String
    /// The agent who held it ("" when nobody did).
    public var agent: String
    /// The agent's disposition text, as given (may be empty).
    public var disposition: String
    /// Why it closed: "closed by the agent", "inactive for 1800 s" (format 2).
    public var reason: String
    /// When (format 2; 0 in format 1).
    public var at: EpochMillis
    public init(session: String, agent: String, disposition: String, reason: String = "", at: EpochMillis = 0) {
        self.session = session
        self.agent = agent
        self.disposition = disposition
        self.reason = reason
        self.at = at
    }
}

/// One change of the broker's durable state (docs/STORAGE.md, "Broker records and state").
/// Type 9 (checkpoint) is reserved and not written.
public enum BrokerRecord: Sendable, Equatable {
    case messageReceived(StoredMessage)
    case sessionOpened(SessionOpened)
    case enqueued(Enqueued)
    case offered(Offered)
    case assigned(Assigned)
    case transferred(Transferred)
    case closed(Closed)
    case deliveryAcked(DeliveryAcked)
    case replied(Replied)
    case offerEnded(OfferEnded)
    case reopened(Reopened)
    case visitorRegistered(VisitorRegistered)
    case rated(Rated)
    case outboundQueued(OutboundQueued)
    case outboundDone(OutboundDone)
    case botStarted(BotStarted)
    case botDecided(BotDecided)

    static let formatVersion: UInt8 = 1
    static let formatVersion2: UInt8 = 2

    /// The record's type number in the log.
    public var type: BrokerRecordType {
        switch self {
        case .messageReceived: .messageReceived
        case .sessionOpened: .sessionOpened
        case .enqueued: .enqueued
        case .offered: .offered
        case .assigned: .assigned
        case .transferred: .transferred
        case .closed: .closed
        case .deliveryAcked: .deliveryAcked
        case .replied: .replied
        case .offerEnded: .offerEnded
        case .reopened: .reopened
        case .visitorRegistered: .visitorRegistered
        case .rated: .rated
        case .outboundQueued: .outboundQueued
        case .outboundDone: .outboundDone
        case .botStarted: .botStarted
        case .botDecided: .botDecided
        }
    }

    /// The payload bytes for the log.
    public func encoded() -> [UInt8] {
        var w: ByteWriter
        switch self {
        case .messageReceived(let m):
            w = ByteWriter(capacity: 64 + m.dedupeKey.utf8.count + m.envelopeJSON.count)
            w.u8(Self.formatVersion)
            w.string(m.id)
            w.string(m.session)
            w.string(m.dedupeKey)
            w.i64(m.receivedAt)
            w.blob(m.envelopeJSON)
        case .sessionOpened(let s):
            w = ByteWriter(capacity: 64 + s.account.utf8.count + s.citizen.utf8.count)
            w.u8(Self.formatVersion)
            w.string(s.session)
            w.string(s.channel.rawValue)
            w.string(s.account)
            w.string(s.citizen)
            w.i64(s.openedAt)
        case .enqueued(let e):
            w = ByteWriter(capacity: 64 + e.queue.utf8.count + e.reason.utf8.count + e.requirements.count * 16)
            w.u8(Self.formatVersion2)
            w.string(e.session)
            w.string(e.queue)
            w.u8(UInt8(e.priority))
            w.i64(e.enqueuedAt)
            w.requirements(e.requirements)
            w.string(e.reason)
            w.u8(e.emergency ? 1 : 0)
        case .offered(let o):
            w = ByteWriter(capacity: 40 + o.session.utf8.count + o.agent.utf8.count + o.reason.utf8.count)
            w.u8(Self.formatVersion2)
            w.string(o.session)
            w.string(o.agent)
            w.u64(o.offer)
            w.string(o.reason)
        case .assigned(let a):
            w = ByteWriter(capacity: 24 + a.session.utf8.count + a.agent.utf8.count)
            w.u8(Self.formatVersion2)
            w.string(a.session)
            w.string(a.agent)
            w.i64(a.at)
        case .transferred(let t):
            w = ByteWriter(capacity: 64 + t.reason.utf8.count + t.queue.utf8.count)
            w.u8(Self.formatVersion)
            w.string(t.session)
            w.string(t.from)
            w.string(t.toAgent)
            w.string(t.queue)
            w.requirements(t.requirements)
            w.string(t.reason)
            w.i64(t.at)
        case .closed(let c):
            w = ByteWriter(capacity: 40 + c.session.utf8.count + c.agent.utf8.count + c.disposition.utf8.count + c.reason.utf8.count)
            w.u8(Self.formatVersion2)
            w.string(c.session)
            w.string(c.agent)
            w.string(c.disposition)
            w.string(c.reason)
            w.i64(c.at)
        case .deliveryAcked(let d):
            w = ByteWriter(capacity: 16 + d.agent.utf8.count + d.acks.count * 28)
            w.u8(Self.formatVersion)
            w.string(d.agent)
            w.u32(UInt32(d.acks.count))
            for a in d.acks {
                w.string(a.session)
                w.u64(UInt64(a.upTo))
            }
        case .replied(let r):
            w = ByteWriter(capacity: 64 + r.text.utf8.count + r.clientId.utf8.count)
            w.u8(Self.formatVersion)
            w.string(r.session)
            w.string(r.id)
            w.u8(r.from.code)
            w.string(r.agent)
            w.string(r.text)
            w.string(r.clientId)
            w.i64(r.at)
        case .offerEnded(let o):
            w = ByteWriter(capacity: 40 + o.session.utf8.count + o.agent.utf8.count + o.cause.utf8.count)
            w.u8(Self.formatVersion)
            w.string(o.session)
            w.string(o.agent)
            w.u64(o.offer)
            w.string(o.cause)
            w.u8(o.excludes ? 1 : 0)
        case .reopened(let r):
            w = ByteWriter(capacity: 32 + r.session.utf8.count + r.reason.utf8.count)
            w.u8(Self.formatVersion)
            w.string(r.session)
            w.i64(r.at)
            w.string(r.reason)
        case .visitorRegistered(let v):
            w = ByteWriter(capacity: 32 + v.visitor.utf8.count + v.tokenHash.count)
            w.u8(Self.formatVersion)
            w.string(v.visitor)
            w.blob(v.tokenHash)
            w.i64(v.at)
        case .rated(let r):
            w = ByteWriter(capacity: 32 + r.session.utf8.count)
            w.u8(Self.formatVersion)
            w.string(r.session)
            w.u8(UInt8(r.score))
            w.i64(r.at)
        case .outboundQueued(let q):
            w = ByteWriter(capacity: 64 + q.text.utf8.count + q.citizen.utf8.count)
            w.u8(Self.formatVersion)
            q.write(to: &w)
        case .outboundDone(let d):
            w = ByteWriter(capacity: 32 + d.id.utf8.count)
            w.u8(Self.formatVersion)
            d.write(to: &w)
        case .botStarted(let b):
            w = ByteWriter(capacity: 64 + b.reason.utf8.count)
            b.encode(&w)
        case .botDecided(let d):
            w = ByteWriter(capacity: 64 + d.handOverJSON.utf8.count + d.reason.utf8.count)
            d.encode(&w)
        }
        return w.bytes
    }

    /// Decodes a record read from the log. `keepEnvelope: false` skips copying the envelope
    /// JSON of a message (replay does not need it).
    public static func decode(type: UInt8, payload: UnsafeRawBufferPointer, keepEnvelope: Bool = true) throws(BrokerCodecError) -> BrokerRecord {
        guard let t = BrokerRecordType(rawValue: type) else { throw BrokerCodecError("unknown record type \(type)") }
        var r = ByteReader(payload)
        if t == .botStarted || t == .botDecided {
            let record: BrokerRecord = t == .botStarted ? .botStarted(try BotStarted.decode(&r)) : .botDecided(try BotDecided.decode(&r))
            guard r.isAtEnd else { throw BrokerCodecError("record type \(type): \(payload.count - r.offset) trailing bytes") }
            return record
        }
        let version = try r.u8()
        let grew: Set<BrokerRecordType> = [.enqueued, .offered, .assigned, .closed]
        guard version == formatVersion || (version == formatVersion2 && grew.contains(t)) else {
            throw BrokerCodecError("record type \(type): unknown format \(version)")
        }
        let v2 = version == formatVersion2
        let record: BrokerRecord
        switch t {
        case .messageReceived:
            let id = try r.string(), session = try r.string(), key = try r.string(), at = try r.i64()
            let json = try r.blob()
            record = .messageReceived(StoredMessage(id: id, session: session, dedupeKey: key, receivedAt: at,
                                                    envelopeJSON: keepEnvelope ? Array(json) : []))
        case .sessionOpened:
            let session = try r.string(), channelName = try r.string()
            guard let channel = Channel(rawValue: channelName) else { throw BrokerCodecError("unknown channel '\(channelName)'") }
            record = .sessionOpened(SessionOpened(session: session, channel: channel, account: try r.string(),
                                                  citizen: try r.string(), openedAt: try r.i64()))
        case .enqueued:
            let session = try r.string(), queue = try r.string(), priority = Int(try r.u8())
            guard PriorityQueue<String>.priorities.contains(priority) else { throw BrokerCodecError("priority \(priority) out of range") }
            var e = Enqueued(session: session, queue: queue, priority: priority, enqueuedAt: try r.i64())
            if v2 {
                e.requirements = try r.requirements()
                e.reason = try r.string()
                e.emergency = try r.u8() != 0
            }
            record = .enqueued(e)
        case .offered:
            var o = Offered(session: try r.string(), agent: try r.string(), offer: try r.u64())
            if v2 { o.reason = try r.string() }
            record = .offered(o)
        case .assigned:
            var a = Assigned(session: try r.string(), agent: try r.string())
            if v2 { a.at = try r.i64() }
            record = .assigned(a)
        case .transferred:
            record = .transferred(Transferred(session: try r.string(), from: try r.string(), toAgent: try r.string(),
                                              queue: try r.string(), requirements: try r.requirements(),
                                              reason: try r.string(), at: try r.i64()))
        case .closed:
            var c = Closed(session: try r.string(), agent: try r.string(), disposition: try r.string())
            if v2 {
                c.reason = try r.string()
                c.at = try r.i64()
            }
            record = .closed(c)
        case .deliveryAcked:
            let agent = try r.string()
            let n = Int(try r.u32())
            guard n <= payload.count else { throw BrokerCodecError("deliveryAcked: \(n) entries in \(payload.count) bytes") }
            var acks: [DeliveryAcked.Ack] = []
            acks.reserveCapacity(n)
            for _ in 0..<n { acks.append(DeliveryAcked.Ack(session: try r.string(), upTo: Int(clamping: try r.u64()))) }
            record = .deliveryAcked(DeliveryAcked(agent: agent, acks: acks))
        case .replied:
            let session = try r.string(), id = try r.string()
            let code = try r.u8()
            guard let from = Replied.From(code: code) else { throw BrokerCodecError("replied: unknown sender \(code)") }
            record = .replied(Replied(session: session, id: id, from: from, agent: try r.string(), text: try r.string(),
                                      clientId: try r.string(), at: try r.i64()))
        case .offerEnded:
            record = .offerEnded(OfferEnded(session: try r.string(), agent: try r.string(), offer: try r.u64(),
                                            cause: try r.string(), excludes: try r.u8() != 0))
        case .reopened:
            record = .reopened(Reopened(session: try r.string(), at: try r.i64(), reason: try r.string()))
        case .visitorRegistered:
            let visitor = try r.string()
            let hash = Array(try r.blob())
            record = .visitorRegistered(VisitorRegistered(visitor: visitor, tokenHash: hash, at: try r.i64()))
        case .rated:
            let session = try r.string(), score = Int(try r.u8())
            guard (1...5).contains(score) else { throw BrokerCodecError("rated: score \(score) outside 1-5") }
            record = .rated(Rated(session: session, score: score, at: try r.i64()))
        case .outboundQueued:
            record = .outboundQueued(try OutboundQueued.read(&r))
        case .outboundDone:
            record = .outboundDone(try OutboundDone.read(&r))
        case .botStarted, .botDecided:
            preconditionFailure("BUG: bot records are decoded above")
        case .checkpoint:
            throw BrokerCodecError("record type \(type) (\(t)) is reserved and not written by this version")
        }
        guard r.isAtEnd else { throw BrokerCodecError("record type \(type): \(payload.count - r.offset) trailing bytes") }
        return record
    }
}

extension ByteWriter {
    /// Requirements as u32 n, then n × (skill, u8 proficiency), sorted by skill (deterministic bytes).
    mutating func requirements(_ reqs: [String: Int]) {
        u32(UInt32(reqs.count))
        for (skill, level) in reqs.sorted(by: { $0.key < $1.key }) {
            string(skill)
            u8(UInt8(clamping: level))
        }
    }
}

extension ByteReader {
    /// What `ByteWriter.requirements` wrote; proficiencies must be 1–5.
    mutating func requirements() throws(BrokerCodecError) -> [String: Int] {
        let n = Int(try u32())
        guard n <= 64 else { throw BrokerCodecError("\(n) required skills (at most 64)") }
        var out: [String: Int] = [:]
        for _ in 0..<n {
            let skill = try string(), level = Int(try u8())
            guard (1...5).contains(level) else { throw BrokerCodecError("proficiency \(level) of \(skill) outside 1-5") }
            out[skill] = level
        }
        return out
    }
}
