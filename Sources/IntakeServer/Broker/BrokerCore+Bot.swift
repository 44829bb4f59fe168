// IntakeServer/Broker: the FAQ bot as a virtual agent, the core thread's side (docs/ROUTING.md,
// "The FAQ bot"). A new session on a bot channel goes to the bot (a `botStarted` record, decided
// by BrokerState.ingest; never an emergency). Each of its citizen messages becomes a BotJob scored
// on the bot's own queue (BotService); the outcome comes back as a `.bot` command and is
// recorded here: an answer is a durable `replied` from the bot delivered through CitizenLinks
// (or as the WeChat passive reply); a hand-over tells the citizen, records `botDecided` with
// the suggestions and transcript, and enqueues the session with its original classification.
// Surge detection counts each new session's top knowledge-base category. Core thread only.
import FAQBot
import IntakeCore
import IntakeJSON
import IntakeTelemetry
import WeChatChannel

/// The core thread's bot state beside the BrokerState.
struct BotDesk {
    /// Surge detection over the top category of each new session's first message.
    var surge = SurgeDetector()
    var nextSurgeEvaluation: EpochMillis = 0
    /// Sessions whose pending evaluation was resubmitted after the restart.
    var resumed = false
    /// Per topic: `intake_topic_sessions_total` and `intake_topic_spike`.
    var topicCounters: [String: Counter] = [:]
    var spikeGauges: [String: Gauge] = [:]
    /// Topics with metric series at most (the knowledge base's categories are far fewer).
    static let maxTopicSeries = 500
}

/// Where the HTTP side finds the bot (knowledge-base reload, WeChat passive replies).
protocol BotHub: AnyObject, Sendable {
    /// The bot worker; nil when no knowledge base is loaded. Set before the core starts.
    var botService: BotService? { get }
}

extension BrokerCore: BotHub {
    // MARK: any thread

    /// The outcome of a BotJob, from the bot queue (taken past the inbox limit: a lost outcome
    /// would leave the session waiting for the bot until the next restart).
    func botDecided(_ outcome: BotOutcome) {
        if enqueueCitizen(.bot(outcome), pastLimit: true) != nil { outcome.job.waiter?.decline() }
    }

    // MARK: core thread

    /// Once per pass: resubmits the evaluations a restart interrupted (first pass), and
    /// evaluates surge detection once a minute.
    func botPass(now: EpochMillis, _ out: inout Outbox) {
        if !botDesk.resumed {
            botDesk.resumed = true
            for (session, b) in state.botSessions.sorted(by: { $0.key < $1.key }) {
                guard let s = state.sessions[session], s.messages > b.decidedUpTo else { continue }
                submitBotJob(session, seq: s.messages, waiter: nil, firstMessage: false)
            }
        }
        if now >= botDesk.nextSurgeEvaluation {
            botDesk.nextSurgeEvaluation = now + 60_000
            closeIdleBotSessions(now: now, &out)
            let (started, ended) = botDesk.surge.evaluate(now: now)
            for topic in started {
                spikeGauge(topic)?.set(1)
                let v = botDesk.surge.view(topic, now: now)
                Log.warning("surge: a topic is spiking", ["topic": .string(topic), "recent": .int(v?.recent ?? 0),
                                                          "baseline": .double(v?.baseline ?? 0)])
            }
            for topic in ended {
                spikeGauge(topic)?.set(0)
                Log.warning("surge: a topic stopped spiking", ["topic": .string(topic)])
            }
        }
    }

    /// Closes bot sessions nobody wrote in for `inactivitySeconds` (a citizen who got the answer
    /// and left): nothing else would ever close them, since no agent holds them.
    func closeIdleBotSessions(now: EpochMillis, _ out: inout Outbox) {
        guard routing.inactivitySeconds > 0 else { return }
        let limit = EpochMillis(routing.inactivitySeconds * 1000)
        for session in state.botSessions.keys.sorted() {
            guard let s = state.sessions[session], s.lastActivityAt + limit <= now else { continue }
            record(.closed(Closed(session: session, agent: "", disposition: "",
                                  reason: "inactive with the bot for \(Int(routing.inactivitySeconds)) s", at: now)), &out)
            deliver(s, .closed(session: session, reason: "inactivity"), &out)
        }
    }

