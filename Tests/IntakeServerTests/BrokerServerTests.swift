// The durable broker over loopback: TCP and HTTP ingest acknowledged after durability,
// duplicates (in flight, stored, and across a restart), the admin queue view, and injected
// ENOSPC/EIO: sticky refusals, /readyz 503, and nothing acknowledged lost.
import Testing
import IntakeServer
import IntakeStore
import IntakeCore
import IntakeNet
import IntakeJSON
import IntakeTestSupport
#if canImport(Glibc)
import Glibc
#endif

let appKey = "cityapp-key-0123456789"
let adminToken = "admin-token-0123456789"

func brokerConfig(dataDir: String, fsync: String = "always") -> ServerConfig {
    var c = ServerConfig()
    c.http = Endpoint(host: "127.0.0.1", port: 0)
    c.tcp = Endpoint(host: "127.0.0.1", port: 0)
    c.loops = 2
    c.dataDir = dataDir
    c.fsync = fsync
    c.shutdownGraceSeconds = 1
    c.adminToken = adminToken
    c.apps = [AppAccount(account: "cityapp", key: appKey, webhook: nil)]
    return c
}

func freshDataDir() -> String { "/tmp/intake-broker-test-\(UInt32.random(in: 0...UInt32.max))" }

func messageLine(_ cmid: String, citizen: String = "u1", priority: Int? = nil) -> String {
    var m: [(String, JSON)] = [("channel", "app"), ("account", "cityapp"), ("channelMessageId", .string(cmid)),
                               ("citizen", .string(citizen)), ("kind", "text"), ("text", .string("text of " + cmid))]
    if let priority { m.append(("priority", .int(Int64(priority)))) }
    return JSON.object(m).serializedString
}

