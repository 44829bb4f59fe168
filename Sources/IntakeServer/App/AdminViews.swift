// IntakeServer: the read-only admin views (CONTRACT.md: GET /api/v1/queues …), answered from
// the core thread's state. The route runs on a loop; the answer comes back through the
// responder from the core thread.
import IntakeCore
import IntakeJSON
import IntakeWire

/// Where admin views read the broker's state.
public protocol BrokerViews: AnyObject, Sendable {
    /// Every queue with its depth and at most `limit` sessions in service order; `completion`
    /// runs on any thread with the views and the time they were taken at.
    func queues(limit: Int, completion: @escaping @Sendable ([BrokerState.QueueView], EpochMillis) -> Void)
    /// Agents, presence, sessions with their audit trail, drain (BrokerCore+Admin.swift).
    func admin(_ request: AdminRequest, _ reply: @escaping AdminReply)
}

enum AdminHTTP {
    static let defaultQueueLimit = 100
    static let maxQueueLimit = 100_000

    /// Nil when the request carries the admin bearer token, else the response to send.
    static func refusal(_ request: HTTPRequest, adminToken: String?) -> HTTPResponse? {
        guard let token = adminToken else {
            return ClientError.forbidden("the admin API is disabled: configure adminToken").response
        }
        guard let auth = request.head.headers["Authorization"], auth.hasPrefix("Bearer "),
              constantTimeEqualsString(String(auth.dropFirst(7)).trimmingSpaces(), token)
        else {
            authFailures.increment()
            var r = ClientError.unauthorized("send Authorization: Bearer <admin token>").response
            r.headers.add(name: "WWW-Authenticate", value: "Bearer")
            return r
        }
        return nil
    }

    /// GET /api/v1/queues[?limit=N]: `{"queues":[{"name","depth","depthByPriority":[10 ints],
    /// "sessions":[{"session","priority","enqueuedAt","waitedMs"}]}]}`.
    static func queues(_ request: HTTPRequest, adminToken: String?, views: (any BrokerViews)?, responder: HTTPResponder) {
        if let r = refusal(request, adminToken: adminToken) { return responder.respond(r) }
        var limit = defaultQueueLimit
        if let text = queryValue(request.head.query, "limit") {
            guard let n = Int(text), (0...maxQueueLimit).contains(n) else {
                return responder.respond(ClientError("bad_request", "limit must be a number from 0 to \(maxQueueLimit)", status: .badRequest).response)
            }
            limit = n
        }
        guard let views else { return responder.respond(ClientError.unavailable("the store is not ready").response) }
        views.queues(limit: limit) { queues, now in
            let json = JSON.object([("queues", .array(queues.map { q in
                .object([
                    ("name", .string(q.name)), ("depth", .int(Int64(q.depth))),
                    ("depthByPriority", .array(q.depthByPriority.map { .int(Int64($0)) })),
                    ("sessions", .array(q.sessions.map { e in
                        .object([("session", .string(e.id)), ("priority", .int(Int64(e.priority))),
                                 ("enqueuedAt", .string(RFC3339.format(e.enqueuedAt))),
                                 ("waitedMs", .int(max(0, now - e.enqueuedAt)))])
                    })),
                ])
            }))])
            responder.respond(.json(.ok, json.serializedBytes))
        }
    }

    /// GET /api/v1/status: the operations page's frame (docs/PROTOCOL.md, "Operations page"):
    /// readiness, waiting, oldest wait, agents by state, throughput, service level, alerts.
    static func status(_ request: HTTPRequest, adminToken: String?, feed: OpsFeed) -> HTTPResponse {
        if let r = refusal(request, adminToken: adminToken) { return r }
        return .json(.ok, Array(feed.frame().utf8))
    }

    /// The admin requests answered by the core thread: GET /api/v1/agents, POST
    /// /api/v1/agents/{id}/presence {"state"}, GET /api/v1/sessions/{id}, POST /api/v1/drain
    /// {"drain": true|false}.
    static func core(_ request: HTTPRequest, adminToken: String?, views: (any BrokerViews)?, responder: HTTPResponder,
                     _ make: (HTTPRequest) -> Result<AdminRequest, ClientError>) {
        if let r = refusal(request, adminToken: adminToken) { return responder.respond(r) }
        guard let views else { return responder.respond(ClientError.unavailable("the broker is not ready").response) }
        switch make(request) {
        case .failure(let e): responder.respond(e.response)
        case .success(let req):
            views.admin(req) { status, json in
                responder.respond(.json(HTTPStatus(code: status), json.serializedBytes))
            }
        }
    }

    static func presenceRequest(_ request: HTTPRequest) -> Result<AdminRequest, ClientError> {
        guard let agent = request.params["id"], !agent.isEmpty else { return .failure(ClientError("bad_request", "no agent id", status: .badRequest)) }
        guard let json = try? JSON.parse(request.body), let text = json["state"]?.stringValue, let p = Presence(rawValue: text) else {
            return .failure(ClientError("bad_request", "body must be {\"state\": \"online\"|\"away\"|\"offline\"}", status: .badRequest))
        }
        return .success(.setPresence(agent: agent, p))
    }

    static func drainRequest(_ request: HTTPRequest) -> Result<AdminRequest, ClientError> {
        guard let json = try? JSON.parse(request.body), let on = json["drain"]?.boolValue else {
            return .failure(ClientError("bad_request", "body must be {\"drain\": true|false}", status: .badRequest))
        }
        return .success(.drain(on))
    }

    /// The value of `name` in a raw query string, undecoded.
    static func queryValue(_ query: String?, _ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.first == Substring(name) { return kv.count > 1 ? String(kv[1]) : "" }
        }
        return nil
    }
}
