// IntakeServer/Outbound: delivers replies to an app back end's webhook (config `apps[].webhook`):
// POST of `AppReply.body`, signed with the account's key (`X-Intake-Signature`), with the reply
// id as `X-Intake-Delivery` (the same on every retry: the receiver's dedupe key) and the attempt
// number as `X-Intake-Attempt`. Runs on the app dispatcher's thread (blocking client, timeout).
import AppChannel
import IntakeCore
import IntakeNet
import Glibc

struct AppWebhookSender: OutboundSender {
    let account: AppAccount
    let url: String
    var timeoutSeconds = 10.0

    func send(_ item: OutboundQueued, attempt: Int) -> OutboundAttempt {
        let reply = AppReply(id: item.id, session: item.session, account: item.account, citizen: item.citizen,
                             from: item.from.rawValue, agentName: item.agentName.isEmpty ? nil : item.agentName,
                             text: item.text, sentAt: item.at)
        let body = reply.body
        let unix = LogClock.unixSeconds()
        let headers = [("Content-Type", "application/json; charset=utf-8"),
                       (AppWebhook.signatureHeader, AppWebhook.signature(key: account.key, body: body, unixSeconds: unix)),
                       (AppWebhook.deliveryHeader, item.id), ("X-Intake-Attempt", String(attempt))]
        let status: Int?
        var why = ""
        do {
            status = try BlockingHTTPClient.request("POST", url: url, headers: headers, body: body, timeoutSeconds: timeoutSeconds).status
            why = "HTTP \(status!)"
        } catch {
            status = nil
            why = error.message
        }
        switch RetrySchedule.classify(status: status) {
        case .delivered: return .delivered
        case .retry: return .retry(why)
        case .rejected: return .rejected(why)
        }
    }
}

enum LogClock {
    static func unixSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