/// An authenticated NDJSON connection.
func ingestConnection(_ broker: Broker) throws -> TestSocket {
    let s = try TestSocket(port: broker.server.tcpEndpoint.port)
    try s.send(#"{"type":"auth","account":"cityapp","key":"\#(appKey)"}"# + "\n")
    #expect(try JSON.parse(try s.receiveLine())["type"]?.stringValue == "authenticated")
    return s
}

func send(_ s: TestSocket, _ line: String) throws -> JSON {
    try s.send(line + "\n")
    return try JSON.parse(try s.receiveLine())
}

func exported(_ dir: String) throws -> [JSON] {
    var bytes: [UInt8] = []
    _ = try OfflineTools.exportJSONL(dataDir: dir) { bytes += $0 }
    return try bytes.split(separator: 0x0A).map { try JSON.parse(Array($0)) }
}

func httpPost(_ broker: Broker, _ body: String) throws -> (status: Int, head: String, body: String) {
    let s = try TestSocket(port: broker.server.httpEndpoint.port)
    return try httpExchange(s, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(appKey)\r\n"
                            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
}

func httpGet(_ broker: Broker, _ path: String, token: String? = nil) throws -> (status: Int, head: String, body: String) {
    let s = try TestSocket(port: broker.server.httpEndpoint.port)
    let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
    return try httpExchange(s, "GET \(path) HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
}

@Suite(.timeLimit(.minutes(5)), .serialized)
struct BrokerServerTests {
    @Test func tcpAndHTTPIngestAreAcknowledgedAndDuplicatesStoreNothing() throws {
        let dir = freshDataDir()
        let broker = try Broker.start(config: brokerConfig(dataDir: dir))
        let s = try ingestConnection(broker)
        let ack = try send(s, messageLine("t1"))
        #expect(ack["duplicate"]?.boolValue == false)
        let id = try #require(ack["ack"]?.stringValue)
        #expect(id.hasPrefix("m") && ack["session"]?.stringValue?.hasPrefix("s") == true)
        let dup = try send(s, messageLine("t1"))
        #expect(dup["ack"]?.stringValue == id && dup["duplicate"]?.boolValue == true)

        let posted = try httpPost(broker, messageLine("h1"))
        #expect(posted.status == 202)
        let body = try JSON.parse(Array(posted.body.utf8))
        #expect(body["duplicate"]?.boolValue == false && body["session"] == ack["session"])
        let again = try httpPost(broker, messageLine("h1"))
        let againBody = try JSON.parse(Array(again.body.utf8))
        #expect(again.status == 202 && againBody["id"] == body["id"])
        #expect(againBody["duplicate"]?.boolValue == true)
        broker.shutdown()

        let stored = try exported(dir)
        #expect(stored.map { $0["channelMessageId"]?.stringValue ?? "" } == ["t1", "h1"])
        #expect(stored[0]["id"]?.stringValue == id && stored[0]["text"]?.stringValue == "text of t1")
    }

    @Test func aRestartFindsTheMessagesAndStillRecognisesDuplicates() throws {
        let dir = freshDataDir()
        var ids: [String: String] = [:]
        do {
            let broker = try Broker.start(config: brokerConfig(dataDir: dir))
            defer { broker.shutdown() }
            let s = try ingestConnection(broker)
            for i in 0..<20 { ids["r\(i)"] = try send(s, messageLine("r\(i)", citizen: "c\(i % 4)"))["ack"]?.stringValue }
        }
        let broker = try Broker.start(config: brokerConfig(dataDir: dir))
        #expect(broker.startReport.messages == 20 && broker.startReport.sessions == 4, "\(broker.startReport)")
        let s = try ingestConnection(broker)
        for i in [0, 7, 19] {
            let a = try send(s, messageLine("r\(i)", citizen: "c\(i % 4)"))
            #expect(a["ack"]?.stringValue == ids["r\(i)"] && a["duplicate"]?.boolValue == true)
        }
        let fresh = try send(s, messageLine("new", citizen: "c1"))
        #expect(fresh["duplicate"]?.boolValue == false)
        #expect(try #require(fresh["ack"]?.stringValue) > ids.values.max()!)
        let queues = try httpGet(broker, "/api/v1/queues", token: adminToken)
        #expect(queues.status == 200)
        let general = try JSON.parse(Array(queues.body.utf8))["queues"]?[0]
        #expect(general?["depth"]?.intValue == 4)
        broker.shutdown()
        #expect(try exported(dir).count == 21)
    }

    @Test func theQueueViewNeedsTheAdminTokenAndListsSessionsInServiceOrder() throws {
        let broker = try Broker.start(config: brokerConfig(dataDir: freshDataDir()))
        defer { broker.shutdown() }
        #expect(try httpGet(broker, "/api/v1/queues").status == 401)
        #expect(try httpGet(broker, "/api/v1/queues", token: "wrong-token-0123456789").status == 401)
        let s = try ingestConnection(broker)
        var sessions: [String] = []
        for (i, p) in [0, 5, 5, 9].enumerated() {
            sessions.append(try send(s, messageLine("q\(i)", citizen: "q\(i)", priority: p))["session"]?.stringValue ?? "")
        }
        let r = try httpGet(broker, "/api/v1/queues?limit=3", token: adminToken)
        #expect(r.status == 200)
        let q = try #require(try JSON.parse(Array(r.body.utf8))["queues"]?[0])
        #expect(q["name"]?.stringValue == "general" && q["depth"]?.intValue == 4)
        #expect(q["depthByPriority"]?[5]?.intValue == 2)
        #expect(q["sessions"]?.arrayValue?.compactMap { $0["session"]?.stringValue } == [sessions[3], sessions[1], sessions[2]])
        #expect(try httpGet(broker, "/api/v1/queues?limit=x", token: adminToken).status == 400)
    }

    @Test(arguments: [FaultyFileSystem.Fault.failWrite(errno: ENOSPC), .failSync(errno: EIO)])
    func aStorageFailureIsStickyAndLosesNothingAcknowledged(fault: FaultyFileSystem.Fault) throws {
        let dir = freshDataDir()
        let fs = FaultyFileSystem()
        var options = BrokerOptions()
        options.fileSystem = fs
        let broker = try Broker.start(config: brokerConfig(dataDir: dir), options: options)
        let s = try ingestConnection(broker)
        var acked: [String] = []
        for i in 0..<10 {
            let a = try send(s, messageLine("f\(i)", citizen: "c\(i % 3)"))
            if a["duplicate"]?.boolValue == false { acked.append("f\(i)") }
        }
        #expect(acked.count == 10)
        #expect(try httpGet(broker, "/readyz").status == 200)
        fs.inject(fault, onNth: 1, repeating: true)
        let failed = try send(s, messageLine("doomed"))
        #expect(failed["error"]?.stringValue == "unavailable", "\(failed)")
        #expect(failed["message"]?.stringValue?.contains("store failed") == true)
        // Sticky: refused at once from now on, on every path; a repeat of an acknowledged
        // message is refused too rather than answered from memory.
        #expect(try send(s, messageLine("later"))["error"]?.stringValue == "unavailable")
        #expect(try send(s, messageLine("f1"))["error"]?.stringValue == "unavailable")
        #expect(try httpPost(broker, messageLine("http-later")).status == 503)
        let ready = try httpGet(broker, "/readyz")
        #expect(ready.status == 503 && ready.body.contains("store"))
        broker.shutdown()

        let after = try Broker.start(config: brokerConfig(dataDir: dir))
        let t = try ingestConnection(after)
        for cmid in acked {
            #expect(try send(t, messageLine(cmid))["duplicate"]?.boolValue == true)
        }
        after.shutdown()
        let stored = try exported(dir).compactMap { $0["channelMessageId"]?.stringValue }
        #expect(Array(stored.prefix(acked.count)) == acked)
        #expect(!stored.contains("later") && !stored.contains("http-later"))
    }

    @Test func aDuplicateOfAMessageInFlightSharesItsFate() throws {
        let dir = freshDataDir()
        let fs = FaultyFileSystem()
        var options = BrokerOptions()
        options.fileSystem = fs
        // batch:400 holds every acknowledgement up to 400 ms, so the duplicate arrives while
        // the original is in flight; the held fdatasync then fails.
        let broker = try Broker.start(config: brokerConfig(dataDir: dir, fsync: "batch:400"), options: options)
        defer { broker.shutdown() }
        let a = try ingestConnection(broker), b = try ingestConnection(broker)
        fs.inject(.failSync(errno: EIO), onNth: 1)
        try a.send(messageLine("x1") + "\n")
        try b.send(messageLine("x1") + "\n")
        let first = try JSON.parse(try a.receiveLine())
        let second = try JSON.parse(try b.receiveLine())
        #expect(first["error"]?.stringValue == "unavailable", "\(first)")
        #expect(second["error"]?.stringValue == "unavailable", "\(second)")
    }

    @Test func aDuplicateOfAMessageInFlightIsAnsweredAfterIt() throws {
        let broker = try Broker.start(config: brokerConfig(dataDir: freshDataDir(), fsync: "batch:300"))
        defer { broker.shutdown() }
        let a = try ingestConnection(broker), b = try ingestConnection(broker)
        let started = TestClock.seconds()
        try a.send(messageLine("y1") + "\n")
        try b.send(messageLine("y1") + "\n")
        let second = try JSON.parse(try b.receiveLine())
        let first = try JSON.parse(try a.receiveLine())
        // The two connections live on different loops, so either line may reach the core first:
        // exactly one is the original, the other its duplicate, both with the same id.
        let flags = [first["duplicate"]?.boolValue, second["duplicate"]?.boolValue]
        #expect(flags == [false, true] || flags == [true, false], "\(first) \(second)")
        #expect(second["ack"] == first["ack"] && first["ack"] != nil)
        // Not before the original's (held) fdatasync.
        #expect(TestClock.seconds() - started > 0.05)
    }
}

enum TestClock {
    static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
