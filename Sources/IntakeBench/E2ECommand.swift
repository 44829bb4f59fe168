// `intake-bench e2e`: end-to-end routing latency over loopback. Starts the broker with N agents,
// connects them on /ws/agent (each accepts every offer and closes the session once assigned),
// then sends new sessions over TCP NDJSON at a fixed rate (open loop) and measures, per session,
// from the moment its line is written to the moment its `offer` frame is read on an agent's
// socket: ingest, fsync, routing and the offer's own durable record included.
// Threads: main (driver), one producer, one agent loop (epoll over all agent sockets).
import CIntakeLinux
import Glibc
import IntakeJSON
import IntakeWire
import Synchronization

enum E2ECommand {
    static let subcommand = Subcommand(
        name: "e2e",
        synopsis: "--intake PATH [--rate 1000] [--duration 10] [--warmup 2] [--agents 20] [--capacity 5] [--fsync always] [--producers 2]",
        summary: "message arrival → offer frame on an agent's socket, at a fixed rate of new sessions",
        options: [
            OptionSpec("--intake", "the broker executable (required); started on ephemeral loopback ports"),
            OptionSpec("--rate", "new sessions per second (default 1000, at most 20000)"),
            OptionSpec("--duration", alias: "-d", "measured seconds (default 10, at most 600)"),
            OptionSpec("--warmup", "seconds sent before the window, not counted (default 2)"),
            OptionSpec("--agents", "agents connected (default 20, at most 1000)"),
            OptionSpec("--capacity", "chat capacity of each agent (default 5)"),
            OptionSpec("--producers", "TCP connections the sessions are spread over (default 2)"),
            OptionSpec("--fsync", "the broker's --fsync (default always)"),
        ],
        run: run)

    static let account = "bench"
    static let key = "bench-key-0123456789"

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let intake = try args.require("--intake")
        guard access(intake, X_OK) == 0 else { throw UsageError("--intake \(intake) is not an executable file") }
        let rate = try args.int("--rate", default: 1000, in: 1...20_000)
        let duration = try args.double("--duration", default: 10, in: 0.5...600)
        let warmup = try args.double("--warmup", default: 2, in: 0...120)
        let agentCount = try args.int("--agents", default: 20, in: 1...1000)
        let capacity = try args.int("--capacity", default: 5, in: 1...100)
        let producers = try args.int("--producers", default: 2, in: 1...64)
        let fsync = args.string("--fsync") ?? "always"
        var template = "/tmp/intake-e2e.XXXXXX".utf8CString
        let work = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
        guard let work else { throw UsageError("mkdtemp: \(String(cString: strerror(errno)))") }
        defer { FileTree.remove(work) }

