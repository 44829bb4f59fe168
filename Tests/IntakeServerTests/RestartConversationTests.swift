// A broker restarted in the middle of conversations, over loopback: two agents and six widget
// citizens (plus an app citizen over TCP) before; the broker stops, a new one starts on the same
// data directory; after it, citizens resume their visitor and session, agents find their
// sessions, the unacknowledged message is delivered again, the pending offer is offered again,
// waiting sessions keep their order and wait, and nothing is stored twice (repeated client ids
// are answered with the original ids).
import Testing
import Foundation
import IntakeServer
import IntakeJSON
import IntakeTestSupport

@Suite(.timeLimit(.minutes(5)), .serialized)
struct RestartConversationTests {
    /// Replay only, and with snapshots every few records (the restart then starts from one).
    @Test(arguments: [100_000, 4])
    func nothingIsLostOrDuplicatedAcrossARestart(snapshotEveryRecords: Int) throws {
        let dir = freshDataDir(), agents = try conversationDirectory()
        var options = BrokerOptions()
        options.snapshotEveryRecords = snapshotEveryRecords
        var broker = try agentBroker(dataDir: dir, agents: agents, options: options)
        defer { broker.shutdown() }

        // Before: a1 (better) is offered the first two sessions, a2 the next two; two wait.
        var (a1, _) = try agentClient(broker, token: "token-a1")
        var (a2, _) = try agentClient(broker, token: "token-a2")
        var citizens: [(ws: WebSocketTestClient, visitor: String, resume: String, session: String)] = []
        for i in 0..<6 {
            let (ws, welcome) = try widgetClient(broker)
            let ack = try widgetSay(ws, "c\(i)-1", "第\(i)位市民的问题")
            citizens.append((ws, try #require(welcome["visitor"]?.stringValue), try #require(welcome["resume"]?.stringValue),
                             try #require(ack["session"]?.stringValue)))
        }
        let o0 = try frame(a1, "offer"), o1 = try frame(a1, "offer")
        let o2 = try frame(a2, "offer"), o3 = try frame(a2, "offer")
        #expect([o0, o1, o2, o3].map { $0["session"]?.stringValue } == citizens[0..<4].map(\.session))
        for o in [o0, o1] { try a1.sendText(#"{"type":"accept","offer":\#(o["offer"]?.intValue ?? 0)}"#) }
        _ = try frame(a1, "assigned")
        _ = try frame(a1, "assigned")
        try a2.sendText(#"{"type":"accept","offer":\#(o2["offer"]?.intValue ?? 0)}"#)
        _ = try frame(a2, "assigned")
        // o3 stays unanswered: a pending offer at the restart.

        // a1 replies in session 0; citizen 1 writes twice more and a1 acknowledges only the first.
        try a1.sendText(#"{"type":"send","session":"\#(citizens[0].session)","text":"您好，请讲","clientId":"r0"}"#)
        let replyID = try #require(try frame(a1, "sent")["id"]?.stringValue)
        #expect(try frame(citizens[0].ws, "message", skipping: ["queue", "assigned"])["id"]?.stringValue == replyID)
        _ = try widgetSay(citizens[1].ws, "c1-2", "补充一", skipping: ["queue", "assigned"])
        _ = try widgetSay(citizens[1].ws, "c1-3", "补充二")
        #expect(try frame(a1, "message")["seq"]?.intValue == 2)
        #expect(try frame(a1, "message")["seq"]?.intValue == 3)
        try a1.sendText(#"{"type":"ack","session":"\#(citizens[1].session)","upTo":2}"#)
        let tcp = try ingestConnection(broker)
        let appSession = try #require(try send(tcp, messageLine("app-1", citizen: "app-user"))["session"]?.stringValue)
        // The ack is written with the next pass; wait for it through the admin view (which runs after it).
        _ = try httpGet(broker, "/api/v1/queues", token: adminToken)
        let queuedBefore = try queueOrder(broker)
        // Offered sessions still wait (an offer is not an assignment).
        #expect(queuedBefore.map(\.session) == [citizens[3].session, citizens[4].session, citizens[5].session, appSession])
        for c in citizens { c.ws.close() }
        a1.close()
        a2.close()
        broker.shutdown()

        // After.
        broker = try agentBroker(dataDir: dir, agents: agents, options: options)
        if snapshotEveryRecords < 100 { #expect(broker.startReport.recovery.snapshot != nil, "no snapshot was written") }
        let (b1, w1) = try agentClient(broker, token: "token-a1")
        a1 = b1
        #expect(Set(w1["sessions"]?.arrayValue?.compactMap(\.stringValue) ?? []) == [citizens[0].session, citizens[1].session])
        var redelivered: [Int64] = []
        var histories: [String: [String]] = [:]
        for _ in 0..<2 {
            let assigned = try frame(a1, "assigned", skipping: ["message"])
            histories[assigned["session"]?.stringValue ?? ""] = assigned["history"]?.arrayValue?.map {
                $0["text"]?.stringValue ?? ""
            }
        }
        #expect(histories[citizens[0].session] == ["第0位市民的问题", "您好，请讲"], "the reply is part of the history")
        #expect(histories[citizens[1].session] == ["第1位市民的问题", "补充一"])
        let again = try frame(a1, "message")
        redelivered.append(again["seq"]?.intValue ?? 0)
        #expect(redelivered == [3] && again["envelope"]?["text"]?.stringValue == "补充二")

        let (b2, w2) = try agentClient(broker, token: "token-a2")
        a2 = b2
        #expect(w2["sessions"]?.arrayValue?.compactMap(\.stringValue) == [citizens[2].session])
        _ = try frame(a2, "assigned")
        let renewed = try frame(a2, "offer")
        #expect(renewed["session"]?.stringValue == citizens[3].session)
        #expect((renewed["offer"]?.intValue ?? 0) > (o3["offer"]?.intValue ?? 0), "renewed under a new id")
        try a2.sendText(#"{"type":"accept","offer":\#(renewed["offer"]?.intValue ?? 0)}"#)
        #expect(try frame(a2, "assigned")["session"]?.stringValue == citizens[3].session)

        // Citizens resume their visitor and session and are told where it stands.
        for (i, c) in citizens.enumerated() {
            let (ws, welcome) = try widgetClient(broker, resume: c.resume, after: i == 0 ? replyID : nil)
            #expect(welcome["visitor"]?.stringValue == c.visitor && welcome["session"]?.stringValue == c.session, "citizen \(i)")
            #expect(welcome["resumed"]?.boolValue == true, "citizen \(i)")
            let status = try frame(ws, i < 4 ? "assigned" : "queue", skipping: [])
            if i < 4 { #expect(status["agentName"]?.stringValue == (i < 2 ? "Ann" : "Bob"), "citizen \(i)") }
            if i == 4 { #expect(status["position"]?.intValue == 1) }
            // A message repeated with its old clientId is a duplicate, answered with the original id.
            let dup = try widgetSay(ws, "c\(i)-1", "第\(i)位市民的问题")
            #expect(dup["session"]?.stringValue == c.session, "citizen \(i)")
            if i == 0 { expectQuiet(ws, for: 0.2, skipping: ["queue"]) }  // no reply again: it saw it
            ws.close()
        }
        // The reply repeated with its clientId keeps its id.
        try a1.sendText(#"{"type":"send","session":"\#(citizens[0].session)","text":"您好，请讲","clientId":"r0"}"#)
        #expect(try frame(a1, "sent")["id"]?.stringValue == replyID)

        let queuedAfter = try queueOrder(broker)
        #expect(queuedAfter == queuedBefore.filter { $0.session != citizens[3].session }, "waiting sessions keep order and wait")
        broker.shutdown()
        let stored = try exported(dir)
        let ids = stored.compactMap { $0["id"]?.stringValue }
        #expect(stored.count == 6 + 2 + 1 && Set(ids).count == ids.count, "\(stored.count) messages")
    }

    /// The waiting sessions in service order with their wait start.
    func queueOrder(_ broker: Broker) throws -> [Waiting] {
        let view = try JSON.parse(try httpGet(broker, "/api/v1/queues", token: adminToken).body)
        return (view["queues"]?.arrayValue ?? []).flatMap { q in
            (q["sessions"]?.arrayValue ?? []).map { Waiting(session: $0["session"]?.stringValue ?? "", enqueuedAt: $0["enqueuedAt"]?.stringValue ?? "") }
        }
    }

    struct Waiting: Equatable {
        var session: String
        var enqueuedAt: String
    }
}
