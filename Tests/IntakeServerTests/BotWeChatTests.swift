// The WeChat 5-second rule with the FAQ bot: a message of a bot session is answered with the
// bot's answer as the passive reply (plain mode here; the encryption is the adapter's, tested in
// WeChatChannelTests); a hand-over answers `success`.
import Testing
import Foundation
import IntakeServer
import IntakeCore
import IntakeJSON
import IntakeTestSupport
import WeChatChannel
import FAQBot

@Suite(.timeLimit(.minutes(2)), .serialized)
struct BotWeChatTests {
    func post(_ broker: Broker, _ citizen: String, _ msgId: Int, _ text: String) throws -> (status: Int, body: String) {
        let ts = String(Int(Date().timeIntervalSince1970)), nonce = "12345"
        let sig = WeChatSignature.plain(token: "wxtoken", timestamp: ts, nonce: nonce)
        let xml = "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[\(citizen)]]></FromUserName>"
            + "<CreateTime>\(ts)</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[\(text)]]></Content>"
            + "<MsgId>\(msgId)</MsgId></xml>"
        let s = try TestSocket(port: broker.server.httpEndpoint.port)
        let r = try httpExchange(s, "POST /wechat/main?signature=\(sig)&timestamp=\(ts)&nonce=\(nonce)&openid=\(citizen) HTTP/1.1\r\n"
                                 + "Host: x\r\nContent-Type: text/xml\r\nContent-Length: \(xml.utf8.count)\r\n\r\n" + xml, timeout: 8)
        return (r.status, r.body)
    }

    @Test func aBotAnswerIsThePassiveReplyAndAHandOverAnswersSuccess() throws {
        let kb = try KnowledgeBase.load(path: sampleKB)
        var c = brokerConfig(dataDir: freshDataDir())
        c.agents = try conversationDirectory()
        c.kb = sampleKB
        c.bot.enabled = true
        c.wechat = [WeChatAccountConfig(name: "main", appId: "wx5d3c1a2b4e6f7089", token: "wxtoken", aesKey: nil, mode: .plain,
                                        replyDeadlineSeconds: 3)]
        let broker = try Broker.start(config: c)
        defer { broker.shutdown() }
        let (agent, _) = try agentClient(broker, token: "token-a1")
        let answered = try post(broker, "oUser1", 1001, kb.entries[0].question)
        #expect(answered.status == 200)
        #expect(answered.body.contains("<Content><![CDATA[\(kb.entries[0].answer)]]></Content>"))
        #expect(answered.body.contains("<ToUserName><![CDATA[oUser1]]></ToUserName>"))
        let handed = try post(broker, "oUser1", 1002, "转人工")
        #expect(handed.status == 200 && handed.body == "success")
        let offer = try frame(agent, "offer")
        #expect(offer["botReason"]?.stringValue == "askedForPerson")
        // A session that is not the bot's (emergency) answers success at once.
        let started = Date()
        let emergency = try post(broker, "oUser2", 2001, "有人落水了")
        #expect(emergency.body == "success" && Date().timeIntervalSince(started) < 2)
    }
}
