// BrokerState: dedupe, sessions, queue placement, ids across a simulated restart, the record
// codec, and snapshot + replay giving the same state as the live path (seeded, seed printed).
import Testing
import IntakeCore
import IntakeJSON

@Suite(.timeLimit(.minutes(5)))
struct BrokerStateTests {
    func envelope(_ cmid: String, citizen: String = "u1", account: String = "cityapp", priority: Int? = nil,
                  skills: [String]? = nil) -> Envelope {
        Envelope(channel: .app, account: account, channelMessageId: cmid, citizen: citizen, kind: .text, text: "hello " + cmid,
                 priority: priority, skills: skills, meta: .object([("k", .string("v"))]))
    }

    func accepted(_ d: IngestDecision) -> (DedupeEntry, [BrokerRecord])? {
        if case let .accepted(e, records) = d { return (e, records) }
        return nil
    }

    @Test func firstMessageOpensAndEnqueuesASessionLaterOnesJoinIt() throws {
        var s = BrokerState()
        let (first, r1) = try #require(accepted(s.ingest(envelope("a"), now: 1_000)))
        #expect(r1.map(\.type) == [.sessionOpened, .messageReceived, .enqueued])
        let (second, r2) = try #require(accepted(s.ingest(envelope("b"), now: 1_000)))
        #expect(r2.map(\.type) == [.messageReceived])
        #expect(second.session == first.session)
        #expect(second.message > first.message)
        #expect(s.sessions[first.session]?.messages == 2)
        #expect(s.queues.depth(queue: "general") == 1)
        // Another citizen, or the same citizen of another account, gets another session.
        let (other, _) = try #require(accepted(s.ingest(envelope("c", citizen: "u2"), now: 1_001)))
        let (otherAccount, _) = try #require(accepted(s.ingest(envelope("a", account: "other"), now: 1_001)))
        #expect(Set([first.session, other.session, otherAccount.session]).count == 3)
    }

    @Test func aDuplicateGetsTheOriginalAndChangesNothing() throws {
        var s = BrokerState()
        let (orig, _) = try #require(accepted(s.ingest(envelope("a"), now: 5)))
        let count = s.messageCount
        #expect(s.ingest(envelope("a"), now: 9) == .duplicate(orig))
        #expect(s.messageCount == count)
    }

    @Test func queuePlacementUsesTheFirstSkillAndThePriority() throws {
        var s = BrokerState()
        let (low, _) = try #require(accepted(s.ingest(envelope("1", citizen: "a"), now: 10)))
        let (high, _) = try #require(accepted(s.ingest(envelope("2", citizen: "b", priority: 7), now: 20)))
        let (ent, _) = try #require(accepted(s.ingest(envelope("3", citizen: "c", priority: 2, skills: ["enterprise", "tax"]), now: 30)))
        let views = s.queueViews(now: 40, limit: 10)
        #expect(views.map(\.name) == ["enterprise", "general"])
        #expect(views[1].sessions.map(\.id) == [high.session, low.session])
        #expect(views[1].depthByPriority[7] == 1 && views[1].depthByPriority[0] == 1)
        #expect(views[0].sessions.map(\.id) == [ent.session])
        #expect(s.queueViews(now: 40, limit: 1)[1].sessions.map(\.id) == [high.session])
    }

    @Test func idsAreFixedWidthSortableAndSurviveAClockStepBack() {
        var g = IDGenerator(prefix: "m")
        var ids: [String] = []
        for now: Int64 in [1_700_000_000_000, 1_700_000_000_000, 1_699_999_999_000, 1_700_000_000_001] {
            ids.append(g.next(now: now))
        }
        #expect(ids.allSatisfy { $0.utf8.count == IDGenerator.idLength && $0.hasPrefix("m") })
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        #expect(IDGenerator.parse(ids[1], prefix: "m")! == (1_700_000_000_000, 1))
        var restarted = IDGenerator(prefix: "m")
        for id in ids { restarted.observe(id) }
        #expect(restarted.next(now: 0) > ids.last!)
    }

