// Storage faults at the broker level, over loopback: the disk fills (ENOSPC on every segment
// write from some point on) or an fdatasync fails (EIO) while three NDJSON and two HTTP
// producers ingest concurrently. Afterwards: TCP lines are answered `unavailable`, HTTP 503 with
// the JSON error, /readyz 503 and `intake_ready 0`, while /healthz, /metrics and WebSocket keep
// serving; after a restart on a healthy file system every acknowledged message is there once,
// with the id it was acknowledged with, and a repeat of it is a duplicate.
import Testing
import Dispatch
import Foundation
import Synchronization
@testable import IntakeServer
import IntakeStore
import IntakeNet
import IntakeJSON
import IntakeTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// What the producers saw: acknowledgements by channelMessageId, and the refusals.
final class FaultLedger: Sendable {
    struct Ack: Sendable { var id: String; var session: String; var line: String }
    let acked = Mutex<[String: Ack]>([:])
    let refusals = Mutex<[String]>([])
    let failures = Mutex<[String]>([])
    /// Set when the test has seen enough: producers stop at their next turn.
    let stop = Atomic<Bool>(false)

    func ack(_ cmid: String, _ json: JSON, idKey: String, line: String) {
        guard let id = json[idKey]?.stringValue, let session = json["session"]?.stringValue else {
            failures.withLock { $0.append("\(cmid): acknowledgement without id/session: \(json)") }
            return
        }
        if json["duplicate"]?.boolValue != false { failures.withLock { $0.append("\(cmid): first send answered duplicate") } }
        acked.withLock { $0[cmid] = Ack(id: id, session: session, line: line) }
    }
    var ackCount: Int { acked.withLock { $0.count } }
}

@Suite(.timeLimit(.minutes(5)), .serialized)
struct BrokerFaultTests {
    static let key = "cityapp-key-0123456789"

    func config(_ dir: String) -> ServerConfig {
        var c = ServerConfig()
        c.http = Endpoint(host: "127.0.0.1", port: 0)
        c.tcp = Endpoint(host: "127.0.0.1", port: 0)
        c.loops = 2
        c.dataDir = dir
        c.shutdownGraceSeconds = 1
        c.logLevel = "error"  // the sticky failure logs an error line; keep the test output short
        c.apps = [AppAccount(account: "cityapp", key: Self.key, webhook: nil)]
        c.httpRate = .off  // closed-loop producers may exceed 100 requests a second: not what is tested here
        return c
    }

    func line(_ cmid: String, _ citizen: String) -> String {
        JSON.object([("channel", "app"), ("account", "cityapp"), ("channelMessageId", .string(cmid)),
                     ("citizen", .string(citizen)), ("kind", "text"), ("text", .string("text of " + cmid))]).serializedString
    }

    /// Sends windows of 4 lines until the store refuses, then 2 more windows (every answer must
    /// be a refusal: sticky), and returns.
    func tcpProducer(_ port: Int, _ p: Int, _ ledger: FaultLedger) {
        do {
            let s = try TestSocket(port: port)
            try s.send(#"{"type":"auth","account":"cityapp","key":"\#(Self.key)"}"# + "\n")
            guard try JSON.parse(try s.receiveLine())["type"]?.stringValue == "authenticated" else { throw TestSocketError("auth") }
            var n = 0, windowsAfterRefusal = 0
            while windowsAfterRefusal < 3 && !ledger.stop.load(ordering: .relaxed) {
                let cmids = (0..<4).map { "t\(p)-\(n + $0)" }
                let lines = cmids.map { line($0, "tc\(p)-\(n % 3)") }
                n += 4
                try s.send(lines.map { $0 + "\n" }.joined())
                var refused = windowsAfterRefusal > 0
                for (cmid, sent) in zip(cmids, lines) {
                    let a = try JSON.parse(try s.receiveLine(timeout: 10))
                    if a["ack"] != nil {
                        if refused { ledger.failures.withLock { $0.append("\(cmid) acknowledged after a refusal: \(a)") } }
                        ledger.ack(cmid, a, idKey: "ack", line: sent)
                    } else {
                        refused = true
                        ledger.refusals.withLock { $0.append("tcp \(a["error"]?.stringValue ?? "?"): \(a["message"]?.stringValue ?? "")") }
                    }
                }
                if refused { windowsAfterRefusal += 1 }
            }
        } catch {
            ledger.failures.withLock { $0.append("tcp producer \(p): \(error)") }
        }
    }

    /// POSTs one message at a time on a keep-alive connection until refused, then twice more.
    func httpProducer(_ port: Int, _ p: Int, _ ledger: FaultLedger) {
        do {
            let s = try TestSocket(port: port)
            var n = 0, afterRefusal = 0
            while afterRefusal < 3 && !ledger.stop.load(ordering: .relaxed) {
                let cmid = "h\(p)-\(n)"
                let body = line(cmid, "hc\(p)-\(n % 3)")
                n += 1
                let r = try httpExchange(s, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Self.key)\r\n"
                                         + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body, timeout: 10)
                let json = try JSON.parse(Array(r.body.utf8))
                if r.status == 202 {
                    if afterRefusal > 0 { ledger.failures.withLock { $0.append("\(cmid) acknowledged after a refusal") } }
                    ledger.ack(cmid, json, idKey: "id", line: body)
                } else {
                    afterRefusal += 1
                    ledger.refusals.withLock { $0.append("http \(r.status) \(json["error"]?.stringValue ?? "?"): \(json["message"]?.stringValue ?? "")") }
                }
            }
        } catch {
            ledger.failures.withLock { $0.append("http producer \(p): \(error)") }
        }
    }

