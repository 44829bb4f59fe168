// IntakeServer/Outbound: builds the delivery threads from the configuration at start-up: one
// dispatcher for the app channel (a sender per account with a `webhook`). Main thread, once.
import IntakeCore
import IntakeNet
import IntakeTelemetry

enum OutboundSetup {
    static func dispatchers(config: ServerConfig, core: BrokerCore, clock: @escaping @Sendable () -> EpochMillis) -> [OutboundDispatcher] {
        var app: [String: any OutboundSender] = [:]
        for a in config.apps {
            guard let url = a.webhook, !url.isEmpty else { continue }
            guard BlockingHTTPClient.parse(url: url) != nil else {
                Log.warning("outbound: the webhook URL is not supported (http(s)://HOST[:PORT]/path); replies to this app are not delivered",
                            ["account": .string(a.account), "webhook": .string(url)])
                continue
            }
            app[a.account] = AppWebhookSender(account: a, url: url)
        }
        var out: [OutboundDispatcher] = []
        let finished: @Sendable (OutboundDone) -> Void = { [weak core] done in core?.finishOutbound(done) }
        if !app.isEmpty { out.append(OutboundDispatcher(channel: .app, senders: app, clock: clock, finished: finished)) }
        // WeChat: accounts with an AppSecret send later replies through the customer-service API
        // (keyed by appid: a WeChat envelope's account).
        var wechat: [String: any OutboundSender] = [:]
        for a in config.wechat where a.secret != nil { wechat[a.appId] = WeChatSender(account: a) }
        if !wechat.isEmpty { out.append(OutboundDispatcher(channel: .wechat, senders: wechat, clock: clock, finished: finished)) }
        return out
    }
}
