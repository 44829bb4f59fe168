// The FAQ bot as a virtual agent over loopback: a widget citizen's KB question answered by the
// bot; 转人工 handed over to an agent whose offer and assignment carry the suggestions and the
// transcript; emergencies never reach the bot; a bot session survives a restart; knowledge-base
// reload (SIGHUP hook and HTTP, good and bad files); surge detection's metrics.
import Testing
import Foundation
import FAQBot
import IntakeServer
import IntakeCore
import IntakeJSON
import IntakeTelemetry
import IntakeTestSupport
import Synchronization

/// The repo's sample knowledge base.
let sampleKB = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Ops/samples/kb.jsonl").path

func botBroker(dataDir: String, kb: String = sampleKB, channels: Set<Channel> = [.web, .wechat],
               options: BrokerOptions = BrokerOptions()) throws -> Broker {
    var c = brokerConfig(dataDir: dataDir)
    c.agents = try conversationDirectory()
    c.kb = kb
    c.bot.enabled = true
    c.bot.channels = channels
    return try Broker.start(config: c, options: options)
}

func metric(_ name: String, _ labels: [String: String]) -> Double {
    MetricsRegistry.shared.samples([name]).first { s in labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value ?? 0
}

func adminPost(_ broker: Broker, _ path: String, token: String?) throws -> (status: Int, head: String, body: String) {
    let s = try TestSocket(port: broker.server.httpEndpoint.port)
    let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
    return try httpExchange(s, "POST \(path) HTTP/1.1\r\nHost: x\r\n\(auth)Content-Length: 0\r\n\r\n")
}

@Suite(.timeLimit(.minutes(5)), .serialized)
struct BotTests {
    let kb = try! KnowledgeBase.load(path: sampleKB)

    @Test func theBotAnswersAKnowledgeBaseQuestionAndNoAgentIsOffered() throws {
        let broker = try botBroker(dataDir: freshDataDir())
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let (citizen, _) = try widgetClient(broker)
        let answered = metric("intake_bot_replies_total", ["outcome": "answered"])
        let entry = kb.entries[0]
        _ = try widgetSay(citizen, "c1", entry.question)
        let reply = try frame(citizen, "message")
        #expect(reply["from"]?.stringValue == "bot")
        #expect(reply["text"]?.stringValue == entry.answer)
        #expect(reply["id"]?.stringValue?.hasPrefix("m") == true)
        #expect(metric("intake_bot_replies_total", ["outcome": "answered"]) == answered + 1)
        expectQuiet(agent, for: 0.3)
    }

    @Test func askingForAPersonHandsOverWithSuggestionsAndTranscript() throws {
        let broker = try botBroker(dataDir: freshDataDir())
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let (citizen, _) = try widgetClient(broker)
        let handed = metric("intake_bot_replies_total", ["outcome": "handed_off"])
        _ = try widgetSay(citizen, "c1", kb.entries[1].question)
        #expect(try frame(citizen, "message")["from"]?.stringValue == "bot")
        _ = try widgetSay(citizen, "c2", "社保的事情我还是想转人工")
        let notice = try frame(citizen, "message")
        #expect(notice["from"]?.stringValue == "bot" && notice["text"]?.stringValue?.contains("人工") == true)
        let (offer, assigned) = try acceptNext(agent)
        #expect(offer["botReason"]?.stringValue == "askedForPerson")
        let suggestions = try #require(offer["botSuggestions"]?.arrayValue)
        #expect(suggestions.count == 3)
        #expect(suggestions.allSatisfy { $0["id"]?.stringValue != nil && $0["question"]?.stringValue != nil
                                         && $0["answer"]?.stringValue != nil && $0["score"]?.doubleValue != nil })
        let transcript = try #require(offer["botTranscript"]?.arrayValue)
        #expect(transcript.map { $0["from"]?.stringValue ?? "" } == ["citizen", "bot", "citizen"])
        #expect(transcript.last?["text"]?.stringValue == "社保的事情我还是想转人工")
        #expect(assigned["botTranscript"]?.arrayValue?.count == 3)
        #expect(assigned["botSuggestions"]?.arrayValue?.count == 3)
        // The history holds the citizen's two messages and the bot's two replies.
        #expect(assigned["history"]?.arrayValue?.count == 4)
        #expect(metric("intake_bot_replies_total", ["outcome": "handed_off"]) == handed + 1)
        #expect(try frame(citizen, "assigned")["agentName"]?.stringValue == "Ann")
    }

    @Test func anEmergencyNeverGoesToTheBot() throws {
        let broker = try botBroker(dataDir: freshDataDir())
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let (citizen, _) = try widgetClient(broker)
        _ = try widgetSay(citizen, "c1", "楼下发生火灾了，怎么办")
        let offer = try frame(agent, "offer")
        #expect(offer["emergency"]?.boolValue == true && offer["priority"]?.intValue == 9)
        #expect(offer["botSuggestions"] == nil)
        expectQuiet(citizen, for: 0.3)  // no bot message
    }

    @Test func anEmergencyInABotSessionGoesToPeopleAtOnce() throws {
        let broker = try botBroker(dataDir: freshDataDir())
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let (citizen, _) = try widgetClient(broker)
        _ = try widgetSay(citizen, "c1", kb.entries[0].question)
        #expect(try frame(citizen, "message")["text"]?.stringValue == kb.entries[0].answer)
        _ = try widgetSay(citizen, "c2", "有人落水了！")
        let offer = try frame(agent, "offer")
        #expect(offer["emergency"]?.boolValue == true)
        expectQuiet(citizen, for: 0.3)
    }

    @Test func aBotSessionStaysWithTheBotAcrossARestart() throws {
        let dir = freshDataDir()
        var resume = ""
        do {
            let broker = try botBroker(dataDir: dir)
            defer { broker.shutdown() }
            let (citizen, welcome) = try widgetClient(broker)
            resume = try #require(welcome["resume"]?.stringValue)
            _ = try widgetSay(citizen, "c1", kb.entries[2].question)
            #expect(try frame(citizen, "message")["text"]?.stringValue == kb.entries[2].answer)
        }
        let broker = try botBroker(dataDir: dir)
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let (citizen, welcome) = try widgetClient(broker, resume: resume)
        #expect(welcome["resumed"]?.boolValue == true && welcome["session"]?.stringValue != nil)
        // The old answer is redelivered on hello; nothing was queued for agents.
        #expect(try frame(citizen, "message")["text"]?.stringValue == kb.entries[2].answer)
        expectQuiet(agent, for: 0.3)
        _ = try widgetSay(citizen, "c2", kb.entries[3].question)
        #expect(try frame(citizen, "message")["text"]?.stringValue == kb.entries[3].answer)
        _ = try widgetSay(citizen, "c3", "人工客服")
        #expect(try frame(citizen, "message")["from"]?.stringValue == "bot")
        let offer = try frame(agent, "offer")
        #expect(offer["botTranscript"]?.arrayValue?.count == 5)
    }

    @Test func theKnowledgeBaseReloadsOnTheHookAndOverHTTPAndABadFileKeepsTheOldOne() throws {
        let path = "/tmp/intake-kb-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        let lines = try String(contentsOfFile: sampleKB, encoding: .utf8).split(separator: "\n")
        try lines.prefix(10).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let broker = try botBroker(dataDir: freshDataDir(), kb: path)
        defer { broker.shutdown() }
        #expect(metric("intake_knowledge_base_entries", [:]) == 10)
        try lines.prefix(20).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(broker.server.reloaders.reloadAll() == [])
        #expect(metric("intake_knowledge_base_entries", [:]) == 20)
        let failures = metric("intake_knowledge_base_reload_failures_total", [:])
        try (lines.prefix(5).joined(separator: "\n") + "\n{\"id\": \"x\", \"question\": \"\"}\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(broker.server.reloaders.reloadAll() == ["knowledge_base"])
        #expect(metric("intake_knowledge_base_reload_failures_total", [:]) == failures + 1)
        #expect(metric("intake_knowledge_base_entries", [:]) == 20)
        let bad = try adminPost(broker, "/api/v1/kb/reload", token: adminToken)
        #expect(bad.status == 422)
        #expect(try JSON.parse(bad.body)["message"]?.stringValue?.contains(":6:") == true)
        #expect(try adminPost(broker, "/api/v1/kb/reload", token: nil).status == 401)
        try lines.prefix(30).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let good = try adminPost(broker, "/api/v1/kb/reload", token: adminToken)
        #expect(good.status == 200)
        let json = try JSON.parse(good.body)
        #expect(json["entries"]?.intValue == 30 && json["path"]?.stringValue == path)
        try FileManager.default.removeItem(atPath: path)
        #expect(try adminPost(broker, "/api/v1/kb/reload", token: adminToken).status == 500)
        // The bot still answers from the 30 entries it has.
        let (citizen, _) = try widgetClient(broker)
        _ = try widgetSay(citizen, "c1", kb.entries[25].question)
        #expect(try frame(citizen, "message")["text"]?.stringValue == kb.entries[25].answer)
    }

    @Test func newSessionsAreCountedByTopicAndASurgeRaisesTheSpikeGauge() throws {
        let clock = FakeWallClock(1_800_000_000_000)
        var options = BrokerOptions()
        options.clock = { clock.now }
        let broker = try botBroker(dataDir: freshDataDir(), channels: [], options: options)
        defer { broker.shutdown() }
        let entry = kb.entries[0]
        let topic = entry.category
        let before = metric("intake_topic_sessions_total", ["topic": topic])
        let conn = try ingestConnection(broker)
        func say(_ citizen: String, _ n: Int) throws {
            let line = JSON.object([("channel", "app"), ("account", "cityapp"), ("channelMessageId", .string("\(citizen)-\(n)")),
                                    ("citizen", .string(citizen)), ("kind", "text"), ("text", .string(entry.question))]).serializedString
            try conn.send(line + "\n")
            #expect(try JSON.parse(try conn.receiveLine())["ack"] != nil)
        }
        try say("u0", 0)
        try say("u0", 1)  // not a new session: not counted
        #expect(waitFor { metric("intake_topic_sessions_total", ["topic": topic]) == before + 1 })
        // An hour later (the detector has watched long enough), twelve new sessions on the topic.
        clock.advance(61 * 60_000)
        for i in 1...12 { try say("s\(i)", 0) }
        #expect(waitFor { metric("intake_topic_sessions_total", ["topic": topic]) == before + 13 })
        clock.advance(60_000)
        #expect(waitFor { metric("intake_topic_spike", ["topic": topic]) == 1 })
        clock.advance(60 * 60_000)
        #expect(waitFor { metric("intake_topic_spike", ["topic": topic]) == 0 })
    }
}

/// A wall clock the test moves.
final class FakeWallClock: Sendable {
    private let millis: Mutex<EpochMillis>
    init(_ start: EpochMillis) { millis = Mutex(start) }
    var now: EpochMillis { millis.withLock { $0 } }
    func advance(_ by: EpochMillis) { millis.withLock { $0 += by } }
}