    /// After `state.ingest` accepted a message: bot sessions' messages go to the bot, a new
    /// session's first message is categorised for surge detection, a WeChat callback waiting
    /// for a passive reply of a session that is not the bot's is told at once.
    func botAccepted(_ envelope: Envelope, _ records: [BrokerRecord], now: EpochMillis, _ out: inout Outbox) {
        guard let service = botService else { return }
        let waiter = envelope.channel == .wechat ? service.takeWaiter(envelope.dedupeKey) : nil
        var opened = false
        var message: StoredMessage?
        for r in records {
            switch r {
            case .sessionOpened: opened = true
            case .messageReceived(let m): message = m
            default: break
            }
        }
        guard let m = message, let s = state.sessions[m.session] else { waiter?.decline(); return }
        if state.botSessions[m.session] != nil {
            submitBotJob(m.session, seq: s.messages, text: envelope.text ?? "", waiter: waiter, firstMessage: opened)
        } else {
            waiter?.decline()
            if opened, let text = envelope.text, !text.isEmpty {
                service.submit(BotJob(session: m.session, seq: s.messages, text: text, turn: 1, history: [], decide: false,
                                      firstMessage: true, waiter: nil)) { [self] in botDecided($0) }
            }
        }
    }

    /// Asks the bot about message `seq` of a bot session (its text from the history when not given).
    func submitBotJob(_ session: String, seq: Int, text: String? = nil, waiter: BotWaiter?, firstMessage: Bool) {
        guard let service = botService, let b = state.botSessions[session] else { waiter?.decline(); return }
        var history: [Turn] = []
        var found = text
        for item in state.histories[session]?.items ?? [] {
            guard let json = try? JSON.parse(item.json) else { continue }
            if item.seq == seq {
                if found == nil { found = json["text"]?.stringValue ?? "" }
                continue
            }
            if item.seq > seq { continue }
            if item.seq == 0 {
                history.append(Turn(.bot, json["text"]?.stringValue ?? ""))
            } else {
                history.append(Turn(.citizen, json["text"]?.stringValue ?? ""))
            }
        }
        service.submit(BotJob(session: session, seq: seq, text: found ?? "", turn: b.turns + 1, history: history, decide: true,
                              firstMessage: firstMessage, waiter: waiter)) { [self] in botDecided($0) }
    }

    /// A decision came back: count the topic, then answer or hand over (if the session is
    /// still the bot's and the message not decided yet: a hand-over or close may have come first).
    func botOutcome(_ o: BotOutcome, now: EpochMillis, _ out: inout Outbox) {
        if o.job.firstMessage, !o.category.isEmpty { observeTopic(o.category, keywords: o.keywords, now: now) }
        let session = o.job.session
        guard o.job.decide, let b = state.botSessions[session], o.job.seq > b.decidedUpTo else {
            o.job.waiter?.decline()
            return
        }
        switch o.decision {
        case let .answer(entry, confidence):
            guard case .accepted(let r) = state.reply(session: session, from: .bot, agent: "", text: entry.answer,
                                                      clientId: "bot:\(o.job.seq)", now: now) else {
                o.job.waiter?.decline()
                return
            }
            out.records.append((BrokerRecordType.replied.rawValue, BrokerRecord.replied(r).encoded()))
            // Too long for a passive reply: the customer-service API sends it instead.
            let fits = r.text.utf8.count <= WeChatReplier.maxTextBytes
            let passive = fits && (o.job.waiter?.claim() ?? false)
            if !passive { o.job.waiter?.decline() }
            record(.botDecided(BotDecided(session: session, upTo: o.job.seq, answered: true, entry: entry.id, confidence: confidence,
                                          reason: "answered", passiveReply: passive ? r.id : "", at: now)), &out)
            botAnswered.increment()
            repliesByBot.increment()
            if passive, let w = o.job.waiter {
                // The WeChat callback answers with it once durable; the customer-service API must not send it again.
                out.frames.append((PassiveReplySink(waiter: w, text: r.text), ""))
                if let s = state.sessions[session] { deliverToOwnLinks(s, .message(session: session, from: .bot, text: r.text, id: r.id), &out) }
            } else {
                deliver(session, .message(session: session, from: .bot, text: r.text, id: r.id), &out)
            }
            Log.info("FAQ bot: answered", ["session": .string(session), "entry": .string(entry.id), "confidence": .double(confidence)])
        case let .handOver(reason, suggestions, transcript):
            o.job.waiter?.decline()
            handOver(session, b, reason: reason, suggestions: suggestions, transcript: transcript, confidence: o.confidence,
                     seq: o.job.seq, now: now, &out)
        }
    }

