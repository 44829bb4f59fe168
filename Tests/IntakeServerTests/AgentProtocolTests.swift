// The agent protocol over loopback: a broker with a two-agent directory, agents on /ws/agent
// (WebSocketTestClient), messages ingested over TCP: hello/welcome, offer → accept → assigned
// with history, decline → the next agent, close, bad frames, a wrong token, and a restart that
// keeps the assignment.
import Testing
import Foundation
import IntakeServer
import IntakeJSON
import IntakeWire
import IntakeTestSupport

/// a1 is the better "general" agent (proficiency 4), so new sessions are offered to it first.
func agentDirectoryFile() throws -> String {
    let path = "/tmp/intake-agents-\(UInt32.random(in: 0...UInt32.max)).json"
    let text = """
    [ { "id": "a1", "name": "Ann", "skills": { "general": 4 }, "capacity": { "chat": 2 }, "token": "token-a1" },
      { "id": "a2", "name": "Bob", "skills": { "general": 2 }, "capacity": { "chat": 2 }, "token": "token-a2" } ]
    """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func agentBroker(dataDir: String, agents: String, options: BrokerOptions = BrokerOptions(),
                 routing: (inout RoutingSettings) -> Void = { _ in }) throws -> Broker {
    var c = brokerConfig(dataDir: dataDir)
    c.agents = agents
    routing(&c.routing)
    return try Broker.start(config: c, options: options)
}

/// The next text frame as JSON (pings and pongs skipped).
func nextFrame(_ ws: WebSocketTestClient, timeout: Double = 5) throws -> JSON {
    while true {
        switch try ws.receive(timeout: timeout) {
        case .text(let t): return try JSON.parse(t)
        case .close(let code, let reason): throw TestSocketError("closed \(code.map(String.init) ?? "-") \(reason)")
        default: continue
        }
    }
}

/// An agent connection after hello → welcome.
func agentClient(_ broker: Broker, token: String) throws -> (WebSocketTestClient, JSON) {
    let ws = try WebSocketTestClient(port: broker.server.httpEndpoint.port, path: "/ws/agent")
    try ws.sendText(#"{"type":"hello","token":"\#(token)"}"#)
    let welcome = try nextFrame(ws)
    #expect(welcome["type"]?.stringValue == "welcome")
    return (ws, welcome)
}

@Suite(.timeLimit(.minutes(5)), .serialized)
struct AgentProtocolTests {
    @Test func anOfferIsAcceptedAndAssignedWithTheHistoryThenClosed() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try agentDirectoryFile())
        defer { broker.shutdown() }
        let (agent, welcome) = try agentClient(broker, token: "token-a1")
        #expect(welcome["agent"]?.stringValue == "a1")
        #expect(welcome["sessions"]?.arrayValue?.isEmpty == true)
        let metrics = try httpGet(broker, "/metrics").body
        #expect(metrics.contains(#"intake_agents{state="online"} 1"#), "\(metrics.split(separator: "\n").filter { $0.contains("intake_agents") })")
        let ack = try send(try ingestConnection(broker), messageLine("m1"))
        let session = try #require(ack["session"]?.stringValue)

        let offer = try nextFrame(agent)
        #expect(offer["type"]?.stringValue == "offer")
        #expect(offer["session"]?.stringValue == session)
        #expect(offer["preview"]?.stringValue == "text of m1")
        #expect(offer["skills"]?.arrayValue?.first?.stringValue == "general")
        #expect((offer["expiresInMs"]?.intValue ?? 0) > 0)
        let id = try #require(offer["offer"]?.intValue)

        try agent.sendText(#"{"type":"accept","offer":\#(id)}"#)
        let assigned = try nextFrame(agent)
        #expect(assigned["type"]?.stringValue == "assigned")
        #expect(assigned["session"]?.stringValue == session)
        #expect(assigned["history"]?.arrayValue?.first?["text"]?.stringValue == "text of m1")

        // A second message of the same citizen goes to the agent holding the session.
        _ = try send(try ingestConnection(broker), messageLine("m2"))
        let pushed = try nextFrame(agent)
        #expect(pushed["type"]?.stringValue == "message")
        #expect(pushed["seq"]?.intValue == 2)
        #expect(pushed["envelope"]?["text"]?.stringValue == "text of m2")

        try agent.sendText(#"{"type":"close","session":"\#(session)","disposition":"resolved"}"#)
        let closed = try nextFrame(agent)
        #expect(closed["type"]?.stringValue == "closed")
        #expect(closed["session"]?.stringValue == session)
        #expect(try httpGet(broker, "/metrics").body.contains("intake_assignments_total"))
    }

    @Test func aDeclinedOfferGoesToTheNextAgent() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try agentDirectoryFile())
        defer { broker.shutdown() }
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let (a2, _) = try agentClient(broker, token: "token-a2")
        let session = try #require(try send(try ingestConnection(broker), messageLine("d1"))["session"]?.stringValue)
        let first = try nextFrame(a1)
        #expect(first["session"]?.stringValue == session)
        try a1.sendText(#"{"type":"decline","offer":\#(first["offer"]?.intValue ?? 0)}"#)
        let second = try nextFrame(a2)
        #expect(second["type"]?.stringValue == "offer")
        #expect(second["session"]?.stringValue == session)
        #expect(second["offer"]?.intValue != first["offer"]?.intValue)
    }

    @Test func anUnansweredOfferTimesOutAndGoesToTheNextAgent() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try agentDirectoryFile()) { $0.router.offerTimeoutMillis = 300 }
        defer { broker.shutdown() }
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let (a2, _) = try agentClient(broker, token: "token-a2")
        let session = try #require(try send(try ingestConnection(broker), messageLine("o1"))["session"]?.stringValue)
        let offer = try nextFrame(a1)
        #expect(offer["session"]?.stringValue == session)
        let revoked = try nextFrame(a1)
        #expect(revoked["type"]?.stringValue == "revoked")
        #expect(revoked["offer"]?.intValue == offer["offer"]?.intValue)
        #expect(revoked["reason"]?.stringValue == "timed out")
        let next = try nextFrame(a2)
        #expect(next["type"]?.stringValue == "offer")
        #expect(next["session"]?.stringValue == session)
    }

    @Test func aDroppedAgentsSessionGoesBackToTheQueueAfterTheGracePeriod() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try agentDirectoryFile()) { $0.router.graceMillis = 300 }
        defer { broker.shutdown() }
        let (a1, _) = try agentClient(broker, token: "token-a1")
        let session = try #require(try send(try ingestConnection(broker), messageLine("g1"))["session"]?.stringValue)
        let offer = try nextFrame(a1)
        try a1.sendText(#"{"type":"accept","offer":\#(offer["offer"]?.intValue ?? 0)}"#)
        #expect(try nextFrame(a1)["type"]?.stringValue == "assigned")
        let (a2, _) = try agentClient(broker, token: "token-a2")
        a1.close()
        let next = try nextFrame(a2)
        #expect(next["type"]?.stringValue == "offer")
        #expect(next["session"]?.stringValue == session)
        try a2.sendText(#"{"type":"accept","offer":\#(next["offer"]?.intValue ?? 0)}"#)
        let assigned = try nextFrame(a2)
        #expect(assigned["history"]?.arrayValue?.first?["text"]?.stringValue == "text of g1")
    }

    @Test func badFramesAreAnsweredWithErrorsAndTheConnectionStays() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try agentDirectoryFile())
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        for (frame, code) in [("not json", "bad_json"), (#"{"type":"dance"}"#, "unknown_type"),
                              (#"{"type":"accept","offer":999}"#, "unknown_offer"), (#"{"type":"accept"}"#, "bad_frame"),
                              (#"{"type":"close","session":"s-nope"}"#, "unknown_session")] {
            try agent.sendText(frame)
            let error = try nextFrame(agent)
            #expect(error["type"]?.stringValue == "error", "\(frame)")
            #expect(error["code"]?.stringValue == code, "\(frame)")
        }
    }

    @Test func aWrongTokenIsRefusedWithPolicyViolation() throws {
        let broker = try agentBroker(dataDir: freshDataDir(), agents: try agentDirectoryFile())
        defer { broker.shutdown() }
        let ws = try WebSocketTestClient(port: broker.server.httpEndpoint.port, path: "/ws/agent")
        try ws.sendText(#"{"type":"hello","token":"token-a3"}"#)
        let error = try nextFrame(ws)
        #expect(error["code"]?.stringValue == "unauthorized")
        #expect(try ws.receiveClose() == WebSocketCloseCode.policyViolation)
    }

    @Test func aRestartKeepsTheAssignment() throws {
        let dir = freshDataDir(), agents = try agentDirectoryFile()
        var session = ""
        do {
            let broker = try agentBroker(dataDir: dir, agents: agents)
            let (agent, _) = try agentClient(broker, token: "token-a1")
            session = try #require(try send(try ingestConnection(broker), messageLine("r1"))["session"]?.stringValue)
            let offer = try nextFrame(agent)
            try agent.sendText(#"{"type":"accept","offer":\#(offer["offer"]?.intValue ?? 0)}"#)
            #expect(try nextFrame(agent)["type"]?.stringValue == "assigned")
            broker.shutdown()
        }
        let broker = try agentBroker(dataDir: dir, agents: agents)
        defer { broker.shutdown() }
        let (agent, welcome) = try agentClient(broker, token: "token-a1")
        #expect(welcome["sessions"]?.arrayValue?.map(\.stringValue) == [session])
        let assigned = try nextFrame(agent)
        #expect(assigned["type"]?.stringValue == "assigned")
        #expect(assigned["session"]?.stringValue == session)
    }

    @Test func aBadDirectoryStopsTheStart() throws {
        let path = "/tmp/intake-agents-bad-\(UInt32.random(in: 0...UInt32.max)).json"
        try #"[{"id":"a1","name":"x","skills":{"general":9},"capacity":{"chat":1},"token":"t"}]"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: BrokerStartError.self) { try agentBroker(dataDir: freshDataDir(), agents: path) }
        try #"[{"id":"a1","name":"x","skills":{"general":1},"capacity":{"chat":1},"token":"env:INTAKE_TEST_UNSET_TOKEN"}]"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: BrokerStartError.self) { try agentBroker(dataDir: freshDataDir(), agents: path) }
    }
}
