// The callback without sockets: plaintext, compatible and safe mode requests, every refusal
// with its status, passive replies (fresh nonce and timestamp, decryptable, signed), and
// retries of one message keeping one dedupe key.
import Testing
import IntakeCore
import IntakeJSON
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatEndpointTests {
    static let now: Int64 = 1_800_000_000

    static func textXML(_ content: String = "路灯坏了", msgId: String = "7341234567890123456") -> String {
        "<xml><ToUserName><![CDATA[\(Fixtures.originalId)]]></ToUserName><FromUserName><![CDATA[\(Fixtures.openId)]]></FromUserName>"
            + "<CreateTime>\(now - 1)</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[\(content)]]></Content>"
            + "<MsgId>\(msgId)</MsgId></xml>"
    }

    /// A request signed as WeChat signs it.
    static func signed(timestamp: String = String(now), nonce: String = "1234567890", _ extra: [String: String] = [:]) -> [String: String] {
        var q = ["signature": WeChatSignature.plain(token: Fixtures.token, timestamp: timestamp, nonce: nonce),
                 "timestamp": timestamp, "nonce": nonce, "openid": Fixtures.openId]
        for (k, v) in extra { q[k] = v }
        return q
    }

    /// A safe-mode request carrying `xml`.
    static func safe(_ xml: String, timestamp: String = String(now), nonce: String = "1234567890") throws -> ([String: String], [UInt8]) {
        let cipher = WeChatCipher(key: try Fixtures.key(), receiveId: Fixtures.appId)
        let encrypt = cipher.encrypt(Array(xml.utf8))
        let body = "<xml><ToUserName><![CDATA[\(Fixtures.originalId)]]></ToUserName><Encrypt><![CDATA[\(encrypt)]]></Encrypt></xml>"
        let query = signed(timestamp: timestamp, nonce: nonce, [
            "encrypt_type": "aes",
            "msg_signature": WeChatSignature.message(token: Fixtures.token, timestamp: timestamp, nonce: nonce, encrypt: encrypt),
        ])
        return (query, Array(body.utf8))
    }

    func endpoint(_ mode: WeChatAccountConfig.Mode, clockSkew: Int64 = 300) throws -> WeChatEndpoint {
        WeChatEndpoint(account: try Fixtures.account(mode, clockSkew: clockSkew))
    }

    @Test func plainModeMessageAndReply() throws {
        let account = WeChatAccountConfig(name: "plain", appId: Fixtures.appId, token: Fixtures.token, aesKey: nil, mode: .plain)
        let outcome = WeChatEndpoint(account: account).handle(method: "POST", query: Self.signed(), body: Array(Self.textXML().utf8), now: Self.now)
        let inbound = try #require(outcome.inbound, "\(String(describing: outcome.error))")
        #expect(!inbound.wasEncrypted && !inbound.replier.encrypts)
        #expect(inbound.envelope.text == "路灯坏了" && inbound.envelope.meta["accountName"]?.stringValue == "plain")
        let reply = try inbound.replier.text("已收到", now: Self.now)
        #expect(reply.status == 200 && reply.contentType.hasPrefix("application/xml"))
        #expect(reply.body == WeChatReplyXML.text(to: Fixtures.openId, from: Fixtures.originalId, createTime: Self.now, content: "已收到"))
        let get = WeChatEndpoint(account: account).handle(method: "GET", query: Self.signed(["echostr": "abc+/= 1"]), body: [], now: Self.now)
        #expect(get.verifiedResponse?.bodyText == "abc+/= 1")
        #expect(get.verifiedResponse?.contentType.hasPrefix("text/plain") == true)
    }

    @Test func safeModeReplyIsFreshSignedAndDecryptable() throws {
        let (query, body) = try Self.safe(Self.textXML())
        let inbound = try #require(try endpoint(.safe).handle(method: "POST", query: query, body: body, now: Self.now).inbound)
        #expect(inbound.replier.encrypts)
        let cipher = WeChatCipher(key: try Fixtures.key(), receiveId: Fixtures.appId)
        var nonces = Set<String>(), encrypts = Set<String>()
        for content in ["您的诉求已受理 ✅", "a]]>b", String(repeating: "字", count: 682)] {
            let reply = try inbound.replier.text(content, now: Self.now + 2)
            let env = try XML.parse(reply.body)
            let encrypt = try #require(env.childText("Encrypt")), nonce = try #require(env.childText("Nonce"))
            let timestamp = try #require(env.childText("TimeStamp"))
            #expect(timestamp == String(Self.now + 2))
            #expect(nonce.count == 10 && nonce.allSatisfy(\.isNumber) && nonce != query["nonce"])
            #expect(env.childText("MsgSignature") == WeChatSignature.message(token: Fixtures.token, timestamp: timestamp, nonce: nonce, encrypt: encrypt))
            let xml = try XML.parse(try cipher.decrypt(encrypt))
            #expect(xml.childText("ToUserName") == Fixtures.openId && xml.childText("FromUserName") == Fixtures.originalId)
            #expect(xml.childText("CreateTime") == String(Self.now + 2) && xml.childText("MsgType") == "text")
            #expect(xml.childText("Content") == content)
            nonces.insert(nonce)
            encrypts.insert(encrypt)
        }
        #expect(nonces.count == 3 && encrypts.count == 3)
        #expect(WeChatReplier.noReply.bodyText == "success" && WeChatReplier.noReply.status == 200)
    }

    @Test func passiveTextLimits() throws {
        let (query, body) = try Self.safe(Self.textXML())
        let replier = try #require(try endpoint(.safe).handle(method: "POST", query: query, body: body, now: Self.now).inbound).replier
        #expect(throws: WeChatReplyError.empty) { try replier.text("", now: Self.now) }
        #expect(throws: WeChatReplyError.tooLong(bytes: 2049, limit: 2048)) { try replier.text(String(repeating: "a", count: 2049), now: Self.now) }
        _ = try replier.text(String(repeating: "a", count: 2048), now: Self.now)
    }

    @Test func compatibleModeAnswersInTheRequestsForm() throws {
        let (query, body) = try Self.safe(Self.textXML())
        let encrypted = try #require(try endpoint(.compatible).handle(method: "POST", query: query, body: body, now: Self.now).inbound)
        #expect(encrypted.replier.encrypts)
        let raw = try #require(try endpoint(.compatible).handle(method: "POST", query: Self.signed(["encrypt_type": "raw"]),
                                                                body: Array(Self.textXML().utf8), now: Self.now).inbound)
        #expect(!raw.replier.encrypts)
    }

    @Test func retriesOfOneMessageShareTheDedupeKey() throws {
        // WeChat retries with a new timestamp, nonce and signature (and a new random prefix).
        var keys = Set<String>()
        for k in 0..<3 {
            let (query, body) = try Self.safe(Self.textXML(), timestamp: String(Self.now + Int64(5 * k)), nonce: "77\(k)")
            let inbound = try #require(try endpoint(.safe).handle(method: "POST", query: query, body: body, now: Self.now).inbound)
            keys.insert(inbound.envelope.dedupeKey)
        }
        #expect(keys == ["wechat\u{1F}\(Fixtures.appId)\u{1F}\(Fixtures.openId):7341234567890123456"])
    }

    @Test func refusalsAndTheirStatuses() throws {
        let text = Array(Self.textXML().utf8)
        let safe = try endpoint(.safe), plain = try endpoint(.plain)
        let (sq, sb) = try Self.safe(Self.textXML())
        func code(_ e: WeChatEndpoint, method: String = "POST", _ q: [String: String], _ body: [UInt8], now: Int64 = Self.now) -> WeChatError? {
            e.handle(method: method, query: q, body: body, now: now).error
        }
        var q = sq
        q["signature"] = nil
        let cases: [(String, WeChatError?, WeChatError.Code, Int)] = [
            ("PUT", code(safe, method: "PUT", sq, sb), .methodNotAllowed, 405),
            ("no signature", code(safe, q, sb), .badSignature, 403),
            ("wrong signature", code(safe, sq.merging(["signature": String(repeating: "0", count: 40)]) { $1 }, sb), .badSignature, 403),
            ("no timestamp", code(safe, sq.merging(["timestamp": ""]) { $1 }, sb), .badSignature, 403),
            ("timestamp changed", code(safe, sq.merging(["timestamp": String(Self.now + 1)]) { $1 }, sb), .badSignature, 403),
            ("no msg_signature", code(safe, sq.merging(["msg_signature": ""]) { $1 }, sb), .badSignature, 403),
            ("signature for msg_signature", code(safe, sq.merging(["msg_signature": sq["signature"]!]) { $1 }, sb), .badSignature, 403),
            ("stale", code(safe, sq, sb, now: Self.now + 301), .staleTimestamp, 403),
            ("future", code(safe, sq, sb, now: Self.now - 301), .staleTimestamp, 403),
            ("too large", code(safe, sq, [UInt8](repeating: 0x20, count: WeChatEndpoint.defaultMaxBodyBytes + 1)), .bodyTooLarge, 413),
            ("safe takes no plaintext", code(safe, Self.signed(), text), .modeMismatch, 400),
            ("plain takes no ciphertext", code(plain, sq, sb), .modeMismatch, 400),
            ("unknown encrypt_type", code(safe, Self.signed(["encrypt_type": "des"]), sb), .badRequest, 400),
            ("not XML", code(plain, Self.signed(), Array("{\"errcode\":0}".utf8)), .badXML, 400),
            ("DOCTYPE", code(plain, Self.signed(), Array(("<!DOCTYPE x>" + Self.textXML()).utf8)), .badXML, 400),
            ("root", code(plain, Self.signed(), Array("<yml/>".utf8)), .badMessage, 400),
            ("no Encrypt", code(safe, sq, Array("<xml><ToUserName>a</ToUserName></xml>".utf8)), .badMessage, 400),
            ("GET without echostr", code(safe, method: "GET", Self.signed(), []), .badRequest, 400),
            ("GET bad signature", code(safe, method: "GET", Self.signed(["signature": "x", "echostr": "1"]), []), .badSignature, 403),
        ]
        for (what, error, expected, status) in cases {
            let e = try #require(error, "\(what) was accepted")
            #expect(e.code == expected, "\(what): \(e)")
            #expect(e.status == status, "\(what)")
            let json = try JSON.parse(e.response.body)
            #expect(json["error"]?.stringValue == expected.rawValue && json["message"]?.stringValue?.isEmpty == false)
            #expect(e.response.contentType == "application/json")
            // Nothing secret in what the client sees.
            #expect(!e.message.contains(Fixtures.token) && !e.message.contains(Fixtures.encodingAESKey))
        }
        // A non-numeric timestamp (correctly signed) with the clock check on.
        #expect(code(safe, Self.signed(timestamp: "soon"), sb)?.code == .badRequest)
        // The clock check off: any timestamp.
        #expect(try endpoint(.safe, clockSkew: 0).handle(method: "POST", query: sq, body: sb, now: 0).inbound != nil)
        // Right at the edge of the skew: accepted.
        #expect(safe.handle(method: "POST", query: sq, body: sb, now: Self.now + 300).inbound != nil)
    }

    @Test func queryParametersKeepTheFirstOccurrence() {
        let q = WeChatEndpoint.queryParameters([("signature", "a"), ("nonce", "1"), ("signature", "b")])
        #expect(q == ["signature": "a", "nonce": "1"])
    }
}