    /// Tells the citizen, records the decision with what the agent will see, and enqueues the
    /// session as a new session with its original classification (an emergency at the top class).
    private func handOver(_ session: String, _ b: BotSession, reason: HandOverReason, suggestions: [Candidate], transcript: [Turn],
                          confidence: Double, seq: Int, now: EpochMillis, _ out: inout Outbox) {
        if case .accepted(let r) = state.reply(session: session, from: .bot, agent: "", text: botService?.settings.handOverMessage ?? "",
                                               clientId: "bot:handover:\(seq)", now: now) {
            out.records.append((BrokerRecordType.replied.rawValue, BrokerRecord.replied(r).encoded()))
            repliesByBot.increment()
            deliver(session, .message(session: session, from: .bot, text: r.text, id: r.id), &out)
        }
        let entries = botService?.knowledgeBase.entries ?? []
        let suggestionJSON: [JSON] = suggestions.compactMap { c in
            guard c.entryIndex < entries.count, entries[c.entryIndex].id == c.entryID else { return nil }
            let e = entries[c.entryIndex]
            return .object([("id", .string(e.id)), ("question", .string(e.question)), ("answer", .string(e.answer)),
                            ("score", .double((c.score * 1000).rounded() / 1000))])
        }
        let transcriptJSON: [JSON] = transcript.map { .object([("from", .string($0.speaker.rawValue)), ("text", .string($0.text))]) }
        let handOverJSON = JSON.object([("reason", .string(reason.rawValue)), ("suggestions", .array(suggestionJSON)),
                                        ("transcript", .array(transcriptJSON))]).serializedString
        record(.botDecided(BotDecided(session: session, upTo: seq, answered: false, entry: suggestions.first?.entryID ?? "",
                                      confidence: confidence, reason: reason.rawValue, handOverJSON: handOverJSON, at: now)), &out)
        let emergency = reason == .emergency
        let e = Enqueued(session: session, queue: b.queue, priority: emergency ? EmergencyClass.priority : b.priority, enqueuedAt: now,
                         requirements: b.requirements, reason: "handed over by the bot (\(reason.rawValue)); " + b.reason,
                         emergency: emergency)
        record(.enqueued(e), &out)
        botHandedOff.increment()
        if emergency { emergenciesTotal.increment() }
        if let text = transcript.last(where: { $0.speaker == .citizen })?.text {
            desk.previews[session] = String(text.prefix(Self.maxPreviewCharacters))
        }
        desk.queueDirty = true
        route(.sessionQueued(state.request(e)), now: now, &out)
        Log.info("FAQ bot: handed over", ["session": .string(session), "reason": .string(reason.rawValue)])
    }

    /// A citizen event to the citizen's own connections only (widget tabs), not the account's
    /// adapter: a WeChat passive reply already reached them through the callback.
    func deliverToOwnLinks(_ s: BrokerSession, _ event: CitizenEvent, _ out: inout Outbox) {
        guard let own = desk.citizens.byOwner[s.owner] else { return }
        let address = CitizenAddress(channel: s.channel, account: s.account, citizen: s.citizen, session: s.id)
        for link in own { out.frames.append((CitizenDelivery(link: link, event: event, address: address), "")) }
    }

    // MARK: surge

    func observeTopic(_ category: String, keywords: [String], now: EpochMillis) {
        botDesk.surge.observe(category, now: now)
        topicCounter(category)?.increment()
        _ = spikeGauge(category)
        for k in keywords.prefix(3) { botDesk.surge.observe("keyword:" + k, now: now) }
    }

    private func topicCounter(_ topic: String) -> Counter? {
        if let c = botDesk.topicCounters[topic] { return c }
        guard botDesk.topicCounters.count < BotDesk.maxTopicSeries else { return nil }
        let c = MetricsRegistry.shared.counter("intake_topic_sessions_total", help: "New sessions by the top knowledge-base category of their first message.",
                                               labels: ["topic": topic])
        botDesk.topicCounters[topic] = c
        return c
    }

    private func spikeGauge(_ topic: String) -> Gauge? {
        if let g = botDesk.spikeGauges[topic] { return g }
        guard botDesk.spikeGauges.count < BotDesk.maxTopicSeries else { return nil }
        let g = MetricsRegistry.shared.gauge("intake_topic_spike", help: "1 while a topic rises well above its own baseline (surge detection), else 0.",
                                             labels: ["topic": topic])
        botDesk.spikeGauges[topic] = g
        return g
    }

    // MARK: frames

    /// The hand-over's members for `offer` frames: `botReason`, `botSuggestions`, `botTranscript`.
    func botOfferMembers(_ session: String) -> [(String, JSON)] {
        guard let text = state.botHandOvers[session], let json = try? JSON.parse(text) else { return [] }
        return [("botReason", json["reason"] ?? .null), ("botSuggestions", json["suggestions"] ?? .array([])),
                ("botTranscript", json["transcript"] ?? .array([]))]
    }

    /// The same as text to append inside an `assigned` frame's object ("" when not handed over by the bot).
    func botAssignedMembers(_ session: String) -> String {
        botOfferMembers(session).map { "," + JSON.string($0.0).serializedString + ":" + $0.1.serializedString }.joined()
    }
}