        let agentsJSON = (0..<agentCount).map {
            #"{"id":"b\#($0)","name":"Bench \#($0)","skills":{"general":3},"capacity":{"chat":\#(capacity)},"token":"bench-token-\#($0)"}"#
        }.joined(separator: ",")
        try FileTree.write(work + "/agents.json", "[" + agentsJSON + "]")
        try FileTree.write(work + "/config.json", #"{"apps":[{"account":"\#(account)","key":"\#(key)"}],"logLevel":"warning","#
                           + #""routing":{"inactivitySeconds":0,"wrapUpSeconds":0}}"#)
        let argv = [intake, "serve", "--config", work + "/config.json", "--data-dir", work + "/data", "--agents", work + "/agents.json",
                    "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--fsync", fsync,
                    // Each bench agent accepts and closes ~50 sessions a second: far over a person's
                    // per-connection rate limit, which this benchmark does not measure.
                    "--ws-rate-limit", "0", "--tcp-rate-limit", "0", "--max-connections-per-ip", "0"]
        let broker = try BrokerProcess(argv, stderrPath: work + "/broker.err")
        guard let (line, _) = broker.waitForLine(prefix: "intake ready ", timeoutS: 60) else {
            throw UsageError("no `intake ready` line within 60 s (or the broker exited); see its stderr")
        }
        func field(_ name: String) throws(UsageError) -> Endpoint {
            guard let f = line.split(separator: " ").first(where: { $0.hasPrefix(name + "=") }) else {
                throw UsageError("ready line without \(name)=: \(line)")
            }
            return try Endpoint.parseHostPort(String(f.dropFirst(name.count + 1)))
        }
        let http = try field("http"), tcp = try field("tcp")
        let total = Int((Double(rate) * (warmup + duration)).rounded())
        let firstMeasured = Int((Double(rate) * warmup).rounded())
        say("intake-bench e2e intake=\(intake) agents=\(agentCount) capacity=\(capacity) rate=\(rate)/s duration=\(fixed(duration))s "
            + "warmup=\(fixed(warmup))s fsync=\(fsync) sessions=\(total)")

        let shared = Shared(total: total)
        let pool = try AgentPool(http, count: agentCount, shared: shared, firstMeasured: firstMeasured)
        let runID = String(UInt64(ProcStats.nowNanos()) % 1_000_000_007, radix: 36)
        let sockets = try (0..<producers).map { _ throws(UsageError) in try Producer.connect(tcp) }
        let stop = Atomic<Bool>(false)
        var producerResult = (sent: 0, acks: 0, errors: 0, lateMaxUs: 0.0)
        let threads = ThreadGroup([
            { pool.run(until: stop) },
            {
                producerResult = Producer.run(sockets, rate: rate, total: total, runID: runID, shared: shared)
                // Give the last offers time to arrive, then stop the agents.
                let deadline = ProcStats.nowNanos() + 5_000_000_000
                while shared.offers.load(ordering: .relaxed) < total && ProcStats.nowNanos() < deadline { ProcStats.sleep(seconds: 0.01) }
                stop.store(true, ordering: .relaxed)
            },
        ])
        threads.join()
        for fd in sockets { close(fd) }
        pool.close()
        _ = broker.terminate(timeoutS: 30)

        let h = pool.histogram
        let offers = shared.offers.load(ordering: .relaxed)
        let errors = producerResult.errors + pool.errors
        say("sent=\(producerResult.sent) acks=\(producerResult.acks) offers=\(offers) measured=\(h.total) errors=\(errors)"
            + " producer_late_max_us=\(fixed(producerResult.lateMaxUs))" + (pool.firstError.map { " first: \($0)" } ?? ""))
        func us(_ p: Double) -> Double { h.percentile(p) / 1000 }
        say("latency_us p50=\(fixed(us(50))) p90=\(fixed(us(90))) p99=\(fixed(us(99))) p99.9=\(fixed(us(99.9))) max=\(fixed(Double(h.maxValue) / 1000))")
        var j = JSONLine()
        j.add("bench", "e2e")
        j.add("rate", rate)
        j.add("agents", agentCount)
        j.add("sessions", Int(h.total))
        j.add("offers", offers)
        j.add("p50Us", us(50))
        j.add("p90Us", us(90))
        j.add("p99Us", us(99))
        j.add("p999Us", us(99.9))
        j.add("maxUs", Double(h.maxValue) / 1000)
        j.add("fsync", fsync)
        j.add("errors", errors)
        j.add("durationS", duration)
        say(j.text)
        return errors == 0 && offers == total ? 0 : 1
    }

    /// What the producer and the agent loop share: send times by session number, offers seen.
    final class Shared: @unchecked Sendable {
        // Written by the producer before the line is sent, read by the agent loop after the
        // session's offer arrived (the broker in between orders them); the lock makes it formal.
        let sentAt: Mutex<[UInt64]>
        let offers = Atomic<Int>(0)
        init(total: Int) { sentAt = Mutex([UInt64](repeating: 0, count: total)) }
    }
}

