// Router: literal, capture and wildcard precedence, 405 with the allowed methods, and 404.
// Test-thread only.
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPRouterTests {
    static let router: HTTPRouter<String> = {
        var r = HTTPRouter<String>()
        r.add("GET", "/healthz", "health")
        r.add("GET", "/", "root")
        r.add("POST", "/api/v1/messages", "ingest")
        r.add("GET", "/api/v1/sessions/{id}", "session")
        r.add("DELETE", "/api/v1/sessions/{id}", "close-session")
        r.add("GET", "/api/v1/sessions/active", "active")
        r.add("GET", "/api/v1/{kind}/{id}/events", "events")
        r.add("GET", "/wechat/{account}", "wechat-check")
        r.add("POST", "/wechat/{account}", "wechat-post")
        r.add("GET", "/widget/*", "widget")
        r.add("GET", "/ops/*", "ops")
        r.add("PUT", "/ops/config", "ops-config")
        return r
    }()

    @Test(arguments: [
        ("GET", "/healthz", "health", [:]),
        ("GET", "/", "root", [:]),
        ("POST", "/api/v1/messages", "ingest", [:]),
        ("GET", "/api/v1/sessions/s-1", "session", ["id": "s-1"]),
        ("DELETE", "/api/v1/sessions/s 2", "close-session", ["id": "s 2"]),
        ("GET", "/api/v1/sessions/active", "active", [:]),
        ("GET", "/api/v1/queues/q9/events", "events", ["kind": "queues", "id": "q9"]),
        ("GET", "/wechat/main", "wechat-check", ["account": "main"]),
        ("POST", "/wechat/main", "wechat-post", ["account": "main"]),
        ("GET", "/widget/", "widget", ["*": ""]),
        ("GET", "/widget/js/app.js", "widget", ["*": "js/app.js"]),
        ("GET", "/ops/config", "ops", ["*": "config"]),
        ("PUT", "/ops/config", "ops-config", [:]),
    ] as [(String, String, String, [String: String])])
    func found(method: String, path: String, handler: String, params: [String: String]) {
        guard case .found(let h, let p) = Self.router.match(method: method, path: path) else {
            Issue.record("\(method) \(path) did not match")
            return
        }
        #expect(h == handler)
        #expect(p == params)
    }

    @Test(arguments: [
        ("POST", "/healthz", ["GET"]),
        ("GET", "/api/v1/messages", ["POST"]),
        ("PUT", "/api/v1/sessions/s-1", ["DELETE", "GET"]),
        ("PATCH", "/ops/config", ["GET", "PUT"]),
        ("get", "/healthz", ["GET"]),
    ])
    func methodNotAllowed(method: String, path: String, allowed: [String]) {
        guard case .methodNotAllowed(let a) = Self.router.match(method: method, path: path) else {
            Issue.record("\(method) \(path) was not 405")
            return
        }
        #expect(a == allowed)
    }

    @Test(arguments: ["/nope", "/healthz/", "/widget", "/api/v1/sessions/", "/api/v1/sessions", "", "healthz", "/wechat//x"])
    func notFound(path: String) {
        guard case .notFound = Self.router.match(method: "GET", path: path) else {
            Issue.record("GET \(path) matched")
            return
        }
    }
}