    func get(_ port: Int, _ path: String) throws -> (status: Int, head: String, body: String) {
        let s = try TestSocket(port: port)
        defer { s.close() }
        return try httpExchange(s, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
    }

    @Test(arguments: [FaultyFileSystem.Fault.failWrite(errno: ENOSPC), .failSync(errno: EIO)])
    func aStorageFaultUnderMixedLoadIsRefusedEverywhereAndLosesNothingAcknowledged(fault: FaultyFileSystem.Fault) throws {
        let dir = "/tmp/intake-fault-test-\(UInt32.random(in: 0...UInt32.max))"
        let fs = FaultyFileSystem()
        var options = BrokerOptions()
        options.fileSystem = fs
        let broker = try Broker.start(config: config(dir), options: options)
        let http = broker.server.httpEndpoint.port, tcp = broker.server.tcpEndpoint.port
        let ledger = FaultLedger()
        let done = DispatchGroup()
        for p in 0..<3 { done.enter(); Thread.detachNewThread { tcpProducer(tcp, p, ledger); done.leave() } }
        for p in 0..<2 { done.enter(); Thread.detachNewThread { httpProducer(http, p, ledger); done.leave() } }

        #expect(waitFor(timeout: 20) { ledger.ackCount >= 60 }, "only \(ledger.ackCount) acknowledged before the fault")
        // ENOSPC: the disk stays full (every segment write fails from now on). EIO: one failed
        // fdatasync is enough; the store must not retry it.
        if case .failWrite = fault { fs.inject(fault, onNth: 1, repeating: true) } else { fs.inject(fault, onNth: 1) }
        let finished = done.wait(timeout: .now() + 30) == .success
        ledger.stop.store(true, ordering: .relaxed)
        #expect(finished, "producers did not see the refusal")
        #expect(fs.counts.fired.contains(fault))
        #expect(ledger.failures.withLock { $0 }.isEmpty, "\(ledger.failures.withLock { $0 })")
        let refusals = ledger.refusals.withLock { $0 }
        #expect(refusals.filter { $0.hasPrefix("tcp unavailable: ") && $0.contains("store") }.count >= 3, "\(refusals.prefix(6))")
        #expect(refusals.filter { $0.hasPrefix("http 503 unavailable: ") }.count >= 2, "\(refusals.prefix(6))")
        #expect(refusals.allSatisfy { $0.hasPrefix("tcp unavailable") || $0.hasPrefix("http 503 unavailable") }, "\(refusals)")

        // Not ready, and says why; alive, and still serving what needs no store.
        let ready = try get(http, "/readyz")
        #expect(ready.status == 503 && ready.body.contains("store not ready"), "\(ready.body)")
        #expect(try get(http, "/healthz").status == 200)
        // `intake_ready` is a process-wide series that the newest broker of the process
        // registers; tests running in parallel start brokers too. Registering ours again just
        // before each scrape makes the read about this broker (a few tries cover a parallel
        // start landing in between); a healthy reading on every try would be a real failure.
        var readyValues: [Double] = []
        for _ in 0..<5 {
            registerProcessGauges(health: broker.server.health, dataDir: dir)
            let m = try get(http, "/metrics")
            #expect(m.status == 200)
            readyValues.append(metricValue(m.body, "intake_ready"))
            if readyValues.last == 0 { break }
        }
        #expect(readyValues.last == 0, "intake_ready read \(readyValues)")
        let ops = try WebSocketTestClient(port: http, path: "/ws/ops")
        guard case .text(let frame) = try ops.receive() else { Issue.record("no ops frame"); return }
        #expect(frame.contains("\"type\":\"ops\""))
        // A new producer is let in (authentication needs no store) and refused at once.
        let late = try TestSocket(port: tcp)
        try late.send(#"{"type":"auth","account":"cityapp","key":"\#(Self.key)"}"# + "\n" + line("late-1", "late") + "\n")
        #expect(try JSON.parse(try late.receiveLine())["type"]?.stringValue == "authenticated")
        #expect(try JSON.parse(try late.receiveLine())["error"]?.stringValue == "unavailable")
        broker.shutdown()

        // Restart on a healthy file system: everything acknowledged is there, once, as acknowledged.
        let acked = ledger.acked.withLock { $0 }
        let healthy = try Broker.start(config: config(dir))
        let check = try TestSocket(port: healthy.server.tcpEndpoint.port)
        try check.send(#"{"type":"auth","account":"cityapp","key":"\#(Self.key)"}"# + "\n")
        _ = try check.receiveLine()
        for (_, ack) in acked.sorted(by: { $0.key < $1.key }).prefix(40) {
            try check.send(ack.line + "\n")
            let a = try JSON.parse(try check.receiveLine())
            #expect(a["duplicate"]?.boolValue == true && a["ack"]?.stringValue == ack.id && a["session"]?.stringValue == ack.session,
                    "\(ack.line): \(a)")
        }
        healthy.shutdown()
        var bytes: [UInt8] = []
        _ = try OfflineTools.exportJSONL(dataDir: dir) { bytes += $0 }
        let stored = try bytes.split(separator: 0x0A).map { try JSON.parse(Array($0)) }
        var seen: [String: String] = [:]
        for e in stored {
            let cmid = e["channelMessageId"]?.stringValue ?? ""
            #expect(seen[cmid] == nil, "\(cmid) stored twice")
            seen[cmid] = e["id"]?.stringValue
        }
        for (cmid, ack) in acked { #expect(seen[cmid] == ack.id, "acknowledged \(cmid) (\(ack.id)) is \(seen[cmid] ?? "missing")") }
        #expect(seen["late-1"] == nil)
        print("fault \(fault): \(acked.count) acknowledged before it, \(refusals.count) refusals after, \(stored.count) stored")
    }
}