/// The NDJSON producers: authenticated blocking sockets, one thread sending at a fixed rate.
enum Producer {
    static func connect(_ endpoint: Endpoint) throws(UsageError) -> Int32 {
        let fd = try BenchSocket.connect(endpoint)
        try BenchSocket.send(fd, Array((IngestCommand.authLine(account: E2ECommand.account, key: E2ECommand.key) + "\n").utf8))
        var reply: [UInt8] = []
        let deadline = ProcStats.nowNanos() + 10_000_000_000
        while !reply.contains(UInt8(ascii: "\n")) {
            guard ProcStats.nowNanos() < deadline, let chunk = BenchSocket.receive(fd, wait: true), !chunk.isEmpty else {
                throw UsageError("no answer to the NDJSON auth line")
            }
            reply += chunk
        }
        guard String(decoding: reply, as: UTF8.self).contains("authenticated") else {
            throw UsageError("NDJSON auth refused: \(String(decoding: reply, as: UTF8.self))")
        }
        return fd
    }

    /// Sends `total` new sessions at `rate`/s round-robin over `sockets`, draining their acks.
    static func run(_ sockets: [Int32], rate: Int, total: Int, runID: String, shared: E2ECommand.Shared)
        -> (sent: Int, acks: Int, errors: Int, lateMaxUs: Double) {
        let interval = 1_000_000_000 / Double(rate)
        let start = ProcStats.nowNanos() + 10_000_000
        var acks = 0, errors = 0
        var lateMax: UInt64 = 0
        var pending = [[UInt8]](repeating: [], count: sockets.count)
        func drain(_ i: Int, wait: Bool) {
            while let chunk = BenchSocket.receive(sockets[i], wait: wait), !chunk.isEmpty {
                pending[i] += chunk
                while let nl = pending[i].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[i][..<nl]
                    if line.starts(with: Array(#"{"ack""#.utf8)) { acks += 1 } else { errors += 1 }
                    pending[i].removeSubrange(...nl)
                }
                if !wait { continue }
                return
            }
        }
        for n in 0..<total {
            let due = start + UInt64(Double(n) * interval)
            ProcStats.sleep(until: due)
            let line = #"{"channel":"app","account":"\#(E2ECommand.account)","channelMessageId":"\#(runID)-\#(n)","citizen":"e2e-\#(runID)-\#(n)","kind":"text","text":"e2e \#(n)"}"# + "\n"
            let now = ProcStats.nowNanos()
            lateMax = max(lateMax, now - min(now, due))
            shared.sentAt.withLock { $0[n] = now }
            let i = n % sockets.count
            if (try? BenchSocket.send(sockets[i], Array(line.utf8))) == nil { errors += 1 }
            drain(i, wait: false)
        }
        let deadline = ProcStats.nowNanos() + 10_000_000_000
        while acks + errors < total && ProcStats.nowNanos() < deadline {
            for i in sockets.indices { drain(i, wait: false) }
            ProcStats.sleep(seconds: 0.002)
        }
        return (total, acks, errors + (total - acks - errors), Double(lateMax) / 1000)
    }
}

/// N agent connections served by one epoll thread: accept every offer, close every assigned session.
final class AgentPool: @unchecked Sendable {
    private struct Agent {
        let fd: Int32
        var decoder = WebSocketDecoder(role: .client, maxFrameBytes: 16 << 20, maxMessageBytes: 16 << 20)
    }

    private var agents: [Agent] = []
    private let shared: E2ECommand.Shared
    private let firstMeasured: Int
    private let epollFD: Int32
    // Read by the driver after the loop's thread was joined.
    private(set) var histogram = Histogram()
    private(set) var errors = 0
    private(set) var firstError: String?

