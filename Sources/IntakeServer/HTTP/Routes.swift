// IntakeServer: the HTTP endpoints of CONTRACT.md and where each is answered.
// Built once at start-up; the router is immutable and shared by every loop.
import IntakeNet
import IntakeWire
import IntakeTelemetry
import IntakeJSON
import IntakeCore
import WebChannel

enum Routes {
    static func make(config: ServerConfig, health: Health, ingestor: (any Ingestor)?,
                     views: (any BrokerViews)?, agents: (any AgentHub)? = nil,
                     widgets: (any WidgetHub)? = nil) -> HTTPRouter<HTTPRoute> {
        var router = HTTPRouter<HTTPRoute>()
        router.add("GET", "/healthz", .sync { _ in .text(.ok, "ok\n") })
        router.add("GET", "/readyz", .sync { _ in
            if let why = health.notReadyReason {
                return .error(status: .serviceUnavailable, code: "not_ready", message: why)
            }
            return .text(.ok, "ready\n")
        })
        router.add("GET", "/metrics", .sync { _ in
            var r = HTTPResponse.text(.ok, MetricsRegistry.shared.exposition())
            r.headers.replaceOrAdd(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            return r
        })
        // The foundation's echo, kept for `intake-bench ws` and the WebSocket interop tests.
        router.add("GET", "/ws/echo", .websocket(.widget) { _ in EchoSession() })
        // Without a broker (a bare Server), /ws/widget and /ws/agent echo too.
        if let widgets {
            router.add("GET", "/ws/widget", .websocket(.widget) { _ in WidgetSession(hub: widgets, ingestor: ingestor) })
        } else {
            router.add("GET", "/ws/widget", .websocket(.widget) { _ in EchoSession() })
        }
        if let agents {
            router.add("GET", "/ws/agent", .websocket(.agent) { _ in AgentSession(hub: agents) })
        } else {
            router.add("GET", "/ws/agent", .websocket(.agent) { _ in EchoSession() })
        }

        let apps = AppAuthenticator(apps: config.apps)
        router.add("POST", "/api/v1/messages", .async { request, responder in
            IngestHTTP.handle(request, apps: apps, ingestor: ingestor, responder: responder)
        })
        let wechat = WeChatHTTP.endpoints(config.wechat)
        router.add("GET", "/wechat/{account}", .async { request, responder in
            WeChatHTTP.handle(request, endpoints: wechat, ingestor: ingestor, responder: responder)
        })
        router.add("POST", "/wechat/{account}", .async { request, responder in
            WeChatHTTP.handle(request, endpoints: wechat, ingestor: ingestor, responder: responder)
        })
        let adminToken = config.adminToken
        router.add("GET", "/api/v1/queues", .async { request, responder in
            AdminHTTP.queues(request, adminToken: adminToken, views: views, responder: responder)
        })

        let botService = (ingestor as? any BotHub)?.botService
        router.add("POST", "/api/v1/kb/reload", .async { request, responder in
            BotHTTP.reload(request, adminToken: adminToken, bot: botService, responder: responder)
        })

        let opsFeed = OpsFeed()
        router.add("GET", "/ws/ops", .websocket(.ops) { _ in OpsSession(feed: opsFeed) })
        router.add("GET", "/api/v1/agents", .async { r, responder in
            AdminHTTP.core(r, adminToken: adminToken, views: views, responder: responder) { _ in .success(.agents) }
        })
        router.add("POST", "/api/v1/agents/{id}/presence", .async { r, responder in
            AdminHTTP.core(r, adminToken: adminToken, views: views, responder: responder, AdminHTTP.presenceRequest)
        })
        router.add("GET", "/api/v1/sessions/{id}", .async { r, responder in
            AdminHTTP.core(r, adminToken: adminToken, views: views, responder: responder) { .success(.session($0.params["id"] ?? "")) }
        })
        router.add("POST", "/api/v1/drain", .async { r, responder in
            AdminHTTP.core(r, adminToken: adminToken, views: views, responder: responder, AdminHTTP.drainRequest)
        })
        router.add("GET", "/api/v1/status", .sync { request in AdminHTTP.status(request, adminToken: adminToken, feed: opsFeed) })
        if let root = OpsAssets.directory, let files = StaticFiles(root: root, urlPrefix: "/ops/") {
            router.add("GET", "/ops/*", .sync { req in files.response(path: req.head.path, ifNoneMatch: req.head.headers["If-None-Match"]) })
            router.add("GET", "/ops", .sync { _ in
                var r = HTTPResponse(status: .movedPermanently)
                r.headers.add(name: "Location", value: "/ops/")
                return r
            })
        } else {
            Log.warning("operations page files not found; /ops/ is not served", ["root": .string(OpsAssets.directory ?? "(none)")])
        }

        if let root = OpsAssets.agentConsoleDirectory, let files = StaticFiles(root: root, urlPrefix: "/agent/") {
            router.add("GET", "/agent/*", .sync { req in files.response(path: req.head.path, ifNoneMatch: req.head.headers["If-None-Match"]) })
            router.add("GET", "/agent", .sync { _ in
                var r = HTTPResponse(status: .movedPermanently)
                r.headers.add(name: "Location", value: "/agent/")
                return r
            })
        }

        let widgetRoot = config.webRoot.map { $0 + "/widget" } ?? WebAssets.widgetDirectory
        if let root = widgetRoot, let files = StaticFiles(root: root, urlPrefix: "/widget/") {
            router.add("GET", "/widget/*", .sync { req in files.response(path: req.head.path, ifNoneMatch: req.head.headers["If-None-Match"]) })
            router.add("GET", "/widget", .sync { _ in
                var r = HTTPResponse(status: .movedPermanently)
                r.headers.add(name: "Location", value: "/widget/")
                return r
            })
        } else {
            Log.warning("widget files not found; /widget/ is not served", ["root": .string(widgetRoot ?? "(none)")])
        }
        return router
    }
}