    @Test func idsStayUniqueAcrossASimulatedRestartWithAnEarlierClock() throws {
        var s = BrokerState()
        var log: [BrokerRecord] = []
        var seen = Set<String>()
        for i in 0..<50 {
            let (e, r) = try #require(accepted(s.ingest(envelope("x\(i)", citizen: "c\(i % 7)"), now: 1_000_000)))
            log += r
            seen.insert(e.message)
        }
        var replayed = BrokerState()
        for r in log { replayed.apply(r) }
        for i in 0..<50 {
            let (e, _) = try #require(accepted(replayed.ingest(envelope("y\(i)", citizen: "n\(i)"), now: 999_000)))
            #expect(!seen.contains(e.message))
            #expect(e.message > log.compactMap { if case .messageReceived(let m) = $0 { m.id } else { nil } }.max()!)
        }
    }

    @Test func recordsRoundTripThroughTheirCodec() throws {
        var s = BrokerState()
        let (_, records) = try #require(accepted(s.ingest(envelope("a", priority: 3, skills: ["tax"]), now: 1_234)))
        for r in records {
            let bytes = r.encoded()
            let back = try bytes.withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
            #expect(back == r)
            // Every truncation is refused, never trapped on.
            for cut in 0..<bytes.count {
                #expect(throws: BrokerCodecError.self) {
                    try Array(bytes[0..<cut]).withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
                }
            }
        }
        guard case .messageReceived(let m) = records[1] else { Issue.record("expected a message"); return }
        let env = try m.envelope()
        #expect(env.text == "hello a" && env.receivedAt == 1_234 && env.skills == ["tax"] && env.id == m.id)
    }

    /// offered, assigned, closed and a requeue (enqueued of an assigned session): codec, apply,
    /// and the snapshot keeps assignments and the last offer id.
    @Test func routingRecordsApplyRoundTripAndSurviveASnapshot() throws {
        var s = BrokerState()
        s.settings.reopenWindowMillis = 0  // reopening is tested in ConversationStateTests
        let (one, _) = try #require(accepted(s.ingest(envelope("a", priority: 4, skills: ["tax"]), now: 100)))
        let (two, _) = try #require(accepted(s.ingest(envelope("b", citizen: "u2"), now: 200)))
        let records: [BrokerRecord] = [
            .offered(Offered(session: one.session, agent: "a1", offer: 7)),
            .assigned(Assigned(session: one.session, agent: "a1")),
            .assigned(Assigned(session: two.session, agent: "a2")),
            .closed(Closed(session: two.session, agent: "a2", disposition: "已解决")),
        ]
        for r in records {
            let bytes = r.encoded()
            #expect(try bytes.withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) } == r)
            for cut in 0..<bytes.count {
                #expect(throws: BrokerCodecError.self) {
                    try Array(bytes[0..<cut]).withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
                }
            }
            s.apply(r)
        }
        #expect(s.lastOfferID == 7)
        #expect(s.assignments[one.session] == SessionAssignment(agent: "a1", queue: "tax", priority: 4, enqueuedAt: 100))
        #expect(!s.queues.contains(one.session) && !s.queues.contains(two.session))
        #expect(s.sessions[two.session] == nil && s.assignments[two.session] == nil)
        // The closed session's citizen starts a new session; its old message is still a duplicate.
        guard case .duplicate = s.ingest(envelope("b", citizen: "u2"), now: 300) else { Issue.record("expected a duplicate"); return }
        let (three, _) = try #require(accepted(s.ingest(envelope("b2", citizen: "u2"), now: 300)))
        #expect(three.session != two.session)

        let back = try BrokerState.fromSnapshot(s.snapshotPayload())
        #expect(back.hasSameContents(as: s, now: 400) && back.lastOfferID == 7)

        // A requeue restores the original wait.
        s.apply(.enqueued(Enqueued(session: one.session, queue: "tax", priority: 4, enqueuedAt: 100)))
        #expect(s.assignments[one.session] == nil)
        #expect(s.queues.entry(for: one.session)?.entry.enqueuedAt == 100)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func snapshotPlusReplayEqualsTheLivePath(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var live = BrokerState()
        var log: [BrokerRecord] = []
        var snapshot: [UInt8] = []
        var snapshotAt = 0
        let total = 2_000
        for i in 0..<total {
            let citizen = "c\(rng.next() % 300)"
            let cmid = rng.next() % 10 == 0 && i > 0 ? "m\(rng.next() % UInt64(i))" : "m\(i)"
            let priority = rng.next() % 3 == 0 ? Int(rng.next() % 10) : nil
            let skills = rng.next() % 4 == 0 ? ["s\(rng.next() % 3)"] : nil
            let now = 1_000_000 + Int64(i / 3)
            if case .accepted(_, let r) = live.ingest(envelope(cmid, citizen: citizen, priority: priority, skills: skills), now: now) {
                log += r.map { r in
                    let bytes = r.encoded()
                    return try! bytes.withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0, keepEnvelope: true) }
                }
            }
            if i == total / 2 { snapshot = live.snapshotPayload(); snapshotAt = log.count }
        }
        var restored = try BrokerState.fromSnapshot(snapshot)
        for r in log[snapshotAt...] { restored.apply(r) }
        var replayed = BrokerState()
        for r in log { replayed.apply(r) }
        let now: Int64 = 1_000_000 + Int64(total)
        #expect(replayed.hasSameContents(as: live, now: now), "seed \(seed)")
        #expect(restored.hasSameContents(as: live, now: now), "seed \(seed)")
        let full = try BrokerState.fromSnapshot(live.snapshotPayload())
        #expect(full.hasSameContents(as: live, now: now + 3_600_000), "seed \(seed) (some overdue)")
        #expect(live.queues.checkInvariants().isEmpty && full.queues.checkInvariants().isEmpty)
    }

    @Test func aDamagedSnapshotIsRefused() {
        var s = BrokerState()
        _ = s.ingest(envelope("a"), now: 1)
        let bytes = s.snapshotPayload()
        #expect(throws: BrokerCodecError.self) { try BrokerState.fromSnapshot(Array(bytes.dropLast())) }
        #expect(throws: BrokerCodecError.self) { try BrokerState.fromSnapshot([0, 1, 2, 3, 4]) }
    }

    /// The snapshot round trip with non-ASCII owners and dedupe keys (the decoder takes a fast
    /// path for ASCII strings and validates the rest).
    @Test func snapshotRoundTripsNonASCIIKeysAndOwners() throws {
        var state = BrokerState()
        let words = ["路灯-1", "ascii-only-and-longer-than-fifteen-bytes", "é", "😀x", "", "a\u{1F}b", "🇨🇳🇨🇳🇨🇳🇨🇳"]
        for (i, w) in words.enumerated() {
            _ = state.ingest(envelope(w + "-\(i)", citizen: "市民" + w, account: "acc-" + w), now: 1_800_000_000_000 + Int64(i))
        }
        let back = try BrokerState.fromSnapshot(state.snapshotPayload())
        #expect(back.hasSameContents(as: state, now: 1_800_000_001_000))
        #expect(back.dedupe.count == words.count)
    }

    /// Strings of every short length, ASCII or not, read back as written; invalid UTF-8 is an
    /// error, never repaired.
    @Test func byteReaderStringsValidateUTF8() throws {
        var w = ByteWriter()
        var written: [String] = []
        for n in 0..<20 { written.append(String(repeating: "k", count: n)) }
        written += ["é", "x路灯", "😀", String(repeating: "a", count: 17) + "ü"]
        for s in written { w.string(s) }
        let bytes = w.bytes
        let read: [String] = try bytes.withUnsafeBytes { raw throws(BrokerCodecError) in
            var r = ByteReader(raw)
            var out: [String] = []
            for _ in written { out.append(try r.string()) }
            return out
        }
        #expect(read == written)
        for bad: [UInt8] in [[0xFF], [0xC3], [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x80], [0xED, 0xA0, 0x80]] {
            let framed = withUnsafeBytes(of: UInt32(bad.count).littleEndian, Array.init) + bad
            let result = framed.withUnsafeBytes { raw in
                Result { () throws(BrokerCodecError) -> String in
                    var r = ByteReader(raw)
                    return try r.string()
                }
            }
            #expect(throws: BrokerCodecError.self, "\(bad)") { try result.get() }
        }
    }
}
