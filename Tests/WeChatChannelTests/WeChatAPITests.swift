// The customer-service API requests (token, text send, media) and the classification of
// their answers (token refresh, 48-hour window, quota, retry, permanent).
import Testing
import IntakeJSON
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatAPITests {
    @Test func tokenRequest() throws {
        let r = WeChatAPI.tokenRequest(apiBase: "https://api.weixin.qq.com", appId: "wx5d3c1a2b4e6f7089", secret: "s3cr+t/=")
        #expect(r.method == "GET" && r.body.isEmpty)
        #expect(r.url == "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx5d3c1a2b4e6f7089&secret=s3cr%2Bt%2F%3D")
        #expect(r.redactedURL == "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx5d3c1a2b4e6f7089&secret=***")
        let account = try Fixtures.account(.safe)
        #expect(WeChatAPI.tokenRequest(for: account) == nil)  // no AppSecret configured
        var withSecret = account
        withSecret.secret = "abc"
        withSecret.apiBase = "http://127.0.0.1:9"
        #expect(WeChatAPI.tokenRequest(for: withSecret)?.url.hasPrefix("http://127.0.0.1:9/cgi-bin/token?") == true)
    }

    @Test func customerServiceTextKeepsChineseAsUTF8() throws {
        let content = "您的诉求已受理，工单号 2023-000123 ✅ \"quoted\"\n"
        let r = WeChatAPI.customerServiceText(apiBase: "https://api.weixin.qq.com", accessToken: "TOKEN/+", toUser: Fixtures.openId, content: content)
        #expect(r.method == "POST" && r.contentType == "application/json; charset=utf-8")
        #expect(r.url == "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=TOKEN%2F%2B")
        #expect(r.redactedURL == "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=***")
        let text = String(decoding: r.body, as: UTF8.self)
        // The literal UTF-8 bytes, not \u escapes (which WeChat has shown to users verbatim).
        #expect(text.contains("您的诉求已受理") && text.contains("✅") && !text.contains("\\u"))
        let json = try JSON.parse(r.body)
        #expect(json["touser"]?.stringValue == Fixtures.openId && json["msgtype"]?.stringValue == "text")
        #expect(json["text"]?["content"]?.stringValue == content)
        #expect(text.hasPrefix(#"{"touser":"oHot5t0aB1cD2eF3gH4iJ5kL6mN7","msgtype":"text","text":{"content":"#))
    }

    @Test func mediaRequest() {
        let r = WeChatAPI.mediaRequest(apiBase: "https://api.weixin.qq.com", accessToken: "T", mediaId: "a b")
        #expect(r.url == "https://api.weixin.qq.com/cgi-bin/media/get?access_token=T&media_id=a%20b")
    }

    @Test func tokenAnswers() throws {
        let ok = try WeChatAPI.parseToken(Array(#"{"access_token":"ACCESS_TOKEN","expires_in":7200}"#.utf8)).get()
        #expect(ok == WeChatAccessToken(token: "ACCESS_TOKEN", expiresInSeconds: 7200))
        #expect(ok.refreshAt(fetchedAt: 1000) == 1000 + 6900)
        #expect(WeChatAccessToken(token: "x", expiresInSeconds: 400).refreshAt(fetchedAt: 0) == 200)
        #expect(!ok.description.contains("ACCESS_TOKEN"))
        func failure(_ body: String) -> WeChatAPIError? {
            if case .failure(let e) = WeChatAPI.parseToken(Array(body.utf8)) { return e }
            return nil
        }
        #expect(failure(#"{"errcode":40013,"errmsg":"invalid appid"}"#) == .failed(errcode: 40013, errmsg: "invalid appid"))
        #expect(failure(#"{"errcode":-1,"errmsg":"system error"}"#) == .retryLater(errcode: -1, errmsg: "system error"))
        #expect(failure(#"{"access_token":"x"}"#) == .malformed("no positive expires_in in the answer"))
        #expect(failure("<html>502</html>")?.isRetryable == true)
    }

    @Test func sendAnswers() {
        func result(_ body: String) -> WeChatAPIError? {
            if case .failure(let e) = WeChatAPI.parseSendResult(Array(body.utf8)) { return e }
            return nil
        }
        #expect(result(#"{"errcode":0,"errmsg":"ok"}"#) == nil)
        for code in [40001, 40014, 42001] {
            let e = result(#"{"errcode":\#(code),"errmsg":"access_token expired"}"#)
            #expect(e == .tokenRefreshNeeded(errcode: Int64(code), errmsg: "access_token expired") && e?.isRetryable == true)
        }
        let window = result(#"{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}"#)
        #expect(window == .outsideWindow(errmsg: "response out of time limit or subscription is canceled"))
        #expect(window?.isRetryable == false && window?.errcode == 45015)
        #expect(result(#"{"errcode":45047,"errmsg":"out of response count limit"}"#) == .quotaExceeded(errmsg: "out of response count limit"))
        #expect(result(#"{"errcode":40003,"errmsg":"invalid openid"}"#) == .failed(errcode: 40003, errmsg: "invalid openid"))
        #expect(result(#"{"errcode":"x"}"#) == .malformed("errcode is not an integer"))
        #expect(result("[]") == .malformed("not a JSON object"))
        #expect(result(#"{"errmsg":"ok"}"#) == .malformed("no errcode in the answer"))
    }
}
