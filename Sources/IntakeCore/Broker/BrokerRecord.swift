// IntakeCore/Broker: the broker's log records, one per state change that must survive a
// restart, and their binary codec. Value types; any thread. The type numbers are stable and
// listed in docs/STORAGE.md ("Record types"); a new kind of change gets a new number.
//
// Payloads start with a format byte (1), then fixed fields, little-endian, strings as u32
// length + UTF-8. `messageReceived` carries the fields replay needs first and the envelope's
// stored JSON last, so replay never parses JSON and export reads the message exactly as stored.
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

/// A session put into a queue to wait for an agent.
public struct Enqueued: Sendable, Equatable {
    /// The waiting session.
    public var session: String
    /// The queue's name (a skill, or "general").
    public var queue: String
    /// Priority class 0–9.
    public var priority: Int
    /// The wait start (kept when a session is sent back to the queue).
    public var enqueuedAt: EpochMillis

    /// An enqueued record.
    public init(session: String, queue: String, priority: Int, enqueuedAt: EpochMillis) {
        self.session = session
        self.queue = queue
        self.priority = priority
        self.enqueuedAt = enqueuedAt
    }
}

/// A session offered to an agent (audit; replay changes nothing: after a restart the session
/// is routed again from its queue).
public struct Offered: Sendable, Equatable {
    public var session: String
    public var agent: String
    /// The router's offer id.
    public var offer: UInt64
    public init(session: String, agent: String, offer: UInt64) {
        self.session = session
        self.agent = agent
        self.offer = offer
    }
}

/// A session an agent accepted: it leaves its queue and is the agent's until closed or requeued
/// (a later `enqueued` record of the same session).
public struct Assigned: Sendable, Equatable {
    public var session: String
    public var agent: String
    public init(session: String, agent: String) {
        self.session = session
        self.agent = agent
    }
}

/// A session the agent closed: it is forgotten (the citizen's next message opens a new one).
public struct Closed: Sendable, Equatable {
    public var session: String
    public var agent: String
    /// The agent's disposition text, as given (may be empty).
    public var disposition: String
    public init(session: String, agent: String, disposition: String) {
        self.session = session
        self.agent = agent
        self.disposition = disposition
    }
}

/// One change of the broker's durable state. Transferred and deliveryAcked are reserved in
/// `BrokerRecordType` and not written yet.
public enum BrokerRecord: Sendable, Equatable {
    case messageReceived(StoredMessage)
    case sessionOpened(SessionOpened)
    case enqueued(Enqueued)
    case offered(Offered)
    case assigned(Assigned)
    case closed(Closed)

    static let formatVersion: UInt8 = 1

    /// The record's type number in the log.
    public var type: BrokerRecordType {
        switch self {
        case .messageReceived: .messageReceived
        case .sessionOpened: .sessionOpened
        case .enqueued: .enqueued
        case .offered: .offered
        case .assigned: .assigned
        case .closed: .closed
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
            w = ByteWriter(capacity: 48 + e.queue.utf8.count)
            w.u8(Self.formatVersion)
            w.string(e.session)
            w.string(e.queue)
            w.u8(UInt8(e.priority))
            w.i64(e.enqueuedAt)
        case .offered(let o):
            w = ByteWriter(capacity: 32 + o.session.utf8.count + o.agent.utf8.count)
            w.u8(Self.formatVersion)
            w.string(o.session)
            w.string(o.agent)
            w.u64(o.offer)
        case .assigned(let a):
            w = ByteWriter(capacity: 16 + a.session.utf8.count + a.agent.utf8.count)
            w.u8(Self.formatVersion)
            w.string(a.session)
            w.string(a.agent)
        case .closed(let c):
            w = ByteWriter(capacity: 24 + c.session.utf8.count + c.agent.utf8.count + c.disposition.utf8.count)
            w.u8(Self.formatVersion)
            w.string(c.session)
            w.string(c.agent)
            w.string(c.disposition)
        }
        return w.bytes
    }

    /// Decodes a record read from the log. `keepEnvelope: false` skips copying the envelope
    /// JSON of a message (replay does not need it).
    public static func decode(type: UInt8, payload: UnsafeRawBufferPointer, keepEnvelope: Bool = true) throws(BrokerCodecError) -> BrokerRecord {
        guard let t = BrokerRecordType(rawValue: type) else { throw BrokerCodecError("unknown record type \(type)") }
        var r = ByteReader(payload)
        let version = try r.u8()
        guard version == formatVersion else { throw BrokerCodecError("record type \(type): unknown format \(version)") }
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
            record = .enqueued(Enqueued(session: session, queue: queue, priority: priority, enqueuedAt: try r.i64()))
        case .offered:
            record = .offered(Offered(session: try r.string(), agent: try r.string(), offer: try r.u64()))
        case .assigned:
            record = .assigned(Assigned(session: try r.string(), agent: try r.string()))
        case .closed:
            record = .closed(Closed(session: try r.string(), agent: try r.string(), disposition: try r.string()))
        case .transferred, .deliveryAcked, .checkpoint:
            throw BrokerCodecError("record type \(type) (\(t)) is reserved and not written by this version")
        }
        guard r.isAtEnd else { throw BrokerCodecError("record type \(type): \(payload.count - r.offset) trailing bytes") }
        return record
    }
}
