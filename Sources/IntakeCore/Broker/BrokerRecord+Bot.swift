// IntakeCore/Broker: the FAQ bot as a virtual agent in the durable state: the records that give
// a session to the bot and report each of its decisions (docs/STORAGE.md, "Record types" 20, 21),
// the per-session bot state they build, and their codec and snapshot section. Value types; any
// thread. The bot itself (scoring) is not here: the core thread asks it off-thread and records
// the outcome with these records, so replay never scores anything.

/// A session given to the bot instead of the queue, with the classification it had, so a
/// hand-over enqueues it exactly as a new session would have been.
public struct BotStarted: Sendable, Equatable {
    public var session: String
    /// The classification: queue, priority class and requirements.
    public var queue: String
    public var priority: Int
    public var requirements: [String: Int]
    /// Audit text: "new session; bot enabled for web; rule …".
    public var reason: String
    public var at: EpochMillis

    /// A botStarted record.
    public init(session: String, queue: String, priority: Int, requirements: [String: Int] = [:], reason: String, at: EpochMillis) {
        self.session = session
        self.queue = queue
        self.priority = priority
        self.requirements = requirements
        self.reason = reason
        self.at = at
    }
}

/// The bot's decision about the citizen messages of a bot session up to `upTo` (their `seq`).
public struct BotDecided: Sendable, Equatable {
    public var session: String
    /// The newest citizen message (seq) this decision covers.
    public var upTo: Int
    /// True: answered from the knowledge base; false: handed over to people (an `enqueued`
    /// record follows in the same batch).
    public var answered: Bool
    /// The knowledge-base entry answered with, or the top candidate ("" when none).
    public var entry: String
    /// The calibrated P(right) of the top candidate.
    public var confidence: Double
    /// "answered" or the hand-over reason (lowConfidence, askedForPerson, emergency, complaint, tooManyTurns).
    public var reason: String
    /// On hand-over: `{"reason","suggestions":[{id,question,answer,score}],"transcript":[{from,text}]}`
    /// as shown to agents in `offer` and `assigned` frames; "" when answered.
    public var handOverJSON: String
    /// The id of the bot's `replied` record that already reached the citizen as a WeChat passive
    /// reply ("" when none): channel senders must not send it again (docs/PROTOCOL.md, "WeChat").
    public var passiveReply: String
    public var at: EpochMillis

    /// A botDecided record.
    public init(session: String, upTo: Int, answered: Bool, entry: String, confidence: Double, reason: String,
                handOverJSON: String = "", passiveReply: String = "", at: EpochMillis) {
        self.session = session
        self.upTo = upTo
        self.answered = answered
        self.entry = entry
        self.confidence = confidence
        self.reason = reason
        self.handOverJSON = handOverJSON
        self.passiveReply = passiveReply
        self.at = at
    }
}

/// A session with the bot, as the state keeps it until a hand-over (`enqueued`) or a close.
public struct BotSession: Sendable, Equatable {
    /// The classification a hand-over enqueues it with.
    public var queue: String
    public var priority: Int
    public var requirements: [String: Int]
    /// Why it went to the bot (audit).
    public var reason: String
    public var startedAt: EpochMillis
    /// The newest citizen message (seq) the bot decided on; messages after it await a decision
    /// (after a restart the core asks the bot again).
    public var decidedUpTo: Int
    /// Answers given (the bot hands over after `maxTurns` citizen messages).
    public var turns: Int

    /// A bot session.
    public init(queue: String, priority: Int, requirements: [String: Int], reason: String, startedAt: EpochMillis,
                decidedUpTo: Int = 0, turns: Int = 0) {
        self.queue = queue
        self.priority = priority
        self.requirements = requirements
        self.reason = reason
        self.startedAt = startedAt
        self.decidedUpTo = decidedUpTo
        self.turns = turns
    }
}

extension BotStarted {
    func encode(_ w: inout ByteWriter) {
        w.u8(BrokerRecord.formatVersion)
        w.string(session)
        w.string(queue)
        w.u8(UInt8(priority))
        w.requirements(requirements)
        w.string(reason)
        w.i64(at)
    }

