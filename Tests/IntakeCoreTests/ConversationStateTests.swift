// BrokerState's conversation and routing records: reopen window, replies (idempotent per
// clientId), delivery cursors, offers that ended (exclusions), transfers, escalation by an
// emergency in a waiting session's first messages, bounded histories, the router snapshot the
// log describes, and a seeded random mix of every record: live = snapshot + replay = replay.
import Testing
import IntakeCore
import IntakeJSON

@Suite(.timeLimit(.minutes(5)))
struct ConversationStateTests {
    func envelope(_ cmid: String, citizen: String = "u1", text: String? = nil) -> Envelope {
        Envelope(channel: .app, account: "cityapp", channelMessageId: cmid, citizen: citizen, kind: .text, text: text ?? "text " + cmid)
    }

    func accepted(_ d: IngestDecision) throws -> (DedupeEntry, [BrokerRecord]) {
        guard case let .accepted(e, records) = d else { throw TestFailure("expected an accepted message, got \(d)") }
        return (e, records)
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    func roundTrip(_ r: BrokerRecord) throws -> BrokerRecord {
        let bytes = r.encoded()
        return try bytes.withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
    }

    @Test func aCitizenWritingWithinTheReopenWindowReopensTheSession() throws {
        var s = BrokerState()
        let (first, _) = try accepted(s.ingest(envelope("a"), now: 1_000))
        s.apply(.assigned(Assigned(session: first.session, agent: "a1", at: 2_000)))
        s.apply(.closed(Closed(session: first.session, agent: "a1", disposition: "resolved", reason: "closed by the agent", at: 5_000)))
        #expect(s.sessions[first.session] == nil && s.recentlyClosed[first.session] != nil)
        let (again, records) = try accepted(s.ingest(envelope("b"), now: 5_000 + 9 * 60_000))
        #expect(again.session == first.session)
        #expect(records.map(\.type) == [.reopened, .messageReceived, .enqueued])
        guard case .reopened(let r) = records[0], case .enqueued(let e) = records[2] else { throw TestFailure("records") }
        #expect(r.reason == "the citizen wrote again 540 s after the close (reopen window 600 s)")
        #expect(e.reason.hasPrefix("reopened; ") && e.enqueuedAt == 5_000 + 9 * 60_000)
        #expect(s.sessions[first.session]?.messages == 2 && s.queues.contains(first.session))
        #expect(s.lastAgents[s.sessions[first.session]!.owner] == LastAgent(agent: "a1", at: 5_000))
        // Closed again, and the citizen writes after the window: a new session.
        s.apply(.closed(Closed(session: first.session, agent: "", disposition: "", at: 10 * 60_000)))
        let (late, lateRecords) = try accepted(s.ingest(envelope("c"), now: 20 * 60_000 + 1))
        #expect(late.session != first.session && lateRecords.first?.type == .sessionOpened)
        #expect(s.recentlyClosed[first.session] == nil)
    }

    @Test func repliesAreIdempotentPerClientIdAndJoinTheHistory() throws {
        var s = BrokerState()
        let (m, _) = try accepted(s.ingest(envelope("a"), now: 1_000))
        guard case .accepted(let r) = s.reply(session: m.session, from: .agent, agent: "a1", text: "您好", clientId: "c1", now: 2_000) else {
            throw TestFailure("reply")
        }
        #expect(r.id > m.message && r.id.hasPrefix("m"))
        #expect(s.reply(session: m.session, from: .agent, agent: "a1", text: "again", clientId: "c1", now: 3_000) == .duplicate(id: r.id))
        #expect(s.reply(session: "s-none", from: .agent, agent: "a1", text: "x", clientId: "c2", now: 3_000) == .unknownSession)
        #expect(try roundTrip(.replied(r)) == .replied(r))
        let items = s.histories[m.session]!.items
        #expect(items.map(\.seq) == [1, 0])
        let reply = try JSON.parse(items[1].json)
        #expect(reply["from"]?.stringValue == "agent" && reply["text"]?.stringValue == "您好" && reply["id"]?.stringValue == r.id)
        #expect(s.sessions[m.session]?.replies == 1 && s.sessions[m.session]?.lastActivityAt == 2_000)
        let back = try BrokerState.fromSnapshot(s.snapshotPayload())
        #expect(back.hasSameContents(as: s, now: 5_000))
    }

    @Test func deliveryCursorsOffersExclusionsAndTransfers() throws {
        var s = BrokerState()
        let (m, _) = try accepted(s.ingest(envelope("a"), now: 1_000))
        _ = s.ingest(envelope("b"), now: 1_100)
        for r: BrokerRecord in [
            .offered(Offered(session: m.session, agent: "a1", offer: 3, reason: "best proficiency 4")),
            .offerEnded(OfferEnded(session: m.session, agent: "a1", offer: 3, cause: "declined", excludes: true)),
            .offered(Offered(session: m.session, agent: "a2", offer: 4)),
        ] { s.apply(try roundTrip(r)) }
        #expect(s.exclusions[m.session] == ["a1"] && s.pendingOffers[m.session] == PendingOffer(agent: "a2", offer: 4))
        s.apply(.assigned(Assigned(session: m.session, agent: "a2", at: 2_000)))
        #expect(s.pendingOffers[m.session] == nil && s.sessions[m.session]?.deliveredUpTo == 2)
        _ = s.ingest(envelope("c"), now: 2_100)
        _ = s.ingest(envelope("d"), now: 2_200)
        let acks = BrokerRecord.deliveryAcked(DeliveryAcked(agent: "a2", acks: [.init(session: m.session, upTo: 3), .init(session: "s-gone", upTo: 9)]))
        s.apply(try roundTrip(acks))
        #expect(s.sessions[m.session]?.deliveredUpTo == 3)
        s.apply(.deliveryAcked(DeliveryAcked(agent: "a2", acks: [.init(session: m.session, upTo: 99)])))
        #expect(s.sessions[m.session]?.deliveredUpTo == 4, "clamped to the messages received")

        // To skills: a new wait in the new queue, the sender excluded.
        let toSkills = Transferred(session: m.session, from: "a2", queue: "tax", requirements: ["tax": 2, "english": 1],
                                   reason: "transferred by a2 to skills english, tax", at: 3_000)
        s.apply(try roundTrip(.transferred(toSkills)))
        #expect(s.assignments[m.session] == nil && s.exclusions[m.session] == ["a2"])
        #expect(s.queues.entry(for: m.session)?.queue == "tax" && s.queues.entry(for: m.session)?.entry.enqueuedAt == 3_000)
        #expect(s.requirements(of: m.session, queue: "tax") == ["tax": 2, "english": 1])
        // To an agent: back at its original wait meanwhile.
        s.apply(.assigned(Assigned(session: m.session, agent: "a3", at: 4_000)))
        let toAgent = Transferred(session: m.session, from: "a3", toAgent: "a4", queue: "tax", reason: "transferred by a3 to agent a4", at: 5_000)
        s.apply(try roundTrip(.transferred(toAgent)))
        #expect(s.queues.entry(for: m.session)?.entry.enqueuedAt == 3_000 && s.requirements(of: m.session, queue: "tax")["tax"] == 2)
        let back = try BrokerState.fromSnapshot(s.snapshotPayload())
        #expect(back.hasSameContents(as: s, now: 6_000))
    }

    @Test func anEmergencyInAWaitingSessionsFirstMessagesRaisesIt() throws {
        var s = BrokerState()
        let (m, _) = try accepted(s.ingest(envelope("a", text: "咨询一下"), now: 1_000))
        #expect(s.queues.entry(for: m.session)?.entry.priority == 0)
        let (_, r2) = try accepted(s.ingest(envelope("b", text: "家里燃气泄漏了"), now: 2_000))
        #expect(r2.map(\.type) == [.messageReceived, .enqueued])
        guard case .enqueued(let e) = r2[1] else { throw TestFailure("enqueued") }
        #expect(e.priority == 9 && e.emergency && e.enqueuedAt == 1_000 && e.queue == "general")
        #expect(e.reason == "reclassified by message 2: emergency keyword 燃气泄漏")
        #expect(s.queues.entry(for: m.session)?.entry.priority == 9 && s.sessions[m.session]?.emergency == true)
        #expect(try roundTrip(r2[1]) == r2[1])
        // Not again (already 9), and not once the session is with an agent.
        #expect(try accepted(s.ingest(envelope("c", text: "火灾"), now: 3_000)).1.map(\.type) == [.messageReceived])
        let (o, _) = try accepted(s.ingest(envelope("x", citizen: "u2", text: "hi"), now: 3_000))
        s.apply(.assigned(Assigned(session: o.session, agent: "a1", at: 3_500)))
        #expect(try accepted(s.ingest(envelope("y", citizen: "u2", text: "爆炸"), now: 4_000)).1.map(\.type) == [.messageReceived])
        // Past the first messages, no reclassification either.
        var t = BrokerState()
        t.settings.firstMessages = 1
        _ = t.ingest(envelope("a", citizen: "u3", text: "hi"), now: 1)
        #expect(try accepted(t.ingest(envelope("b", citizen: "u3", text: "火灾"), now: 2)).1.map(\.type) == [.messageReceived])
    }

    @Test func historiesAreBoundedPerSessionAndInAll() throws {
        var s = BrokerState()
        s.settings.maxHistoryItems = 3
        let (m, _) = try accepted(s.ingest(envelope("0"), now: 1))
        for i in 1..<6 { _ = s.ingest(envelope("\(i)"), now: 1 + Int64(i)) }
        #expect(s.histories[m.session]?.items.map(\.seq) == [4, 5, 6])
        #expect(s.historyBytes == s.histories[m.session]!.bytes)
        var t = BrokerState()
        t.settings.maxHistoryBytes = 400
        let (a, _) = try accepted(t.ingest(envelope("a"), now: 1))
        let (b, _) = try accepted(t.ingest(envelope("b", citizen: "u2"), now: 2))
        #expect(t.histories[a.session] != nil && t.histories[b.session] == nil && t.historyBytes <= 400)
        t.apply(.closed(Closed(session: a.session, agent: "", disposition: "", at: 3)))
        #expect(t.historyBytes == 0 && t.histories.isEmpty)
    }

    @Test func theLogsRouterSnapshotRestoresOffersExclusionsAndStickiness() throws {
        let directory = try AgentDirectory(agents: [
            AgentProfile(id: "a1", name: "A", skills: ["general": 3], capacity: [.chat: 2], credential: .token("t1")),
            AgentProfile(id: "a2", name: "B", skills: ["general": 3], capacity: [.chat: 2], credential: .token("t2")),
            AgentProfile(id: "a3", name: "C", skills: ["general": 3], capacity: [.chat: 2], credential: .token("t3")),
        ])
        var s = BrokerState()
        let (one, _) = try accepted(s.ingest(envelope("1", citizen: "c1"), now: 1_000))
        let (two, _) = try accepted(s.ingest(envelope("2", citizen: "c2"), now: 2_000))
        let (three, _) = try accepted(s.ingest(envelope("3", citizen: "c3"), now: 3_000))
        s.apply(.offered(Offered(session: one.session, agent: "a1", offer: 1)))
        s.apply(.assigned(Assigned(session: one.session, agent: "a1", at: 1_500)))
        s.apply(.offered(Offered(session: two.session, agent: "a2", offer: 2)))
        s.apply(.offerEnded(OfferEnded(session: three.session, agent: "a3", offer: 7, cause: "timed out", excludes: true)))
        s.apply(.offered(Offered(session: three.session, agent: "a2", offer: 8)))
        let snapshot = s.routerSnapshot(directory: directory, now: 10_000)
        #expect(snapshot.nextOfferID == 9)
        var (router, actions) = Router.restore(snapshot, directory: directory, config: RouterConfig(), now: 10_000, connectionsLost: true)
        // Both pending offers are renewed to the same agent under new ids; the old ones revoked.
        let offers = actions.compactMap { if case .offer(let o, _) = $0 { o } else { nil } }
        #expect(Set(offers.map(\.session)) == [two.session, three.session] && offers.allSatisfy { $0.agent == "a2" && $0.id >= 9 })
        #expect(actions.filter { if case .revoke(_, .restart) = $0 { true } else { false } }.count == 2)
        #expect(router.state(of: one.session) == .assigned(agent: "a1"))
        // a2 declines three: never a3 again (excluded before the restart); a1 has room.
        let o3 = offers.first { $0.session == three.session }!
        _ = router.handle(.presence(agent: "a3", .online), now: 10_001)
        let after = router.handle(.offerDeclined(o3.id, agent: "a2"), now: 10_002)
        let next = after.compactMap { if case .offer(let o, _) = $0 { o } else { nil } }.first { $0.session == three.session }
        #expect(next == nil || next?.agent == "a1", "\(after)")
        // Sticky: c1's next session prefers a1 (it was assigned there).
        #expect(snapshot.sticky.map(\.agent) == ["a1"])
    }

    /// Every record kind, generated from the state as it goes; the log is encoded and decoded.
    @Test(arguments: [UInt64(11), 12, 13, 14])
    func snapshotPlusReplayEqualsTheLivePathWithEveryRecord(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var live = BrokerState()
        live.settings.maxHistoryItems = 5
        var log: [BrokerRecord] = []
        var snapshot: [UInt8] = []
        var snapshotAt = 0
        var offerID: UInt64 = 0
        let agents = ["a1", "a2", "a3"]
        func pick<T>(_ xs: [T]) -> T? { xs.isEmpty ? nil : xs[Int(rng.next() % UInt64(xs.count))] }
        func add(_ r: BrokerRecord) {
            live.apply(r)
            log.append(r)
        }
        for i in 0..<3_000 {
            if i == 1_500 {
                snapshot = live.snapshotPayload()
                snapshotAt = log.count
            }
            let now = 1_000_000 + Int64(i) * 1_000
            let open = live.sessions.keys.sorted()
            switch rng.next() % 10 {
            case 0, 1, 2:
                let text = rng.next() % 20 == 0 ? "火灾" : "hello \(i)"
                if case .accepted(_, let r) = live.ingest(envelope("m\(i)", citizen: "c\(rng.next() % 40)", text: text), now: now) {
                    log += r
                }
            case 3:
                guard let s = pick(open.filter { live.queues.contains($0) && live.pendingOffers[$0] == nil }), let a = pick(agents) else { continue }
                offerID += 1
                add(.offered(Offered(session: s, agent: a, offer: offerID, reason: "r")))
            case 4:
                guard let s = pick(open.filter { live.pendingOffers[$0] != nil }) else { continue }
                let o = live.pendingOffers[s]!
                if rng.next() % 2 == 0 {
                    add(.assigned(Assigned(session: s, agent: o.agent, at: now)))
                } else {
                    add(.offerEnded(OfferEnded(session: s, agent: o.agent, offer: o.offer, cause: "declined", excludes: true)))
                }
            case 5:
                guard let s = pick(open.filter { live.assignments[$0] != nil }) else { continue }
                if case .accepted(let r) = live.reply(session: s, from: .agent, agent: live.assignments[s]!.agent, text: "reply \(i)",
                                                      clientId: "c\(rng.next() % 3)", now: now) { log.append(.replied(r)) }
            case 6:
                guard let s = pick(open.filter { live.assignments[$0] != nil }) else { continue }
                add(.deliveryAcked(DeliveryAcked(agent: live.assignments[s]!.agent, acks: [.init(session: s, upTo: Int(rng.next() % 5))])))
            case 7:
                guard let s = pick(open.filter { live.assignments[$0] != nil }) else { continue }
                let from = live.assignments[s]!.agent
                if rng.next() % 2 == 0 {
                    add(.transferred(Transferred(session: s, from: from, queue: "tax", requirements: ["tax": 1], reason: "t", at: now)))
                } else {
                    add(.transferred(Transferred(session: s, from: from, toAgent: "a9", queue: live.assignments[s]!.queue, reason: "t", at: now)))
                }
            case 8:
                guard let s = pick(open) else { continue }
                add(.closed(Closed(session: s, agent: live.assignments[s]?.agent ?? "", disposition: "d", reason: "x", at: now)))
            default:
                guard let s = pick(open.filter { live.assignments[$0] != nil }) else { continue }
                let a = live.assignments[s]!
                add(.enqueued(Enqueued(session: s, queue: a.queue, priority: a.priority, enqueuedAt: a.enqueuedAt,
                                       requirements: live.sessions[s]!.requirements, reason: "requeued: agent offline")))
            }
        }
        log = try log.map(roundTrip)
        var settings = BrokerSettings()
        settings.maxHistoryItems = 5
        var restored = try BrokerState.fromSnapshot(snapshot, settings: settings)
        for r in log[snapshotAt...] { restored.apply(r) }
        var replayed = BrokerState(settings: settings)
        for r in log { replayed.apply(r) }
        let now: Int64 = 1_000_000 + 3_000_000
        #expect(replayed.hasSameContents(as: live, now: now), "seed \(seed)")
        #expect(restored.hasSameContents(as: live, now: now), "seed \(seed)")
        #expect(try BrokerState.fromSnapshot(live.snapshotPayload(), settings: settings).hasSameContents(as: live, now: now), "seed \(seed)")
        #expect(live.recentlyClosed.count > 0 && live.exclusions.count > 0 && live.histories.count > 0, "seed \(seed): the mix exercised little")
    }

    /// Data directories written before this version: format-1 records and a version-2 snapshot.
    @Test func format1RecordsAndVersion2SnapshotsAreStillRead() throws {
        func decode(_ type: BrokerRecordType, _ build: (inout ByteWriter) -> Void) throws -> BrokerRecord {
            var w = ByteWriter()
            w.u8(1)
            build(&w)
            return try w.bytes.withUnsafeBytes { try BrokerRecord.decode(type: type.rawValue, payload: $0) }
        }
        #expect(try decode(.enqueued) { $0.string("s1"); $0.string("tax"); $0.u8(4); $0.i64(100) }
                    == .enqueued(Enqueued(session: "s1", queue: "tax", priority: 4, enqueuedAt: 100)))
        #expect(try decode(.offered) { $0.string("s1"); $0.string("a1"); $0.u64(7) } == .offered(Offered(session: "s1", agent: "a1", offer: 7)))
        #expect(try decode(.assigned) { $0.string("s1"); $0.string("a1") } == .assigned(Assigned(session: "s1", agent: "a1")))
        #expect(try decode(.closed) { $0.string("s1"); $0.string("a1"); $0.string("done") }
                    == .closed(Closed(session: "s1", agent: "a1", disposition: "done")))
        #expect(Enqueued(session: "s1", queue: "tax", priority: 4, enqueuedAt: 100).effectiveRequirements == ["tax": 1])
        // A record type this version does not know, and format 2 of a record that never had one, are refused.
        #expect(throws: BrokerCodecError.self) { try decode(.checkpoint) { _ in } }
        var w = ByteWriter()
        w.u8(2)
        w.string("s1")
        #expect(throws: BrokerCodecError.self) { try w.bytes.withUnsafeBytes { try BrokerRecord.decode(type: 12, payload: $0) } }

