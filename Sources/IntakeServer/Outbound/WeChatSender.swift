// IntakeServer/Outbound: agent and bot replies to WeChat citizens that were not answered
// passively: the customer-service message API (`POST {apiBase}/cgi-bin/message/custom/send`),
// with an access token fetched from `GET {apiBase}/cgi-bin/token`, kept until shortly before it
// expires and fetched again on 40001/40014/42001. One sender per account (appid), used only by
// the WeChat dispatcher's thread (so the token cache needs no lock beyond that). 45015 —
// outside the 48-hour window or the user unfollowed — ends the delivery as `outside_48h` and the
// agent is told. docs/PROTOCOL.md, "WeChat".
import IntakeCore
import IntakeNet
import IntakeTelemetry
import WeChatChannel

final class WeChatSender: OutboundSender, @unchecked Sendable {
    let account: WeChatAccountConfig
    let timeoutSeconds: Double
    // Dispatcher thread only.
    private var token: String?
    private var refreshAt: Int64 = 0

    init(account: WeChatAccountConfig, timeoutSeconds: Double = 10) {
        self.account = account
        self.timeoutSeconds = timeoutSeconds
    }

    func send(_ item: OutboundQueued, attempt: Int) -> OutboundAttempt {
        let now = LogClock.unixSeconds()
        if token == nil || now >= refreshAt {
            guard let request = WeChatAPI.tokenRequest(for: account) else { return .rejected("no AppSecret configured for \(account.name)") }
            switch call(request) {
            case .failure(let why): return .retry("access token: " + why.message)
            case .success(let body):
                switch WeChatAPI.parseToken(body) {
                case .failure(let e):
                    Log.warning("wechat: access token refused", ["account": .string(account.name), "error": .string(e.description)])
                    return e.isRetryable ? .retry("access token: \(e)") : .rejected("access token: \(e)")
                case .success(let t):
                    token = t.token
                    refreshAt = t.refreshAt(fetchedAt: now)
                }
            }
        }
        let request = WeChatAPI.customerServiceText(apiBase: account.apiBase, accessToken: token!, toUser: item.citizen, content: item.text)
        switch call(request) {
        case .failure(let why): return .retry(why.message)
        case .success(let body):
            switch WeChatAPI.parseSendResult(body) {
            case .success: return .delivered
            case .failure(let e):
                switch e {
                case .tokenRefreshNeeded:
                    token = nil
                    return .retry(e.description)
                case .outsideWindow: return .outsideWindow
                default: return e.isRetryable ? .retry(e.description) : .rejected(e.description)
                }
            }
        }
    }

    /// The body of a 200 answer, or why there was none (logged without the secret or token).
    private func call(_ r: WeChatAPIRequest) -> Result<[UInt8], CallFailure> {
        var headers: [(String, String)] = []
        if let ct = r.contentType { headers.append(("Content-Type", ct)) }
        do {
            let answer = try BlockingHTTPClient.request(r.method, url: r.url, headers: headers, body: r.body, timeoutSeconds: timeoutSeconds)
            guard answer.status == 200 else { return .failure(CallFailure("HTTP \(answer.status) from \(r.redactedURL)")) }
            return .success(answer.body)
        } catch {
            return .failure(CallFailure("\(error.message) (\(r.redactedURL))"))
        }
    }
}

struct CallFailure: Error {
    let message: String
    init(_ m: String) { message = m }
}