    static func decode(_ r: inout ByteReader) throws(BrokerCodecError) -> BotStarted {
        let version = try r.u8()
        guard version == BrokerRecord.formatVersion else { throw BrokerCodecError("botStarted: unknown format \(version)") }
        let session = try r.string(), queue = try r.string(), priority = Int(try r.u8())
        guard PriorityQueue<String>.priorities.contains(priority) else { throw BrokerCodecError("priority \(priority) out of range") }
        return BotStarted(session: session, queue: queue, priority: priority, requirements: try r.requirements(),
                          reason: try r.string(), at: try r.i64())
    }
}

extension BotDecided {
    func encode(_ w: inout ByteWriter) {
        w.u8(BrokerRecord.formatVersion)
        w.string(session)
        w.u64(UInt64(upTo))
        w.u8(answered ? 1 : 0)
        w.string(entry)
        w.u64(confidence.bitPattern)
        w.string(reason)
        w.string(handOverJSON)
        w.string(passiveReply)
        w.i64(at)
    }

    static func decode(_ r: inout ByteReader) throws(BrokerCodecError) -> BotDecided {
        let version = try r.u8()
        guard version == BrokerRecord.formatVersion else { throw BrokerCodecError("botDecided: unknown format \(version)") }
        let session = try r.string(), upTo = Int(clamping: try r.u64()), answered = try r.u8() != 0
        let entry = try r.string(), confidence = Double(bitPattern: try r.u64())
        return BotDecided(session: session, upTo: upTo, answered: answered, entry: entry, confidence: confidence,
                          reason: try r.string(), handOverJSON: try r.string(), passiveReply: try r.string(), at: try r.i64())
    }
}

extension BrokerState {
    /// Applies the bot's records (called by `apply`).
    mutating func applyBot(_ record: BrokerRecord) {
        switch record {
        case .botStarted(let b):
            guard sessions[b.session] != nil else { return }
            _ = queues.remove(b.session)
            botSessions[b.session] = BotSession(queue: b.queue, priority: b.priority, requirements: b.requirements,
                                                reason: b.reason, startedAt: b.at)
            if var s = sessions[b.session] {
                s.requirements = b.requirements
                sessions[b.session] = s
            }
        case .botDecided(let d):
            guard var b = botSessions[d.session] else { return }
            b.decidedUpTo = max(b.decidedUpTo, d.upTo)
            if d.answered { b.turns += 1 }
            botSessions[d.session] = b
            if !d.answered, !d.handOverJSON.isEmpty { botHandOvers[d.session] = d.handOverJSON }
        default:
            break
        }
    }

    /// The bot section of a snapshot (version 4).
    func writeBotSection(_ w: inout ByteWriter) {
        w.u32(UInt32(botSessions.count))
        for (session, b) in botSessions.sorted(by: { $0.key < $1.key }) {
            w.string(session)
            w.string(b.queue)
            w.u8(UInt8(b.priority))
            w.requirements(b.requirements)
            w.string(b.reason)
            w.i64(b.startedAt)
            w.u64(UInt64(b.decidedUpTo))
            w.u64(UInt64(b.turns))
        }
        w.u32(UInt32(botHandOvers.count))
        for (session, json) in botHandOvers.sorted(by: { $0.key < $1.key }) {
            w.string(session)
            w.string(json)
        }
    }

    mutating func readBotSection(_ r: inout ByteReader) throws(BrokerCodecError) {
        for _ in 0..<Int(try r.u32()) {
            let session = try r.string(), queue = try r.string(), priority = Int(try r.u8())
            let requirements = try r.requirements(), reason = try r.string(), at = try r.i64()
            botSessions[session] = BotSession(queue: queue, priority: priority, requirements: requirements, reason: reason,
                                              startedAt: at, decidedUpTo: Int(clamping: try r.u64()), turns: Int(clamping: try r.u64()))
        }
        for _ in 0..<Int(try r.u32()) {
            let session = try r.string()
            botHandOvers[session] = try r.string()
        }
    }
}