    init(_ http: Endpoint, count: Int, shared: E2ECommand.Shared, firstMeasured: Int) throws(UsageError) {
        self.shared = shared
        self.firstMeasured = firstMeasured
        epollFD = cil_epoll_create()
        for i in 0..<count {
            let fd = try BenchSocket.connect(http)
            let key = WebSocketHandshake.makeClientKey()
            try BenchSocket.send(fd, Array(("GET /ws/agent HTTP/1.1\r\nHost: \(http.hostHeader)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8))
            var head: [UInt8] = []
            let end = Array("\r\n\r\n".utf8)
            while !head.ends(with: end) {
                guard let b = BenchSocket.receiveByte(fd) else { throw UsageError("agent \(i): no WebSocket handshake answer") }
                head.append(b)
            }
            guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
                throw UsageError("agent \(i): handshake refused: \(String(decoding: head.prefix(60), as: UTF8.self))")
            }
            var agent = Agent(fd: fd)
            try BenchSocket.send(fd, Self.masked(#"{"type":"hello","token":"bench-token-\#(i)"}"#))
            // Wait for the welcome before the next agent (so every agent is online before the run).
            var welcomed = false
            while !welcomed {
                guard let chunk = BenchSocket.receive(fd, wait: true), !chunk.isEmpty else { throw UsageError("agent \(i): closed before welcome") }
                agent.decoder.feed(chunk)
                while let event = try? agent.decoder.next() {
                    if case .text(let t) = event, t.contains("\"welcome\"") { welcomed = true }
                }
            }
            _ = cil_epoll_ctl(epollFD, 0, fd, CIL_EPOLLIN, UInt64(agents.count))
            agents.append(agent)
        }
    }

    static func masked(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        WebSocketFrame.encodeText(text, maskingKey: WebSocketMask.randomKey(), into: &out)
        return out
    }

    func run(until stop: borrowing Atomic<Bool>) {
        var events = [cil_event](repeating: cil_event(), count: 64)
        while !stop.load(ordering: .relaxed) {
            let n = cil_epoll_wait(epollFD, &events, 64, 20)
            guard n > 0 else { continue }
            for k in 0..<Int(n) { serve(Int(events[k].data)) }
        }
    }

    private func serve(_ i: Int) {
        guard let chunk = BenchSocket.receive(agents[i].fd, wait: false), !chunk.isEmpty else { return }
        let now = ProcStats.nowNanos()
        agents[i].decoder.feed(chunk)
        while true {
            let event: WebSocketEvent?
            do { event = try agents[i].decoder.next() } catch { fail("agent \(i): \(error)"); return }
            guard let event else { return }
            guard case .text(let text) = event, let frame = try? JSON.parse(text) else { continue }
            switch frame["type"]?.stringValue {
            case "offer":
                let n = frame["preview"]?.stringValue.flatMap { Int($0.dropFirst(4)) } ?? -1
                if n >= 0 && n < shared.sentAt.withLock({ $0.count }) {
                    let sent = shared.sentAt.withLock { $0[n] }
                    if n >= firstMeasured && sent > 0 { histogram.record(now - min(now, sent)) }
                    shared.offers.add(1, ordering: .relaxed)
                }
                reply(i, #"{"type":"accept","offer":\#(frame["offer"]?.intValue ?? 0)}"#)
            case "assigned":
                let session = frame["session"]?.stringValue ?? ""
                reply(i, #"{"type":"close","session":"\#(session)","disposition":"bench"}"#)
            case "error":
                fail("agent \(i): \(text)")
            default:
                break
            }
        }
    }

    private func reply(_ i: Int, _ text: String) {
        if (try? BenchSocket.send(agents[i].fd, Self.masked(text))) == nil { fail("agent \(i): send failed") }
    }

    private func fail(_ why: String) {
        errors += 1
        if firstError == nil { firstError = why }
    }

    func close() {
        for a in agents { Glibc.close(a.fd) }
        Glibc.close(epollFD)
    }
}

/// Blocking loopback sockets for the e2e benchmark's few connections.
enum BenchSocket {
    static func connect(_ endpoint: Endpoint) throws(UsageError) -> Int32 {
        let fd = socket(endpoint.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UsageError("socket: \(String(cString: strerror(errno)))") }
        guard SocketAddress.connect(fd, endpoint) == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw UsageError("connect \(endpoint.hostHeader): \(why)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) throws(UsageError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw UsageError("send: \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }

    /// Bytes available (waiting for some when `wait`); nil when none (non-waiting) or on error, [] at EOF.
    static func receive(_ fd: Int32, wait: Bool) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, wait ? 0 : Int32(MSG_DONTWAIT)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            return Array(buf[0..<n])
        }
    }

    static func receiveByte(_ fd: Int32) -> UInt8? {
        var b: UInt8 = 0
        while true {
            let n = recv(fd, &b, 1, 0)
            if n < 0 && errno == EINTR { continue }
            return n == 1 ? b : nil
        }
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
