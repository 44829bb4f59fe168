// The FAQ bot in the durable state: a new session on a bot channel goes to the bot (never an
// emergency), a later emergency takes it away, a hand-over's `enqueued` ends the bot's turn,
// and the bot records survive the codec, replay and a snapshot.
import Testing
import IntakeCore
import IntakeJSON

struct BotStateTests {
    func envelope(_ cmid: String, channel: Channel = .web, citizen: String = "v1", text: String) -> Envelope {
        Envelope(channel: channel, account: "widget", channelMessageId: cmid, citizen: citizen, kind: .text, text: text)
    }

    func botState() -> BrokerState {
        var settings = BrokerSettings()
        settings.botChannels = [.web]
        return BrokerState(settings: settings)
    }

    func records(_ d: IngestDecision) -> [BrokerRecord] {
        if case .accepted(_, let r) = d { return r }
        Issue.record("expected accepted, got \(d)")
        return []
    }

    @Test func aNewSessionOnABotChannelGoesToTheBotAndAnEmergencyDoesNot() throws {
        var s = botState()
        let r = records(s.ingest(envelope("1", text: "社保怎么交"), now: 1_000))
        #expect(r.map(\.type) == [.sessionOpened, .botStarted, .messageReceived])
        let session = try #require(s.openSessions.values.first)
        #expect(s.botSessions[session] != nil && !s.queues.contains(session))
        let fire = records(s.ingest(envelope("2", citizen: "v2", text: "楼下火灾"), now: 2_000))
        #expect(fire.map(\.type) == [.sessionOpened, .messageReceived, .enqueued])
        // Not a bot channel: queued as before.
        #expect(records(s.ingest(envelope("3", channel: .app, text: "社保"), now: 3_000)).last?.type == .enqueued)
        // A later emergency in the bot's session takes it to people at once.
        let later = records(s.ingest(envelope("4", text: "有人落水"), now: 4_000))
        guard case .enqueued(let e)? = later.last else { Issue.record("expected enqueued, got \(later)"); return }
        #expect(e.emergency && e.priority == 9 && s.botSessions[session] == nil && s.queues.contains(session))
    }

    @Test func botRecordsRoundTripAndReplayAndSnapshotToTheSameState() throws {
        var s = botState()
        _ = s.ingest(envelope("1", text: "社保怎么交"), now: 1_000)
        _ = s.ingest(envelope("2", citizen: "v2", text: "转人工"), now: 1_000)
        let sessions = s.botSessions.keys.sorted()
        let decided = BotDecided(session: sessions[0], upTo: 1, answered: true, entry: "kb-0001", confidence: 0.93, reason: "answered",
                                 passiveReply: "m1", at: 2_000)
        let handed = BotDecided(session: sessions[1], upTo: 1, answered: false, entry: "kb-0002", confidence: 0.1, reason: "askedForPerson",
                                handOverJSON: #"{"reason":"askedForPerson","suggestions":[],"transcript":[]}"#, at: 2_000)
        for r in [BrokerRecord.botDecided(decided), .botDecided(handed)] {
            let bytes = r.encoded()
            let back = try bytes.withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
            #expect(back == r)
            s.apply(r)
        }
        #expect(s.botSessions[sessions[0]]?.decidedUpTo == 1 && s.botSessions[sessions[0]]?.turns == 1)
        #expect(s.botHandOvers[sessions[1]] == handed.handOverJSON)
        let restored = try BrokerState.fromSnapshot(s.snapshotPayload(), settings: s.settings)
        #expect(restored.hasSameContents(as: s, now: 3_000))
        #expect(restored.botSessions == s.botSessions && restored.botHandOvers == s.botHandOvers)
        s.apply(.enqueued(Enqueued(session: sessions[1], queue: "general", priority: 0, enqueuedAt: 2_000, reason: "handed over")))
        #expect(s.botSessions[sessions[1]] == nil && s.botHandOvers[sessions[1]] != nil)
        s.apply(.closed(Closed(session: sessions[1], agent: "", disposition: "", at: 3_000)))
        #expect(s.botHandOvers[sessions[1]] == nil)
    }
}
