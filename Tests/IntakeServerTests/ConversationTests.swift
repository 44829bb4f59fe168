// Conversations over loopback: agents (WebSocketTestClient on /ws/agent) and citizens (on
// /ws/widget, and app citizens over TCP): replies durable and idempotent, message sequence
// numbers with acknowledgement and redelivery, transfers, close with wrap-up, inactivity, the
// reopen window, emergencies, signed agent tokens, and the widget's queue/assigned/resume frames.
import Testing
import Foundation
import IntakeServer
import IntakeCore
import IntakeJSON
import IntakeWire
import IntakeCrypto
import IntakeTestSupport

/// a1: general 4 (chat 2); a2: general 2, tax 3 (chat 2); a3: general 1 (chat 1), signed tokens only.
func conversationDirectory() throws -> String {
    let path = "/tmp/intake-agents-conv-\(UInt32.random(in: 0...UInt32.max)).json"
    let text = """
    [ { "id": "a1", "name": "Ann", "skills": { "general": 4 }, "capacity": { "chat": 2 }, "token": "token-a1" },
      { "id": "a2", "name": "Bob", "skills": { "general": 2, "tax": 3 }, "capacity": { "chat": 2 }, "token": "token-a2" },
      { "id": "a3", "name": "Cai", "skills": { "general": 1 }, "capacity": { "chat": 1 }, "secret": "secret-of-a3" } ]
    """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The next frame of `type`, skipping the types in `skipping` (anything else is an error).
func frame(_ ws: WebSocketTestClient, _ type: String, skipping: Set<String> = ["queue"], timeout: Double = 5) throws -> JSON {
    while true {
        let f = try nextFrame(ws, timeout: timeout)
        let t = f["type"]?.stringValue ?? ""
        if t == type { return f }
        guard skipping.contains(t) else { throw TestSocketError("expected '\(type)', got \(f.serializedString)") }
    }
}

/// No frame (other than those skipped) arrives within `seconds`.
func expectQuiet(_ ws: WebSocketTestClient, for seconds: Double, skipping: Set<String> = ["queue"]) {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        guard let f = try? nextFrame(ws, timeout: max(0.01, deadline - monotonicSeconds())) else { return }
        let t = f["type"]?.stringValue ?? ""
        if !skipping.contains(t) { Issue.record("unexpected frame \(f.serializedString)"); return }
    }
}

/// A widget connection after hello → welcome.
func widgetClient(_ broker: Broker, resume: String? = nil, after: String? = nil) throws -> (WebSocketTestClient, JSON) {
    let ws = try WebSocketTestClient(port: broker.server.httpEndpoint.port, path: "/ws/widget")
    var hello: [(String, JSON)] = [("type", "hello")]
    if let resume { hello.append(("resume", .string(resume))) }
    if let after { hello.append(("after", .string(after))) }
    try ws.sendText(JSON.object(hello).serializedString)
    let welcome = try frame(ws, "welcome")
    return (ws, welcome)
}

/// Sends a widget message and returns its ack.
func widgetSay(_ ws: WebSocketTestClient, _ clientId: String, _ text: String, skipping: Set<String> = ["queue"]) throws -> JSON {
    try ws.sendText(JSON.object([("type", "message"), ("clientId", .string(clientId)), ("text", .string(text))]).serializedString)
    return try frame(ws, "ack", skipping: skipping)
}

