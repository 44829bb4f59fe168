// IntakeCore/Broker: the snapshot payload of the whole BrokerState (docs/STORAGE.md, "Broker
// state snapshot"). Encoding runs on a background thread over a copy of the state; decoding runs
// once at start-up. Binary, little-endian, no JSON, so 1,000,000 messages' worth loads fast.

extension BrokerState {
    static let snapshotMagic: UInt32 = 0x5453_4249  // "IBST"
    /// 2 added the assignments; 3 the conversation and routing state (sessions' requirements,
    /// replies and cursors, closed sessions, offers, exclusions, last agents, visitors,
    /// histories); 4 the outbox of replies to deliver; 5 the bot's sessions and hand-overs.
    /// Versions 1 to 4 are still read.
    static let snapshotVersion: UInt8 = 5

    /// The state as a snapshot payload.
    public func snapshotPayload() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + dedupe.count * 72 + sessions.count * 96 + historyBytes + histories.count * 16)
        w.u32(Self.snapshotMagic)
        w.u8(Self.snapshotVersion)
        for g in [messageIDs, sessionIDs] {
            w.i64(g.lastMillis)
            w.u32(g.counter)
        }
        w.u64(UInt64(messageCount))

        // Sessions, numbered in the order written; dedupe entries refer to them by number.
        var number: [String: UInt32] = [:]
        number.reserveCapacity(sessions.count)
        w.u32(UInt32(sessions.count))
        for s in sessions.values {
            number[s.id] = UInt32(number.count)
            Self.write(s, to: &w)
        }
        w.u32(UInt32(dedupe.count))
        for (key, e) in dedupe {
            w.string(key)
            w.string(e.message)
            // Closed sessions' entries (and a session unknown here) are kept by name.
            if let n = number[e.session] { w.u32(n) } else { w.u32(UInt32.max); w.string(e.session) }
        }
        let names = queues.queueNames
        w.u32(UInt32(names.count))
        for name in names {
            let q = queues[queue: name]!
            w.string(name)
            w.i64(q.starvationLimitMillis ?? -1)
            let entries = q.entriesInInsertionOrder()
            w.u32(UInt32(entries.count))
            for e in entries {
                w.string(e.id)
                w.u8(UInt8(e.priority))
                w.i64(e.enqueuedAt)
            }
        }
        w.u64(lastOfferID)
        w.u32(UInt32(assignments.count))
        for (session, a) in assignments.sorted(by: { $0.key < $1.key }) {
            w.string(session)
            w.string(a.agent)
            w.string(a.queue)
            w.u8(UInt8(a.priority))
            w.i64(a.enqueuedAt)
            w.i64(a.assignedAt)
        }
        // Version 3.
        w.u32(UInt32(recentlyClosed.count))
        for c in recentlyClosed.values {
            Self.write(c.session, to: &w)
            w.i64(c.closedAt)
            w.string(c.agent)
        }
        w.u32(UInt32(pendingOffers.count))
        for (session, o) in pendingOffers {
            w.string(session)
            w.string(o.agent)
            w.u64(o.offer)
        }
        w.u32(UInt32(exclusions.count))
        for (session, agents) in exclusions {
            w.string(session)
            w.u32(UInt32(agents.count))
            for a in agents { w.string(a) }
        }
        w.u32(UInt32(lastAgents.count))
        for (owner, l) in lastAgents {
            w.string(owner)
            w.string(l.agent)
            w.i64(l.at)
        }
        w.u32(UInt32(visitors.count))
        for (visitor, v) in visitors {
            w.string(visitor)
            w.blob(v.tokenHash)
            w.i64(v.seenAt)
        }
        w.u32(UInt32(histories.count))
        for (session, h) in histories {
            w.string(session)
            w.u32(UInt32(h.items.count))
            for item in h.items {
                w.u64(UInt64(item.seq))
                w.blob(item.json)
            }
        }
        // Version 4.
        writeOutbound(to: &w)
        // Version 5.
        writeBotSection(&w)
        return w.bytes
    }

    /// The state a snapshot payload describes, with `settings` (which are not stored).
    public static func fromSnapshot(_ payload: [UInt8], settings: BrokerSettings = BrokerSettings()) throws(BrokerCodecError) -> BrokerState {
        let result = payload.withUnsafeBytes { raw in Result { () throws(BrokerCodecError) in try decode(raw, settings: settings) } }
        return try result.get()
    }

    private static func write(_ s: BrokerSession, to w: inout ByteWriter) {
        w.string(s.id)
        w.u8(Self.channelCode(s.channel))
        w.string(s.account)
        w.string(s.citizen)
        w.i64(s.openedAt)
        w.u64(UInt64(s.messages))
        w.string(s.lastMessage)
        w.requirements(s.requirements)
        w.u64(UInt64(s.replies))
        w.u64(UInt64(s.deliveredUpTo))
        w.i64(s.lastActivityAt)
        w.u8(s.emergency ? 1 : 0)
        w.u32(UInt32(s.replyIDs.count))
        for (clientId, id) in s.replyIDs.sorted(by: { $0.key < $1.key }) {
            w.string(clientId)
            w.string(id)
        }
    }

    private static func readSession(_ r: inout ByteReader, version: UInt8) throws(BrokerCodecError) -> BrokerSession {
        let id = try r.string()
        let channel = try channel(code: try r.u8())
        var s = BrokerSession(id: id, channel: channel, account: try r.string(), citizen: try r.string(),
                              openedAt: try r.i64(), messages: try count(&r, "message count of session \(id)"),
                              lastMessage: try r.string())
        if version >= 3 {
            s.requirements = try r.requirements()
            s.replies = Int(clamping: try r.u64())
            s.deliveredUpTo = Int(clamping: try r.u64())
            s.lastActivityAt = try r.i64()
            s.emergency = try r.u8() != 0
            for _ in 0..<Int(try r.u32()) {
                let clientId = try r.string()
                s.replyIDs[clientId] = try r.string()
            }
        }
        return s
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, settings: BrokerSettings) throws(BrokerCodecError) -> BrokerState {
        var r = ByteReader(raw)
        guard try r.u32() == snapshotMagic else { throw BrokerCodecError("not a broker state snapshot (bad magic)") }
        let version = try r.u8()
        guard (1...snapshotVersion).contains(version) else { throw BrokerCodecError("unknown broker snapshot version \(version)") }
        var state = BrokerState(settings: settings)
        state.messageIDs = try generator("m", &r)
        state.sessionIDs = try generator("s", &r)
        state.messageCount = try count(&r, "message count")

        // Counts come from the file: reserve no more than its remaining bytes could hold (a
        // session takes at least 33 bytes, a dedupe entry 12), so a damaged count is a
        // truncation error, not a huge allocation.
        let sessionCount = Int(try r.u32())
        guard sessionCount <= raw.count else { throw BrokerCodecError("\(sessionCount) sessions in \(raw.count) bytes") }
        var sessions: [String: BrokerSession] = [:]
        sessions.reserveCapacity(min(sessionCount, (raw.count - r.offset) / 33))
        var ids: [String] = []
        ids.reserveCapacity(min(sessionCount, (raw.count - r.offset) / 33))
        for _ in 0..<sessionCount {
            let s = try readSession(&r, version: version)
            sessions[s.id] = s
            ids.append(s.id)
        }
        let dedupeCount = Int(try r.u32())
        guard dedupeCount <= raw.count else { throw BrokerCodecError("\(dedupeCount) dedupe entries in \(raw.count) bytes") }
        var dedupe: [String: DedupeEntry] = [:]
        dedupe.reserveCapacity(min(dedupeCount, (raw.count - r.offset) / 12))
        for _ in 0..<dedupeCount {
            let key = try r.string(), message = try r.string(), n = try r.u32()
            let session: String
            if n == UInt32.max {
                session = try r.string()
            } else {
                guard Int(n) < ids.count else { throw BrokerCodecError("dedupe entry refers to session #\(n) of \(ids.count)") }
                session = ids[Int(n)]
            }
            dedupe[key] = DedupeEntry(message: message, session: session)
        }
        var queues = QueueSet<String>(defaultStarvationLimitMillis: starvationLimitMillis)
        let queueCount = Int(try r.u32())
        for _ in 0..<queueCount {
            let name = try r.string()
            let limit = try r.i64()
            queues.addQueue(name, starvationLimitMillis: limit < 0 ? nil : limit)
            let n = Int(try r.u32())
            for _ in 0..<n {
                let id = try r.string(), priority = Int(try r.u8()), at = try r.i64()
                guard PriorityQueue<String>.priorities.contains(priority) else { throw BrokerCodecError("priority \(priority) out of range") }
                guard queues.push(id, queue: name, priority: priority, enqueuedAt: at) else {
                    throw BrokerCodecError("session \(id) is queued twice")
                }
            }
        }
        if version >= 2 {
            state.lastOfferID = try r.u64()
            for _ in 0..<Int(try r.u32()) {
                let session = try r.string(), agent = try r.string(), queue = try r.string()
                let priority = Int(try r.u8()), at = try r.i64()
                // A requeue puts the session back with this priority: PriorityQueue takes 0...9 only.
                guard PriorityQueue<String>.priorities.contains(priority) else { throw BrokerCodecError("priority \(priority) out of range") }
                let assignedAt = version >= 3 ? try r.i64() : 0
                state.assignments[session] = SessionAssignment(agent: agent, queue: queue, priority: priority, enqueuedAt: at,
                                                               assignedAt: assignedAt)
            }
        }
        if version >= 3 {
            for _ in 0..<Int(try r.u32()) {
                let s = try readSession(&r, version: version)
                let closedAt = try r.i64(), agent = try r.string()
                state.recentlyClosed[s.id] = ClosedSession(session: s, closedAt: closedAt, agent: agent)
                state.closedByOwner[s.owner] = s.id
            }
            for _ in 0..<Int(try r.u32()) {
                let session = try r.string()
                state.pendingOffers[session] = PendingOffer(agent: try r.string(), offer: try r.u64())
            }
            for _ in 0..<Int(try r.u32()) {
                let session = try r.string()
                var agents: [String] = []
                for _ in 0..<Int(try r.u32()) { agents.append(try r.string()) }
                state.exclusions[session] = agents
            }
            for _ in 0..<Int(try r.u32()) {
                let owner = try r.string()
                state.lastAgents[owner] = LastAgent(agent: try r.string(), at: try r.i64())
            }
            for _ in 0..<Int(try r.u32()) {
                let visitor = try r.string()
                let hash = Array(try r.blob())
                state.visitors[visitor] = VisitorEntry(tokenHash: hash, seenAt: try r.i64())
                state.visitorByToken[hash] = visitor
            }
            for _ in 0..<Int(try r.u32()) {
                let session = try r.string()
                var h = SessionHistory()
                for _ in 0..<Int(try r.u32()) {
                    let seq = Int(clamping: try r.u64())
                    let json = Array(try r.blob())
                    h.items.append(SessionHistory.Item(seq: seq, json: json))
                    h.bytes += json.count
                }
                state.histories[session] = h
                state.historyBytes += h.bytes
            }
        }
        if version >= 4 { try state.readOutbound(&r) }
        if version >= 5 { try state.readBotSection(&r) }
        guard r.isAtEnd else { throw BrokerCodecError("\(raw.count - r.offset) trailing bytes after the broker state") }
        state.dedupe = dedupe
        state.sessions = sessions
        state.queues = queues
        state.reindexOpenSessions()
        return state
    }

    /// A u64 message count. Counts grow by one per message, so one at 2^62 or beyond cannot
    /// come from a broker; refusing it keeps `Int(…)` and the next `+= 1` from trapping.
    private static func count(_ r: inout ByteReader, _ what: String) throws(BrokerCodecError) -> Int {
        let at = r.offset
        let n = try r.u64()
        guard n < 1 << 62 else { throw BrokerCodecError("\(what) \(n) out of range at byte \(at)") }
        return Int(n)
    }

    /// An id generator's two parts, within what its ids can hold (10 base-32 digits of time, a
    /// counter below 2^20): the next id it makes must be writable.
    private static func generator(_ prefix: Character, _ r: inout ByteReader) throws(BrokerCodecError) -> IDGenerator {
        let at = r.offset
        let lastMillis = try r.i64(), counter = try r.u32()
        guard lastMillis >= 0 && lastMillis < 1 << 50 && counter < IDGenerator.counterLimit else {
            throw BrokerCodecError("\(prefix) id generator (\(lastMillis), \(counter)) out of range at byte \(at)")
        }
        return IDGenerator(prefix: prefix, lastMillis: lastMillis, counter: counter)
    }

    // Stable codes, independent of the order of `Channel`'s cases.
    static func channelCode(_ c: Channel) -> UInt8 {
        switch c {
        case .web: 0
        case .wechat: 1
        case .app: 2
        case .phone: 3
        }
    }

    static func channel(code: UInt8) throws(BrokerCodecError) -> Channel {
        switch code {
        case 0: .web
        case 1: .wechat
        case 2: .app
        case 3: .phone
        default: throw BrokerCodecError("unknown channel code \(code)")
        }
    }
}
