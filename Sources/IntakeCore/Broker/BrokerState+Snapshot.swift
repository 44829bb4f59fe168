// IntakeCore/Broker: the snapshot payload of the whole BrokerState (docs/STORAGE.md, "Broker
// state snapshot"). Encoding runs on a background thread over a copy of the state; decoding runs
// once at start-up. Binary, little-endian, no JSON, so 1,000,000 messages' worth loads fast.

extension BrokerState {
    static let snapshotMagic: UInt32 = 0x5453_4249  // "IBST"
    static let snapshotVersion: UInt8 = 2  // 2 adds the assignments; 1 is still read

    /// The state as a snapshot payload.
    public func snapshotPayload() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + dedupe.count * 72 + sessions.count * 80)
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
            w.string(s.id)
            w.u8(Self.channelCode(s.channel))
            w.string(s.account)
            w.string(s.citizen)
            w.i64(s.openedAt)
            w.u64(UInt64(s.messages))
            w.string(s.lastMessage)
        }
        w.u32(UInt32(dedupe.count))
        for (key, e) in dedupe {
            w.string(key)
            w.string(e.message)
            // A session unknown here cannot happen on the live path; keep it by name anyway.
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
        }
        return w.bytes
    }

    /// The state a snapshot payload describes.
    public static func fromSnapshot(_ payload: [UInt8]) throws(BrokerCodecError) -> BrokerState {
        let result = payload.withUnsafeBytes { raw in Result { () throws(BrokerCodecError) in try decode(raw) } }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer) throws(BrokerCodecError) -> BrokerState {
        var r = ByteReader(raw)
        guard try r.u32() == snapshotMagic else { throw BrokerCodecError("not a broker state snapshot (bad magic)") }
        let version = try r.u8()
        guard version == 1 || version == snapshotVersion else { throw BrokerCodecError("unknown broker snapshot version \(version)") }
        let messageIDs = try generator("m", &r)
        let sessionIDs = try generator("s", &r)
        let messageCount = try count(&r, "message count")

        // Counts come from the file: reserve no more than its remaining bytes could hold (a
        // session takes at least 33 bytes, a dedupe entry 12), so a damaged count is a
        // truncation error, not a huge allocation.
        let sessionCount = Int(try r.u32())
        var sessions: [String: BrokerSession] = [:]
        sessions.reserveCapacity(min(sessionCount, (raw.count - r.offset) / 33))
        var ids: [String] = []
        ids.reserveCapacity(min(sessionCount, (raw.count - r.offset) / 33))
        for _ in 0..<sessionCount {
            let id = try r.string()
            let channel = try channel(code: try r.u8())
            let s = BrokerSession(id: id, channel: channel, account: try r.string(), citizen: try r.string(),
                                  openedAt: try r.i64(), messages: try count(&r, "message count of session \(id)"),
                                  lastMessage: try r.string())
            sessions[id] = s
            ids.append(id)
        }
        let dedupeCount = Int(try r.u32())
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
        var assignments: [String: SessionAssignment] = [:]
        var lastOfferID: UInt64 = 0
        if version >= 2 {
            lastOfferID = try r.u64()
            for _ in 0..<Int(try r.u32()) {
                let session = try r.string(), agent = try r.string(), queue = try r.string()
                let priority = Int(try r.u8()), at = try r.i64()
                // A requeue puts the session back with this priority: PriorityQueue takes 0...9 only.
                guard PriorityQueue<String>.priorities.contains(priority) else { throw BrokerCodecError("priority \(priority) out of range") }
                assignments[session] = SessionAssignment(agent: agent, queue: queue, priority: priority, enqueuedAt: at)
            }
        }
        guard r.isAtEnd else { throw BrokerCodecError("\(raw.count - r.offset) trailing bytes after the broker state") }
        var state = BrokerState()
        state.restore(dedupe: dedupe, sessions: sessions, queues: queues, messageIDs: messageIDs, sessionIDs: sessionIDs,
                      messageCount: messageCount, assignments: assignments,
                      lastOfferID: lastOfferID)
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
