// Every connection limit of the real server over loopback sockets: total and per-IP connections
// (closed at accept, counted by reason), per-connection rates (HTTP 429 with Retry-After,
// WebSocket error frame then 1008, NDJSON rate_limited lines in order), slowloris (dribbled
// heads and bodies get 408), idle WebSocket and TCP peers, fragmented WebSocket messages and
// chunked bodies over their limits, and a WebSocket peer that stops reading, cut off while a
// healthy client keeps its latency.
import Testing
import Dispatch
import Foundation
import Synchronization
import IntakeServer
import IntakeWire
import IntakeJSON
import IntakeTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The value of one series in a /metrics text (0 when absent). `labels` as written, e.g. `reason="per_ip"`.
func metricValue(_ text: String, _ name: String, _ labels: String = "") -> Double {
    let prefix = labels.isEmpty ? name + " " : name + "{" + labels + "} "
    for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
        return Double(line.dropFirst(prefix.count)) ?? 0
    }
    return 0
}

/// GET /metrics over a fresh connection from `source` (a loopback address that holds no other
/// connection, so the per-IP limit under test does not refuse the scrape itself).
func scrape(_ server: Server, source: String = "127.0.0.250") throws -> String {
    let s = try TestSocket(port: server.httpEndpoint.port, source: source)
    defer { s.close() }
    return try httpExchange(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").body
}

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func sleepSeconds(_ s: Double) { usleep(UInt32(s * 1e6)) }

@Suite(.timeLimit(.minutes(5)))
struct ConnectionLimitTests {
    @Test func perIPLimitClosesTheExtraConnectionAtAcceptAndOthersStillConnect() throws {
        let server = try startServer { $0.maxConnectionsPerIP = 3 }
        defer { server.shutdown() }
        let before = metricValue(try scrape(server), "intake_connections_rejected_total", #"reason="per_ip""#)
        // Three from 127.0.0.1 over both listeners: the limit counts the address, not the listener.
        let a = try TestSocket(port: server.httpEndpoint.port), b = try TestSocket(port: server.httpEndpoint.port)
        let t = try TestSocket(port: server.tcpEndpoint.port)
        #expect(try httpExchange(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        #expect(try httpExchange(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        try t.send("not json\n")
        #expect(try JSON.parse(try t.receiveLine())["error"]?.stringValue == "bad_json")
        #expect(waitFor { server.openConnections == 3 })

        // The fourth is closed before anything is read or written: no answer, just the close.
        let extra = try TestSocket(port: server.httpEndpoint.port)
        try? extra.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect((try? extra.receiveToEOF(timeout: 3)) ?? [] == [])
        let extraTCP = try TestSocket(port: server.tcpEndpoint.port)
        #expect(extraTCP.waitForClose(timeout: 3))

        // Another address is not affected, and the refusals are counted by reason.
        let other = try TestSocket(port: server.httpEndpoint.port, source: "127.0.0.2")
        #expect(try httpExchange(other, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        let after = metricValue(try scrape(server), "intake_connections_rejected_total", #"reason="per_ip""#)
        #expect(after - before >= 2, "per_ip refusals \(before) → \(after)")

        // A slot freed is a slot again.
        a.close()
        #expect(waitFor { server.openConnections == 3 })  // b, t, other
        let again = try TestSocket(port: server.httpEndpoint.port)
        #expect(try httpExchange(again, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        for s in [b, t, other, again] { s.close() }
        #expect(waitFor { server.openConnections == 0 && server.peersTracked == 0 }, "peers left: \(server.peersTracked)")
    }

    @Test func totalLimitClosesTheExtraConnectionAtAccept() throws {
        let server = try startServer {
            $0.maxConnections = 3
            $0.maxConnectionsPerIP = 0
        }
        defer { server.shutdown() }
        let kept = try (0..<3).map { i in try TestSocket(port: server.httpEndpoint.port, source: "127.0.1.\(i + 1)") }
        for s in kept { #expect(try httpExchange(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200) }
        let extra = try TestSocket(port: server.tcpEndpoint.port, source: "127.0.1.9")
        #expect(extra.waitForClose(timeout: 3))
        // Scrape on a kept connection: a new one would be refused too.
        let m = try httpExchange(kept[0], "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").body
        #expect(metricValue(m, "intake_connections_rejected_total", #"reason="max_connections""#) >= 1)
        #expect(m.contains(#"intake_connections_rejected_total{reason="per_ip"}"#))
        kept[1].close()
        #expect(waitFor { server.openConnections == 2 })
        let again = try TestSocket(port: server.tcpEndpoint.port, source: "127.0.1.9")
        try again.send("x\n")
        #expect(try JSON.parse(try again.receiveLine())["error"]?.stringValue == "bad_json")
    }
}

@Suite(.timeLimit(.minutes(5)))
struct RateLimitTests {
    @Test func httpOverTheRateGets429WithRetryAfterAndTheConnectionStays() throws {
        // One token a second: the five requests below are handled within it, even on a busy host.
        let server = try startServer { $0.httpRate = RateLimit(perSecond: 1, burst: 3) }
        defer { server.shutdown() }
        let before = metricValue(try scrape(server), "intake_rate_limited_total", #"kind="http""#)
        let s = try TestSocket(port: server.httpEndpoint.port)
        // Five pipelined requests in one write: the burst of three is served, two are refused.
        try s.send(String(repeating: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", count: 5))
        let answers = try (0..<5).map { _ in try readResponse(s) }
        #expect(answers.map(\.status) == [200, 200, 200, 429, 429])
        let refused = answers[3]
        #expect(refused.head.contains("Retry-After: 1\r\n"), "\(refused.head)")
        let body = try JSON.parse(Array(refused.body.utf8))
        #expect(body["error"]?.stringValue == "rate_limited")
        #expect(body["message"]?.stringValue?.contains("more than 1 request a second (burst 3)") == true)
        #expect(!refused.head.lowercased().contains("connection: close"))
        // After a token's worth of time, the same connection is served again.
        sleepSeconds(1.05)
        #expect(try httpExchange(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        let after = metricValue(try scrape(server), "intake_rate_limited_total", #"kind="http""#)
        #expect(after - before >= 2)
    }

    @Test func webSocketOverTheRateGetsAnErrorFrameThen1008() throws {
        let server = try startServer { $0.wsRate = RateLimit(perSecond: 1, burst: 3) }
        defer { server.shutdown() }
        let ws = try WebSocketTestClient(port: server.httpEndpoint.port, path: "/ws/agent")  // echo on a bare server
        for i in 0..<3 { try ws.sendText("m\(i)") }
        for i in 0..<3 { #expect(try ws.receive() == .text("m\(i)")) }
        // Over the rate: dropped, with an error frame; the connection stays.
        try ws.sendText("dropped")
        guard case .text(let warning) = try ws.receive() else { Issue.record("no error frame"); return }
        let w = try JSON.parse(Array(warning.utf8))
        #expect(w["type"]?.stringValue == "error" && w["code"]?.stringValue == "rate_limited", "\(warning)")
        #expect((w["retryAfterMs"]?.intValue ?? 0) > 0)
        // Slowing down clears the warning …
        sleepSeconds(1.1)
        try ws.sendText("within")
        #expect(try ws.receive() == .text("within"))
        // … and going on over the rate after a warning closes with 1008.
        try ws.sendText("over 1")
        try ws.sendText("over 2")
        guard case .text(let second) = try ws.receive() else { Issue.record("no second error frame"); return }
        #expect(second.contains("rate_limited"))
        #expect(try ws.receive() == .close(code: 1008, reason: "rate limit exceeded"))
        #expect(ws.socket.waitForClose(timeout: 3))
        #expect(metricValue(try scrape(server), "intake_rate_limited_total", #"kind="ws""#) >= 3)
    }

    @Test func ndjsonOverTheRateIsAnsweredInOrderAndNotProcessed() throws {
        let server = try startServer { $0.tcpRate = RateLimit(perSecond: 1, burst: 3) }
        defer { server.shutdown() }
        let s = try TestSocket(port: server.tcpEndpoint.port)
        try s.send("a\nb\nc\nd\ne\n")
        let answers = try (0..<5).map { _ in try JSON.parse(try s.receiveLine()) }
        #expect(answers.map { $0["error"]?.stringValue ?? "" } == ["bad_json", "bad_json", "bad_json", "rate_limited", "rate_limited"])
        #expect((answers[3]["retryAfterMs"]?.intValue ?? 0) > 0)
        #expect(answers[3]["message"]?.stringValue?.contains("not processed") == true)
        // The connection stays open, and a line within the rate is processed again.
        sleepSeconds(1.1)
        try s.send(#"{"type":"auth","account":"cityapp","key":"cityapp-key-0123456789"}"# + "\n")
        #expect(try JSON.parse(try s.receiveLine())["type"]?.stringValue == "authenticated")
    }
}

@Suite(.timeLimit(.minutes(5)))
struct SlowPeerTests {
    /// Sends `prefix`, then one byte of `dribble` every 100 ms, until the server answers or
    /// closes; returns what it said and when (seconds after the first byte).
    func dribble(_ s: TestSocket, prefix: String, dribble: UInt8, for limit: Double) throws -> (bytes: [UInt8], after: Double) {
        let start = seconds()
        try s.send(prefix)
        var got: [UInt8] = []
        while seconds() - start < limit {
            if (try? s.send([dribble])) == nil { break }  // closed under us
            if let b = try? s.receiveSome(timeout: 0.1) {
                got += b
                if b.isEmpty || String(decoding: got, as: UTF8.self).contains("\r\n\r\n") { break }
            }
        }
        return (got, seconds() - start)
    }

    @Test func dribbledHeadsAndBodiesAreCutOffAtTheHeaderTimeout() throws {
        let server = try startServer { $0.headerTimeoutSeconds = 1 }
        defer { server.shutdown() }
        let port = server.httpEndpoint.port
        // A head that never ends, a byte at a time, well inside the idle timeout each time.
        let head = try TestSocket(port: port)
        let h = try dribble(head, prefix: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", dribble: UInt8(ascii: "a"), for: 6)
        #expect(String(decoding: h.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408"), "\(String(decoding: h.bytes, as: UTF8.self))")
        #expect(h.after >= 0.9 && h.after < 3.5, "408 after \(h.after) s")
        #expect(head.waitForClose(timeout: 3))
        // A body announced and then dribbled: the whole request has the same deadline.
        let body = try TestSocket(port: port)
        let b = try dribble(body, prefix: "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
                            dribble: UInt8(ascii: "{"), for: 6)
        #expect(String(decoding: b.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
        #expect(b.after >= 0.9 && b.after < 3.5, "408 after \(b.after) s")
        print("slowloris: dribbled head answered 408 after \(h.after) s, dribbled body after \(b.after) s (header timeout 1 s)")
        // Others were served meanwhile.
        let ok = try TestSocket(port: port)
        #expect(try httpExchange(ok, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
    }

    @Test func silentWebSocketPeersArePingedThenClosedAndSilentTCPPeersClosed() throws {
        let server = try startServer {
            $0.wsIdleTimeoutSeconds = 2
            $0.tcpIdleTimeoutSeconds = 1
        }
        defer { server.shutdown() }
        let ws = try WebSocketTestClient(port: server.httpEndpoint.port, path: "/ws/agent")
        let tcp = try TestSocket(port: server.tcpEndpoint.port)
        let start = seconds()
        #expect(try ws.receive(timeout: 4) == .ping([]))
        #expect(try ws.receiveClose(timeout: 4) == 1001)
        #expect(seconds() - start < 5)
        #expect(tcp.waitForClose(timeout: 4))
    }

    @Test func oversizedFragmentedMessagesAndChunkedBodiesAreRefused() throws {
        let server = try startServer {
            $0.maxMessageBytes = 1000
            $0.maxBodyBytes = 1000
        }
        defer { server.shutdown() }
        // Three fragments of 400 bytes: each is fine, the message is not → 1009.
        let ws = try WebSocketTestClient(port: server.httpEndpoint.port, path: "/ws/agent")
        let part = [UInt8](repeating: UInt8(ascii: "f"), count: 400)
        try ws.sendFrame(opcode: .text, payload: part, fin: false)
        try ws.sendFrame(opcode: .continuation, payload: part, fin: false)
        try ws.sendFrame(opcode: .continuation, payload: part, fin: true)
        #expect(try ws.receiveClose() == 1009)
        // A chunked body that grows past the limit → 413, and the connection closes.
        let s = try TestSocket(port: server.httpEndpoint.port)
        let chunk = "190\r\n" + String(repeating: "c", count: 400) + "\r\n"
        let r = try httpExchange(s, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 + chunk + chunk + chunk + "0\r\n\r\n")
        #expect(r.status == 413)
        #expect(r.body.contains("body_too_large"))
        #expect(s.waitForClose(timeout: 3))
    }

    @Test func aWebSocketPeerThatStopsReadingIsCutOffWhileAHealthyOneKeepsItsLatency() throws {
        let server = try startServer {
            $0.outboundBufferBytes = 64 * 1024
            $0.slowConsumerSeconds = 1
        }
        defer { server.shutdown() }
        let port = server.httpEndpoint.port
        let slowBefore = metricValue(try scrape(server), "intake_slow_consumers_total")
        let healthy = try WebSocketTestClient(port: port, path: "/ws/agent", source: "127.0.0.3")
        let slow = try WebSocketTestClient(port: port, path: "/ws/agent", source: "127.0.0.4")
        // The slow peer asks for 60 × 128 KiB of echoes (its burst) and never reads: more than
        // the kernel's socket buffers on both sides hold (up to 4 MiB sending on this machine),
        // so the rest piles up in the broker. Its sends may block once the broker stops reading
        // it, so they run on their own thread.
        let sent = DispatchSemaphore(value: 0)
        let box = UncheckedBox(slow)
        Thread.detachNewThread {
            let chunk = String(repeating: "s", count: 128 * 1024)
            for _ in 0..<60 { if (try? box.value.sendText(chunk)) == nil { break } }
            sent.signal()
        }
        // Meanwhile the healthy peer keeps going, one round trip at a time (every 50 ms: within
        // the default WebSocket rate of 20 a second).
        var worst = 0.0, rounds = 0
        let start = seconds()
        while seconds() - start < 3 {
            let t0 = seconds()
            try healthy.sendText("h\(rounds)")
            #expect(try healthy.receive(timeout: 2) == .text("h\(rounds)"))
            worst = max(worst, seconds() - t0)
            rounds += 1
            usleep(50_000)
        }
        #expect(worst < 0.5, "the healthy peer waited \(worst) s for an echo")
        #expect(rounds > 30)
        #expect(waitFor(timeout: 5) { server.openConnections == 1 }, "open: \(server.openConnections)")
        #expect(sent.wait(timeout: .now() + 5) == .success)
        let m = try httpExchange(try TestSocket(port: port), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").body
        #expect(metricValue(m, "intake_slow_consumers_total") - slowBefore >= 1)
        // The slow peer finds its connection gone once it looks.
        #expect(slow.socket.waitForClose(timeout: 5))
        print("slow consumer: cut off; the healthy peer made \(rounds) round trips, the slowest \(Int(worst * 1000)) ms")
    }
}
