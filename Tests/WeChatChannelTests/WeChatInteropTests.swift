// Interop with wechatpy, an independent implementation, with a freshly generated key and
// token: wechatpy encrypts and signs requests (Tests/interop/wechat/make_inbound.py) that our
// endpoint must accept; our passive replies (real random prefix, fresh nonce and timestamp)
// must pass wechatpy and the strict checks of Tests/interop/wechat/verify_reply.py. Needs
// python3 with wechatpy: a missing one fails the test (run Ops/scripts/deps.sh test).
import Foundation
import Testing
import IntakeJSON
import WeChatChannel

@Suite(.timeLimit(.minutes(3)))
struct WeChatInteropTests {
    static let scripts = Fixtures.repoRoot.appendingPathComponent("Tests/interop/wechat").path

    /// Runs `python3 args…`; exit status and the merged output.
    static func python(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe  // one pipe: reading it to the end cannot deadlock on the other
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// True when python3 can import what the scripts need; otherwise records why.
    static func pythonReady() -> Bool {
        let probe = try? python(["-c", "import wechatpy, xmltodict, cryptography"])
        if probe?.0 == 0 { return true }
        Issue.record("""
            python3 with wechatpy, xmltodict and cryptography is required for the WeChat interop test: \
            run Ops/scripts/deps.sh test (it pip-installs them). \(probe.map { "python3 said: \($0.1)" } ?? "python3 could not be started")
            """)
        return false
    }

    /// Checks `body` with verify_reply.py; records its report on failure.
    static func verify(_ body: [UInt8], token: String, key: String, extra: [String]) throws {
        let file = NSTemporaryDirectory() + "wechat-reply-\(UUID().uuidString).xml"
        try Data(body).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }  // a leftover temp file is harmless
        let (status, output) = try python([scripts + "/verify_reply.py", "--token", token, "--aes-key", key, "--appid", Fixtures.appId,
                                           "--expect-to", Fixtures.openId, "--expect-from", Fixtures.originalId, "--max-skew", "300",
                                           "--require-reply", "--file", file] + extra)
        #expect(status == 0, "verify_reply.py rejected our reply:\n\(output)\nreply: \(String(decoding: body, as: UTF8.self))")
    }

    @Test func wechatpyRequestsInOurRepliesOut() throws {
        guard Self.pythonReady() else { return }
        let key = WeChatAESKey.randomEncodingAESKey()
        let token = String(WeChatAESKey.randomEncodingAESKey().prefix(32))
        let now = Int64(Date().timeIntervalSince1970)
        let (status, output) = try Self.python([Self.scripts + "/make_inbound.py", "--token", token, "--aes-key", key, "--appid", Fixtures.appId,
                                                "--openid", Fixtures.openId, "--original-id", Fixtures.originalId, "--timestamp", String(now)])
        try #require(status == 0, "make_inbound.py failed:\n\(output)")
        let requests = try #require(try JSON.parse(output).arrayValue)
        #expect(requests.count == 5)

        let aesKey = try WeChatAESKey(encodingAESKey: key)
        let replies = ["您的诉求已受理，工单号 2023-000123 ✅", "a]]>b <c> & \"d\"", String(repeating: "字", count: 682) + "ab", "ok", "第一行\n第二行"]
        for mode in [WeChatAccountConfig.Mode.safe, .compatible] {
            let endpoint = WeChatEndpoint(account: WeChatAccountConfig(name: "main", appId: Fixtures.appId, token: token, aesKey: aesKey, mode: mode))
            for (k, r) in requests.enumerated() {
                let name = try r.string("name")
                let outcome = endpoint.handle(method: "POST", query: try r.stringMap("query"), body: Array(try r.string("body").utf8), now: now)
                let inbound = try #require(outcome.inbound, "\(mode) \(name): \(String(describing: outcome.error))")
                #expect(inbound.envelope.text == (try r.string("content")), "\(name)")
                #expect(inbound.envelope.channelMessageId == "\(Fixtures.openId):\(try r.string("msgid"))")
                // Every reply in safe mode; one in compatible mode (same code path).
                if mode == .compatible && k > 0 { continue }
                let reply = try inbound.replier.text(replies[k], now: Int64(Date().timeIntervalSince1970))
                try Self.verify(reply.body, token: token, key: key, extra: [])
            }
        }

        // Plaintext mode: wechatpy checks the plaintext reply.
        let plain = WeChatEndpoint(account: WeChatAccountConfig(name: "main", appId: Fixtures.appId, token: token, aesKey: nil, mode: .plain))
        let nonce = "42"
        let query = ["signature": WeChatSignature.plain(token: token, timestamp: String(now), nonce: nonce), "timestamp": String(now), "nonce": nonce]
        let xml = "<xml><ToUserName><![CDATA[\(Fixtures.originalId)]]></ToUserName><FromUserName><![CDATA[\(Fixtures.openId)]]></FromUserName>"
            + "<CreateTime>\(now)</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>"
        let inbound = try #require(plain.handle(method: "POST", query: query, body: Array(xml.utf8), now: now).inbound)
        try Self.verify(try inbound.replier.text("您好 ✅", now: now).body, token: token, key: key, extra: ["--plain"])
    }
}