/// The agent takes the next offer: accept, then the assigned frame.
func acceptNext(_ agent: WebSocketTestClient) throws -> (offer: JSON, assigned: JSON) {
    let offer = try frame(agent, "offer")
    try agent.sendText(#"{"type":"accept","offer":\#(offer["offer"]?.intValue ?? 0)}"#)
    return (offer, try frame(agent, "assigned", skipping: ["offer"]))
}

@Suite(.timeLimit(.minutes(5)), .serialized)
struct ConversationTests {
    @Test func aWidgetCitizenAndAnAgentTalkRepliesAreDurableAndIdempotent() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let (citizen, welcome) = try widgetClient(broker)
        let visitor = try #require(welcome["visitor"]?.stringValue)
        let resume = try #require(welcome["resume"]?.stringValue)
        #expect(welcome["session"]?.isNull == true && welcome["resumed"]?.boolValue == false)
        #expect(resume.utf8.count == 32 && visitor.hasPrefix("v") && !visitor.contains(resume))

        let ack = try widgetSay(citizen, "c1", "我的社保卡丢了")
        #expect(ack["clientId"]?.stringValue == "c1")
        let session = try #require(ack["session"]?.stringValue)
        let (offer, assigned) = try acceptNext(agent)
        #expect(offer["session"]?.stringValue == session && offer["preview"]?.stringValue == "我的社保卡丢了")
        #expect(assigned["history"]?.arrayValue?.first?["citizen"]?.stringValue == visitor)
        #expect(assigned["history"]?.arrayValue?.first?["channel"]?.stringValue == "web")
        let toldAssigned = try frame(citizen, "assigned")
        #expect(toldAssigned["agentName"]?.stringValue == "Ann")

        try agent.sendText(#"{"type":"send","session":"\#(session)","text":"请提供身份证号","clientId":"r1"}"#)
        let sent = try frame(agent, "sent")
        let replyID = try #require(sent["id"]?.stringValue)
        #expect(sent["clientId"]?.stringValue == "r1" && replyID.hasPrefix("m"))
        let reply = try frame(citizen, "message")
        #expect(reply["from"]?.stringValue == "agent" && reply["text"]?.stringValue == "请提供身份证号" && reply["id"]?.stringValue == replyID)

        // The same clientId again: the same id, nothing new for the citizen.
        try agent.sendText(#"{"type":"send","session":"\#(session)","text":"请提供身份证号","clientId":"r1"}"#)
        #expect(try frame(agent, "sent")["id"]?.stringValue == replyID)
        expectQuiet(citizen, for: 0.3)

        // The citizen's next message reaches the agent with seq 2; a repeated clientId is a duplicate.
        let ack2 = try widgetSay(citizen, "c2", "110101199001011234")
        let pushed = try frame(agent, "message")
        #expect(pushed["seq"]?.intValue == 2 && pushed["envelope"]?["id"]?.stringValue == ack2["id"]?.stringValue)
        #expect(try widgetSay(citizen, "c2", "110101199001011234")["id"]?.stringValue == ack2["id"]?.stringValue)
        expectQuiet(agent, for: 0.3)

        // A message before hello, a bad frame, and sending to a session that is not yours.
        let stranger = try WebSocketTestClient(port: broker.server.httpEndpoint.port, path: "/ws/widget")
        try stranger.sendText(#"{"type":"message","clientId":"x","text":"hi"}"#)
        #expect(try frame(stranger, "error")["code"]?.stringValue == "unauthorized")
        try citizen.sendText(#"{"type":"message","text":"no id"}"#)
        #expect(try frame(citizen, "error")["code"]?.stringValue == "bad_frame")
        let (other, _) = try agentClient(broker, token: "token-a2")
        try other.sendText(#"{"type":"send","session":"\#(session)","text":"x","clientId":"z"}"#)
        #expect(try frame(other, "error")["code"]?.stringValue == "unknown_session")
        for bad in [#"{"type":"ack","session":"\#(session)","upTo":1}"#, #"{"type":"transfer","session":"\#(session)","agent":"a1"}"#,
                    #"{"type":"close","session":"\#(session)"}"#] {
            try other.sendText(bad)
            #expect(try frame(other, "error")["code"]?.stringValue == "unknown_session", "\(bad)")
        }

        // Export shows both messages once; the reply is a record of its own (not a message).
        broker.shutdown()
        let stored = try exported(broker.server.config.dataDir)
        // (Export masks personal data by default: the ID number shows its first 6 and last 4 digits.)
        #expect(stored.map { $0["text"]?.stringValue } == ["我的社保卡丢了", "110101********1234"])
    }

    @Test func messagesHaveSequenceNumbersAndUnacknowledgedOnesAreRedelivered() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        var (agent, _) = try agentClient(broker, token: "token-a1")
        let tcp = try ingestConnection(broker)
        let session = try #require(try send(tcp, messageLine("s1"))["session"]?.stringValue)
        _ = try acceptNext(agent)
        for n in 2...4 { _ = try send(tcp, messageLine("s\(n)")) }
        let seqs = try (2...4).map { _ in try frame(agent, "message")["seq"]?.intValue }
        #expect(seqs == [2, 3, 4])
        try agent.sendText(#"{"type":"ack","session":"\#(session)","upTo":3}"#)
        try agent.sendText(#"{"type":"ack","session":"\#(session)","upTo":2}"#)  // older: changes nothing
        #expect(waitFor { (try? httpGet(broker, "/metrics").body.contains("intake_sessions_open")) == true })
        agent.close()
        // Reconnect within the grace period: the history up to the acknowledged seq, then seq 4 again.
        var welcome: JSON
        (agent, welcome) = try agentClient(broker, token: "token-a1")
        #expect(welcome["sessions"]?.arrayValue?.map(\.stringValue) == [session])
        let assigned = try frame(agent, "assigned")
        #expect(assigned["seq"]?.intValue == 3)
        #expect(assigned["history"]?.arrayValue?.map { $0["text"]?.stringValue } == ["text of s1", "text of s2", "text of s3"])
        let again = try frame(agent, "message")
        #expect(again["seq"]?.intValue == 4 && again["envelope"]?["text"]?.stringValue == "text of s4")
        try agent.sendText(#"{"type":"ack","session":"\#(session)","upTo":4}"#)
        expectQuiet(agent, for: 0.2)
        agent.close()
        (agent, _) = try agentClient(broker, token: "token-a1")
        #expect(try frame(agent, "assigned")["seq"]?.intValue == 4)
        expectQuiet(agent, for: 0.3)
    }

    @Test func transfersToAnAgentAndToSkills() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let (a2, _) = try agentClient(broker, token: "token-a2")
        let session = try #require(try send(try ingestConnection(broker), messageLine("t1"))["session"]?.stringValue)
        _ = try acceptNext(a1)
        // To a named agent: a1 is told the session left; a2 gets a direct offer.
        try a1.sendText(#"{"type":"transfer","session":"\#(session)","agent":"a2"}"#)
        let left = try frame(a1, "closed")
        #expect(left["session"]?.stringValue == session && left["reason"]?.stringValue == "transferred")
        let (offer, assigned) = try acceptNext(a2)
        #expect(offer["session"]?.stringValue == session && assigned["history"]?.arrayValue?.count == 1)
        // To an agent who is not connected: refused, nothing changes.
        try a2.sendText(#"{"type":"transfer","session":"\#(session)","agent":"a3"}"#)
        #expect(try frame(a2, "error")["code"]?.stringValue == "transfer_refused")
        // To skills: back to the queue with new requirements; only agents with 'tax' qualify, and
        // a2 (the one who sent it) is excluded, so nobody is offered it.
        try a2.sendText(#"{"type":"transfer","session":"\#(session)","skills":["tax"]}"#)
        #expect(try frame(a2, "closed")["reason"]?.stringValue == "transferred")
        expectQuiet(a1, for: 0.3)
        expectQuiet(a2, for: 0.1)
        let queues = try JSON.parse(try httpGet(broker, "/api/v1/queues", token: adminToken).body)
        let tax = queues["queues"]?.arrayValue?.first { $0["name"]?.stringValue == "tax" }
        #expect(tax?["sessions"]?.arrayValue?.first?["session"]?.stringValue == session)
        // A transfer needs exactly one target.
        let s2 = try #require(try send(try ingestConnection(broker), messageLine("t2", citizen: "u2"))["session"]?.stringValue)
        _ = try acceptNext(a1)
        try a1.sendText(#"{"type":"transfer","session":"\#(s2)","skills":["tax"],"agent":"a2"}"#)
        #expect(try frame(a1, "error")["code"]?.stringValue == "bad_frame")
    }

    @Test func closeWithWrapUpKeepsTheSlotUntilTheWrapUpEnds() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory()) { $0.wrapUpSeconds = 1 }
        defer { broker.shutdown() }
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let tcp = try ingestConnection(broker)
        let s1 = try #require(try send(tcp, messageLine("w1", citizen: "u1"))["session"]?.stringValue)
        _ = try acceptNext(a1)
        let s2 = try #require(try send(tcp, messageLine("w2", citizen: "u2"))["session"]?.stringValue)
        _ = try acceptNext(a1)
        _ = try send(tcp, messageLine("w3", citizen: "u3"))  // a1 is full (chat 2): it waits
        expectQuiet(a1, for: 0.2)
        try a1.sendText(#"{"type":"close","session":"\#(s1)","disposition":"resolved"}"#)
        let closed = try frame(a1, "closed")
        #expect(closed["session"]?.stringValue == s1)
        let t0 = monotonicSeconds()
        let offer = try frame(a1, "offer", timeout: 5)
        #expect(monotonicSeconds() - t0 > 0.7, "the slot was freed before the wrap-up ended")
        #expect(offer["session"]?.stringValue != s2)
        broker.shutdown()
        // The disposition is in the closed record.
        #expect(try exported(broker.server.config.dataDir).count == 3)
    }

    @Test func anInactiveSessionIsClosedAndTheCitizenToldWhy() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory()) {
            $0.inactivitySeconds = 0.5
            $0.inactivityMessage = "会话因长时间无新消息已结束"
        }
        defer { broker.shutdown() }
        let (citizen, _) = try widgetClient(broker)
        let session = try #require(try widgetSay(citizen, "c1", "你好")["session"]?.stringValue)
        // It waits longer than the inactivity limit before an agent comes: waiting is not inactivity,
        // and the clock starts again at the assignment.
        Thread.sleep(forTimeInterval: 0.8)
        let (a1, _) = try agentClient(broker, token: "token-a1")
        _ = try acceptNext(a1)
        let assignedAt = monotonicSeconds()
        _ = try frame(citizen, "assigned")
        let notice = try frame(citizen, "message", timeout: 5)
        #expect(monotonicSeconds() - assignedAt > 0.3, "closed right after the assignment")
        #expect(notice["from"]?.stringValue == "bot" && notice["text"]?.stringValue == "会话因长时间无新消息已结束")
        let closed = try frame(citizen, "closed")
        #expect(closed["session"]?.stringValue == session && closed["reason"]?.stringValue?.hasPrefix("inactive for") == true)
        let agentClosed = try frame(a1, "closed")
        #expect(agentClosed["session"]?.stringValue == session && agentClosed["reason"]?.stringValue == "inactivity")
    }

    @Test func aCitizenWritingAgainWithinTheWindowReopensTheSessionWithTheSameAgent() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let (a2, _) = try agentClient(broker, token: "token-a2")
        let (citizen, _) = try widgetClient(broker)
        let session = try #require(try widgetSay(citizen, "c1", "问题一")["session"]?.stringValue)
        // a1 (the better agent) declines, a2 takes it and closes it.
        let first = try frame(a1, "offer")
        try a1.sendText(#"{"type":"decline","offer":\#(first["offer"]?.intValue ?? 0)}"#)
        _ = try acceptNext(a2)
        try a2.sendText(#"{"type":"close","session":"\#(session)","disposition":"resolved"}"#)
        _ = try frame(a2, "closed")
        #expect(try frame(citizen, "closed", skipping: ["queue", "assigned"])["session"]?.stringValue == session)
        // Within the window: the same session, and sticky routing offers it to a2, not to the better a1.
        let again = try widgetSay(citizen, "c2", "还有一个问题")
        #expect(again["session"]?.stringValue == session)
        let offer = try frame(a2, "offer")
        #expect(offer["session"]?.stringValue == session)
        expectQuiet(a1, for: 0.2)
        try citizen.sendText(#"{"type":"rate","session":"\#(session)","score":5}"#)
        try citizen.sendText(#"{"type":"rate","session":"\#(session)","score":6}"#)
        #expect(try frame(citizen, "error")["code"]?.stringValue == "bad_frame")
        try citizen.sendText(#"{"type":"rate","session":"s-not-mine","score":3}"#)
        #expect(try frame(citizen, "error")["code"]?.stringValue == "unknown_session")
    }

    @Test func anEmergencyIsTopPriorityCountedAndLogged() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        #expect(try httpGet(broker, "/metrics").body.contains("intake_emergencies_total"), "the series exists before the first emergency")
        let tcp = try ingestConnection(broker)
        let routine = try #require(try send(tcp, messageLine("e1", citizen: "u1"))["session"]?.stringValue)
        // The counter is process-wide (other suites' emergencies count too): compare with before.
        let emergencies = metric("intake_emergencies_total", [:])
        let fire = JSON.object([("channel", "app"), ("account", "cityapp"), ("channelMessageId", "e2"), ("citizen", "u2"),
                                ("kind", "text"), ("text", "小区三号楼火灾，有人被困")]).serializedString
        let urgent = try #require(try send(tcp, fire)["session"]?.stringValue)
        let before = try httpGet(broker, "/metrics").body
        #expect(metric("intake_emergencies_total", [:]) == emergencies + 1, "\(before.split(separator: "\n").filter { $0.contains("emerg") })")
        // The agent who logs in now is offered the emergency first, although it came later.
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let first = try frame(a1, "offer")
        #expect(first["session"]?.stringValue == urgent && first["priority"]?.intValue == 9 && first["emergency"]?.boolValue == true)
        let second = try frame(a1, "offer")
        #expect(second["session"]?.stringValue == routine)
    }

    @Test func signedTokensLogInAndExpiredOnesAreRefused() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        let now = Int64(Date().timeIntervalSince1970)
        func token(_ agent: String, _ expiry: Int64, _ secret: String) -> String {
            let signed = "v1.\(agent).\(expiry)"
            return signed + "." + hmacHex(key: secret, signed)
        }
        let (a3, welcome) = try agentClient(broker, token: token("a3", now + 3600, "secret-of-a3"))
        #expect(welcome["agent"]?.stringValue == "a3")
        a3.close()
        for (bad, code) in [(token("a3", now - 1, "secret-of-a3"), "token_expired"), (token("a3", now + 3600, "wrong"), "unauthorized"),
                            (token("a1", now + 3600, "token-a1"), "unauthorized"), ("v1.a3.x.y", "unauthorized")] {
            let ws = try WebSocketTestClient(port: broker.server.httpEndpoint.port, path: "/ws/agent")
            try ws.sendText(#"{"type":"hello","token":"\#(bad)"}"#)
            #expect(try frame(ws, "error")["code"]?.stringValue == code, "\(bad)")
            #expect(try ws.receiveClose() == WebSocketCloseCode.policyViolation)
        }
    }

    @Test func aWidgetResumesItsVisitorAndSessionAndGetsMissedReplies() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try conversationDirectory())
        defer { broker.shutdown() }
        var (citizen, welcome) = try widgetClient(broker)
        let resume = try #require(welcome["resume"]?.stringValue)
        let visitor = welcome["visitor"]?.stringValue
        let session = try #require(try widgetSay(citizen, "c1", "排队中")["session"]?.stringValue)
        let queue = try frame(citizen, "queue", skipping: [])
        #expect(queue["position"]?.intValue == 1 && queue["etaSeconds"]?.isNull == true, "no agent online: no estimate")
        citizen.close()
        (citizen, welcome) = try widgetClient(broker, resume: resume)
        #expect(welcome["visitor"]?.stringValue == visitor && welcome["session"]?.stringValue == session)
        #expect(welcome["resumed"]?.boolValue == true && welcome["resume"]?.stringValue == resume)
        #expect(try frame(citizen, "queue", skipping: [])["position"]?.intValue == 1)
        let (a1, _) = try agentClient(broker, token: "token-a1")
        _ = try acceptNext(a1)
        _ = try frame(citizen, "assigned")
        for n in 1...2 {
            try a1.sendText(#"{"type":"send","session":"\#(session)","text":"reply \#(n)","clientId":"r\#(n)"}"#)
            _ = try frame(a1, "sent")
        }
        let r1 = try frame(citizen, "message")["id"]?.stringValue
        _ = try frame(citizen, "message")
        citizen.close()
        // Back with the newest reply it saw being the first: the second comes again.
        (citizen, welcome) = try widgetClient(broker, resume: resume, after: r1)
        #expect(try frame(citizen, "assigned")["agentName"]?.stringValue == "Ann")
        #expect(try frame(citizen, "message")["text"]?.stringValue == "reply 2")
        expectQuiet(citizen, for: 0.2)
        // An unknown token gets a fresh visitor.
        let (_, fresh) = try widgetClient(broker, resume: "0123456789abcdef0123456789abcdef")
        #expect(fresh["resumed"]?.boolValue == false && fresh["visitor"]?.stringValue != visitor)
    }
}

/// HMAC-SHA256 hex, for signing test tokens.
func hmacHex(key: String, _ message: String) -> String {
    Digest.hex(Digest.hmacSHA256(key: Array(key.utf8), message: Array(message.utf8)))
}

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