        var v2 = ByteWriter()
        v2.u32(0x5453_4249)
        v2.u8(2)
        for _ in 0..<2 { v2.i64(1_000); v2.u32(3) }
        v2.u64(2)
        v2.u32(2)  // sessions
        for (id, citizen) in [("s1", "u1"), ("s2", "u2")] {
            v2.string(id); v2.u8(2); v2.string("cityapp"); v2.string(citizen); v2.i64(900); v2.u64(1); v2.string("m" + id)
        }
        v2.u32(1)  // dedupe
        v2.string("app\u{1F}cityapp\u{1F}x"); v2.string("ms1"); v2.u32(0)
        v2.u32(1)  // queues
        v2.string("general"); v2.i64(600_000); v2.u32(1); v2.string("s2"); v2.u8(3); v2.i64(950)
        v2.u64(9)  // last offer id
        v2.u32(1)  // assignments
        v2.string("s1"); v2.string("a1"); v2.string("general"); v2.u8(0); v2.i64(900)
        let state = try BrokerState.fromSnapshot(v2.bytes)
        #expect(state.sessions.count == 2 && state.lastOfferID == 9 && state.assignments["s1"]?.agent == "a1")
        #expect(state.queues.entry(for: "s2")?.entry.priority == 3 && state.requirements(of: "s2", queue: "general") == ["general": 1])
        #expect(state.histories.isEmpty && state.recentlyClosed.isEmpty)
        // And it is written back as version 3, which reads the same.
        #expect(try BrokerState.fromSnapshot(state.snapshotPayload()).hasSameContents(as: state, now: 1_000))
    }

    @Test func forgetExpiredDropsOnlyWhatCanNoLongerMatter() throws {
        var s = BrokerState()
        let (m, _) = try accepted(s.ingest(envelope("a"), now: 1_000))
        s.apply(.assigned(Assigned(session: m.session, agent: "a1", at: 1_000)))
        s.apply(.closed(Closed(session: m.session, agent: "a1", disposition: "", at: 2_000)))
        s.apply(.visitorRegistered(VisitorRegistered(visitor: "v1", tokenHash: [1, 2, 3], at: 2_000)))
        s.forgetExpired(now: 2_000 + 600_000, stickyMillis: 1_800_000, visitorMillis: 10_000_000)
        #expect(s.recentlyClosed.count == 1 && s.lastAgents.count == 1 && s.visitors.count == 1)
        s.forgetExpired(now: 2_000 + 600_001, stickyMillis: 500_000, visitorMillis: 500_000)
        #expect(s.recentlyClosed.isEmpty && s.closedByOwner.isEmpty && s.lastAgents.isEmpty && s.visitors.isEmpty && s.visitorByToken.isEmpty)
    }
}
