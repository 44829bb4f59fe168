// App webhooks: the signature against Python's hmac (an independent implementation), what a
// receiver accepts and refuses, the reply body, and the retry schedule.
import Testing
import IntakeJSON
import IntakeCore
@testable import AppChannel

@Suite(.timeLimit(.minutes(5))) struct AppWebhookTests {
    let body = Array(#"{"type":"reply","id":"r1"}"#.utf8)

    @Test func signatureMatchesPythonsHMAC() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"app-key-0123", b"1795300000."+body, hashlib.sha256).hexdigest())'
        #expect(AppWebhook.signature(key: "app-key-0123", body: body, unixSeconds: 1_795_300_000)
                == "t=1795300000,v1=337e349c50c9988f76a46f9034e276d9221cc59ad2a74aea420379942035e13d")
    }

    @Test func receiversAcceptGoodDeliveriesAndRefuseTheRest() {
        let h = AppWebhook.signature(key: "k1", body: body, unixSeconds: 1000)
        #expect(AppWebhook.verify(header: h, body: body, key: "k1", nowSeconds: 1100) == nil)
        #expect(AppWebhook.verify(header: h, body: body, key: "k2", nowSeconds: 1100) == .badSignature)
        #expect(AppWebhook.verify(header: h, body: body + [0x20], key: "k1", nowSeconds: 1100) == .badSignature)
        #expect(AppWebhook.verify(header: h, body: body, key: "k1", nowSeconds: 1000 + 301) == .stale)
        #expect(AppWebhook.verify(header: "garbage", body: body, key: "k1", nowSeconds: 1000) == .malformedHeader)
        #expect(AppWebhook.verify(header: "t=1000", body: body, key: "k1", nowSeconds: 1000) == .malformedHeader)
        // a key rotation: two signatures, one good
        let rotated = h + ",v1=" + String(repeating: "0", count: 64)
        #expect(AppWebhook.verify(header: rotated, body: body, key: "k1", nowSeconds: 1000) == nil)
        // the timestamp is signed: moving it breaks the signature
        let moved = h.replacingOccurrences("t=1000", "t=2000")
        #expect(AppWebhook.verify(header: moved, body: body, key: "k1", nowSeconds: 2000) == .badSignature)
    }

    @Test func replyBodyIsCompactJSONWithTheContractFields() throws {
        let r = AppReply(id: "r9", session: "s1", account: "cityapp", citizen: "u42", from: "agent", agentName: "王芳",
                         text: "您好，已为您登记", sentAt: 1_795_315_485_123, inReplyTo: "m7")
        let json = try JSON.parse(r.body)
        #expect(json["type"]?.stringValue == "reply" && json["id"]?.stringValue == "r9" && json["citizen"]?.stringValue == "u42")
        #expect(json["agentName"]?.stringValue == "王芳" && json["text"]?.stringValue == "您好，已为您登记")
        #expect(json["sentAt"]?.stringValue == "2026-11-22T02:44:45.123Z" && json["inReplyTo"]?.stringValue == "m7")
        #expect(String(decoding: r.body, as: UTF8.self).contains("王芳"), "Chinese is not escaped")
    }

    @Test func retriesBackOffExponentiallyUpToTheCapAndExpire() {
        let s = RetrySchedule()
        #expect((1...12).map { s.delay(afterAttempt: $0) }
                == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000])
        #expect(s.nextAttempt(after: 3, failedAt: 10_000, sentAt: 0) == 14_000)
        #expect(s.nextAttempt(after: 20, failedAt: s.expiryMillis - 1000, sentAt: 0) == nil, "past the expiry")
        #expect(RetrySchedule.classify(status: 204) == .delivered)
        #expect(RetrySchedule.classify(status: 503) == .retry && RetrySchedule.classify(status: 429) == .retry)
        #expect(RetrySchedule.classify(status: nil) == .retry, "no answer: connection refused or timed out")
        #expect(RetrySchedule.classify(status: 400) == .rejected && RetrySchedule.classify(status: 404) == .rejected)
    }
}

extension String {
    /// `self` with every `a` replaced by `b` (no Foundation in this target).
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        let parts = self.split(separator: Substring(a), omittingEmptySubsequences: false)
        return parts.joined(separator: b)
    }
}
