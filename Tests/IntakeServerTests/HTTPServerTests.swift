// The HTTP/1.1 side of the real server over loopback: health endpoints, keep-alive and
// pipelining, every limit (400, 408, 413, 431), JSON error bodies, static files, metrics.
import Testing
import IntakeServer
import IntakeTestSupport

@Suite(.timeLimit(.minutes(5)))
struct HTTPServerTests {
    @Test func healthReadyAndMetrics() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let s = try TestSocket(port: server.httpEndpoint.port)
        let h = try httpExchange(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(h.status == 200 && h.body == "ok\n")
        let r = try httpExchange(s, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(r.status == 200)
        let m = try httpExchange(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(m.status == 200)
        #expect(m.head.contains("text/plain; version=0.0.4"))
        #expect(m.body.contains("# TYPE intake_connections gauge"))
        #expect(m.body.contains("intake_connections{kind=\"http\"}"))
    }

    @Test func keepAliveAndPipelining() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let s = try TestSocket(port: server.httpEndpoint.port)
        // Three requests in one write, one with a chunked body: three answers, in order.
        try s.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try readResponse(s).status == 200)
        let missing = try readResponse(s)
        #expect(missing.status == 404)
        #expect(missing.body.contains("\"error\":\"not_found\""))
        #expect(try readResponse(s).body == "ready\n")
        // HTTP/1.0 without keep-alive: answered, then closed.
        let old = try TestSocket(port: server.httpEndpoint.port)
        #expect(try httpExchange(old, "GET /healthz HTTP/1.0\r\n\r\n").status == 200)
        #expect(old.waitForClose(timeout: 3))
    }

    @Test func limitsAnswerWithTheRightStatus() throws {
        let server = try startServer { $0.headerTimeoutSeconds = 1 }
        defer { server.shutdown() }
        let port = server.httpEndpoint.port

        let big = try TestSocket(port: port)
        let r431 = try httpExchange(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 17_000) + "\r\n\r\n")
        #expect(r431.status == 431)
        #expect(r431.body.contains("\"error\":"))
        #expect(big.waitForClose(timeout: 3))

        let body = try TestSocket(port: port)
        let r413 = try httpExchange(body, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
        #expect(r413.status == 413)

        let bad = try TestSocket(port: port)
        let r400 = try httpExchange(bad, "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
        #expect(r400.status == 400)
        #expect(r400.head.lowercased().contains("connection: close"))

        let smuggle = try TestSocket(port: port)
        let rs = try httpExchange(smuggle, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(rs.status == 400)

        // Slowloris: half a request head, then silence → 408 after the header timeout.
        let slow = try TestSocket(port: port)
        try slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        let r408 = try readResponse(slow, timeout: 4)
        #expect(r408.status == 408)
        #expect(slow.waitForClose(timeout: 3))

        // Others are still served.
        let ok = try TestSocket(port: port)
        #expect(try httpExchange(ok, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
    }

    @Test func wrongMethodAndUnknownPathAreJSONErrors() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let s = try TestSocket(port: server.httpEndpoint.port)
        let r = try httpExchange(s, "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(r.status == 405)
        #expect(r.head.contains("Allow: GET"))
        #expect(r.body.contains("\"error\":\"method_not_allowed\""))
    }

    @Test func widgetStaticFilesWithoutTraversal() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let s = try TestSocket(port: server.httpEndpoint.port)
        let page = try httpExchange(s, "GET /widget/ HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(page.status == 200)
        #expect(page.head.contains("text/html"))
        #expect(page.body.contains("<html") || page.body.contains("<!doctype html"))
        for evil in ["/widget/../Package.swift", "/widget/%2e%2e/%2e%2e/etc/passwd", "/widget/..%2fPackage.swift"] {
            let r = try httpExchange(s, "GET \(evil) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(r.status == 404 || r.status == 403 || r.status == 400, "\(evil) gave \(r.status)")
            #expect(!r.body.contains("PackageDescription"))
            if r.status == 400 { break }  // a 400 closes the connection
        }
    }

    @Test func idleKeepAliveConnectionsAreClosed() throws {
        let server = try startServer { $0.idleTimeoutSeconds = 1 }
        defer { server.shutdown() }
        let s = try TestSocket(port: server.httpEndpoint.port)
        #expect(try httpExchange(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        #expect(s.waitForClose(timeout: 4))
    }
}
