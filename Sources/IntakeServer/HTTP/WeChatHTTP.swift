// IntakeServer/HTTP: the WeChat Official Account callback, GET and POST /wechat/{account}
// (docs/PROTOCOL.md, "WeChat"). The channel adapter (WeChatChannel) checks and decodes on the
// loop thread (SHA-1, AES and a small XML document: microseconds); the message is stored like
// any other ingest and WeChat is answered only once it is durable:
// - stored (or recognised as a repeat: WeChat retries three times) → `success`, which tells
//   WeChat not to retry; replies reach the citizen through the customer-service API later;
// - the store refused it (overloaded, failed) → 503 and no `success`: WeChat retries, and the
//   dedupe key (FromUserName:MsgId) makes the retry safe;
// - refused by the adapter (signature, decryption, XML, size) → its status and JSON error.
// An unknown account is 404. A message whose session is with the FAQ bot waits up to the
// account's `replyDeadline` for the bot's answer, sent as the passive reply (encrypted in safe
// mode); a hand-over or a timeout answers `success` (BotWaiter, docs/PROTOCOL.md "WeChat").
import IntakeCore
import IntakeWire
import IntakeJSON
import IntakeTelemetry
import WeChatChannel
#if canImport(Glibc)
import Glibc
#endif

enum WeChatHTTP {
    static func endpoints(_ accounts: [WeChatAccountConfig]) -> [String: WeChatEndpoint] {
        var out: [String: WeChatEndpoint] = [:]
        for a in accounts { out[a.name] = WeChatEndpoint(account: a) }
        return out
    }

    static func handle(_ request: HTTPRequest, endpoints: [String: WeChatEndpoint], ingestor: (any Ingestor)?,
                       responder: HTTPResponder) {
        guard let name = request.params["account"], let endpoint = endpoints[name] else {
            return responder.respond(ClientError("not_found", "no WeChat account '\(request.params["account"] ?? "")' is configured",
                                                 status: .notFound).response)
        }
        let query = WeChatEndpoint.queryParameters(request.head.queryItems())
        let now = Int64(time(nil))
        switch endpoint.handle(method: request.head.method, query: query, body: request.body, now: now) {
        case .verified(let r):
            responder.respond(response(r))
        case .rejected(let e):
            wechatRefused.increment()
            Log.debug("wechat: request refused", ["account": .string(name), "error": .string(e.message)])
            responder.respond(response(e.response))
        case .message(let inbound):
            guard let ingestor else {
                return responder.respond(ClientError.unavailable("the store is not ready").response)
            }
            let bot = (ingestor as? any BotHub)?.botService
            let key = inbound.envelope.dedupeKey
            let waiter: BotWaiter? = bot.flatMap { bot in
                guard bot.settings.activeChannels.contains(.wechat) else { return nil }
                let w = BotWaiter(deadlineSeconds: endpoint.account.replyDeadlineSeconds)
                bot.addWaiter(key, w)
                return w
            }
            ingestor.ingest(inbound.envelope) { outcome in
                switch outcome {
                case .accepted(_, _, let duplicate):
                    guard let waiter else { return responder.respond(response(WeChatReplier.noReply)) }
                    if duplicate {
                        // A retry: its answer (if any) went with the first attempt or goes by the customer-service API.
                        _ = bot?.takeWaiter(key)
                        waiter.decline()
                    }
                    waiter.whenDone { text in
                        guard let text else { return responder.respond(response(WeChatReplier.noReply)) }
                        do {
                            responder.respond(response(try inbound.replier.text(text, now: Int64(time(nil)))))
                        } catch {
                            Log.warning("wechat: the bot's answer cannot be a passive reply", ["error": .string("\(error)")])
                            responder.respond(response(WeChatReplier.noReply))
                        }
                    }
                case .failed(let e):
                    if let waiter {
                        _ = bot?.takeWaiter(key)
                        waiter.decline()
                    }
                    // No `success`: WeChat retries, and the retry is deduplicated.
                    responder.respond(e.response)
                }
            }
        }
    }

    static func response(_ r: WeChatResponse) -> HTTPResponse {
        var h = HTTPResponse(status: HTTPStatus(code: r.status), body: r.body)
        h.headers.replaceOrAdd(name: "Content-Type", value: r.contentType)
        return h
    }
}

let wechatRefused = MetricsRegistry.shared.counter("intake_wechat_refused_total",
                                                   help: "WeChat callbacks refused (signature, decryption, XML, size).")
