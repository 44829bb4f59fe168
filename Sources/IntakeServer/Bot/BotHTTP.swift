// IntakeServer/Bot: POST /api/v1/kb/reload (admin bearer token): reloads the FAQ knowledge base
// from its file without a restart, as SIGHUP does. The load and indexing run on a background
// queue, never on the loop; a bad file keeps the old knowledge base and the answer says why.
import Dispatch
import FAQBot
import IntakeJSON
import IntakeWire

enum BotHTTP {
    /// 200 `{"entries","path"}`; 422 `kb_invalid` (a bad line, a duplicate id, no entries) or
    /// 500 `kb_unreadable` with the reason; 503 when no knowledge base is loaded.
    static func reload(_ request: HTTPRequest, adminToken: String?, bot: BotService?, responder: HTTPResponder) {
        if let r = AdminHTTP.refusal(request, adminToken: adminToken) { return responder.respond(r) }
        guard let bot else {
            return responder.respond(ClientError.unavailable("no knowledge base is loaded (start with --kb FILE)").response)
        }
        DispatchQueue.global(qos: .utility).async {
            switch bot.reload() {
            case .success(let kb):
                let json = JSON.object([("entries", .int(Int64(kb.entries.count))), ("path", .string(kb.path))])
                responder.respond(.json(.ok, json.serializedBytes))
            case .failure(let e):
                let status: HTTPStatus, code: String
                if case .unreadable = e {
                    (status, code) = (.internalServerError, "kb_unreadable")
                } else {
                    (status, code) = (HTTPStatus(code: 422, reasonPhrase: "Unprocessable Content"), "kb_invalid")
                }
                responder.respond(ClientError(code, "the knowledge base was not reloaded (the previous one stays in use): \(e)",
                                              status: status).response)
            }
        }
    }
}

extension Result where Failure == KnowledgeBaseError {
    /// Nil on success, else the reason (for ReloadHooks).
    var failureReason: String? {
        if case .failure(let e) = self { return e.description }
        return nil
    }
}
