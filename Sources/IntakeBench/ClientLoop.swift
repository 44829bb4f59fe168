// A closed-loop client: one thread's share of the connections on its own epoll instance.
// Owned by one thread at a time: the driver calls one phase (connect, run, verify, close) on a
// worker thread and joins it before the next, so no state here is ever shared between threads.
//
// Design: level-triggered epoll; one send() per message from a per-thread buffer (the body is
// templated and masked in place, no allocation); reads drain the socket into a per-thread 64 KiB
// buffer and only a partial frame is copied to the connection. Timestamps are CLOCK_MONOTONIC.
import CIntakeLinux
import COpenSSL
import Glibc

/// Settings shared by every connection of a run.
struct LoopSettings {
    let endpoint: Endpoint
    let message: MessageTemplate
    /// Sent once after the handshake; its one reply is awaited and not counted.
    let hello: MessageTemplate?
    /// When set, only data messages containing it count as replies; others are unsolicited.
    let replyMatch: [UInt8]?
    /// Connection attempts in flight per loop while connecting.
    let connectBatch: Int
}

/// What one loop measured; merged across loops by the driver.
struct LoopStats {
    var histogram = Histogram()
    var repliesInWindow: UInt64 = 0
    var connected = 0
    var verified = 0
    var errors = 0
    var firstError: String? = nil
    var unsolicited: UInt64 = 0
    var replyErrors: UInt64 = 0
    /// Error answers among `repliesInWindow`.
    var replyErrorsInWindow: UInt64 = 0
    /// Duplicate acknowledgements among `repliesInWindow`.
    var duplicatesInWindow: UInt64 = 0
    /// Answers received by `fill` (errors included).
    var filled: UInt64 = 0
    /// Duplicate acknowledgements in every phase.
    var duplicates: UInt64 = 0

    mutating func merge(_ other: LoopStats) {
        histogram.merge(other.histogram)
        repliesInWindow += other.repliesInWindow
        connected += other.connected
        verified += other.verified
        errors += other.errors
        firstError = firstError ?? other.firstError
        unsolicited += other.unsolicited
        replyErrors += other.replyErrors
        replyErrorsInWindow += other.replyErrorsInWindow
        duplicatesInWindow += other.duplicatesInWindow
        filled += other.filled
        duplicates += other.duplicates
    }
}

final class ClientLoop<P: WireProtocol> {
    private enum State { case unopened, connecting, tlsHandshaking, handshaking, awaitingHello, ready, awaitingReply, failed }
    private enum Phase { case setup, running, verifying, filling, idle }

    private final class Conn {
        let id: Int
        /// Position in `conns`, the epoll user data.
        let index: Int
        var fd: Int32 = -1
        var state = State.unopened
        var seq: UInt64 = 0
        var sentAt: UInt64 = 0
        /// `fill`: the sequence number of this connection's last message, and messages unanswered.
        var quota: UInt64 = 0
        var outstanding = 0
        var expectation = ""
        /// Unparsed input carried over to the next read (a partial frame).
        var inbox: [UInt8] = []
        /// Output a short write left behind; EPOLLOUT is armed while non-empty.
        var outbox: [UInt8] = []
        /// The TLS session for `wss://` (ClientTLS), nil for plaintext.
        var ssl: OpaquePointer?
        init(id: Int, index: Int) {
            self.id = id
            self.index = index
        }
    }

    private static var readCapacity: Int { 64 << 10 }
    private static var maxEvents: Int32 { 256 }

    private let proto: P
    private let settings: LoopSettings
    private var conns: [Conn]
    private let epfd: Int32
    private let readBuffer: UnsafeMutableRawPointer
    private let sendBuffer: UnsafeMutableRawPointer
    private let events: UnsafeMutablePointer<cil_event>
    private var rng: FastRNG
    private var phase = Phase.idle
    private var windowStart: UInt64 = 0
    private var windowEnd: UInt64 = 0
    private var settingUp = 0
    private var awaitingVerify = 0
    private var awaitingFill = 0
    private(set) var stats = LoopStats()

    /// A loop for the connections with the given global ids (used as {c} in the template).
    init(proto: P, settings: LoopSettings, connectionIDs: [Int]) {
        self.proto = proto
        self.settings = settings
        conns = connectionIDs.enumerated().map { Conn(id: $0.element, index: $0.offset) }
        epfd = cil_epoll_create()
        precondition(epfd >= 0, "BUG: epoll_create1 failed, errno \(errno)")
        readBuffer = .allocate(byteCount: Self.readCapacity, alignment: 16)
        let bodyBytes = max(settings.message.maxBytes, settings.hello?.maxBytes ?? 0)
        sendBuffer = .allocate(byteCount: P.headroom + bodyBytes + P.trailer + 256, alignment: 16)
        events = .allocate(capacity: Int(Self.maxEvents))
        rng = FastRNG(seed: cil_monotonic_nanos() ^ UInt64(connectionIDs.first ?? 0) &* 0x9E37_79B9)
    }

    deinit {
        close()
        Glibc.close(epfd)
        readBuffer.deallocate()
        sendBuffer.deallocate()
        events.deallocate()
    }

    // MARK: phases

    /// Opens every connection (at most `connectBatch` attempts in flight), completes the handshake
    /// and the optional hello. Connections not ready by `deadline` fail.
    func connect(deadline: UInt64) {
        phase = .setup
        var nextIndex = 0
        while nextIndex < conns.count || settingUp > 0 {
            while settingUp < settings.connectBatch && nextIndex < conns.count {
                open(conns[nextIndex])
                nextIndex += 1
            }
            let now = ProcStats.nowNanos()
            if now >= deadline { break }
            poll(untilNanos: deadline, now: now)
        }
        for conn in conns where conn.state != .ready && conn.state != .failed {
            fail(conn, "connect and handshake timed out")
        }
        for conn in conns[nextIndex...] where conn.state == .unopened { fail(conn, "never attempted: deadline passed") }
        stats.connected = conns.reduce(0) { $0 + ($1.state == .ready ? 1 : 0) }
        phase = .idle
    }

    /// Closed loop until `windowEnd`: each ready connection sends a message and sends the next
    /// when its reply arrives. Replies in [windowStart, windowEnd) are counted and timed.
    func run(windowStart: UInt64, windowEnd: UInt64) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        phase = .running
        for conn in conns where conn.state == .ready { sendMessage(conn, settings.message, awaiting: .awaitingReply) }
        while true {
            let now = ProcStats.nowNanos()
            if now >= windowEnd { break }
            poll(untilNanos: windowEnd, now: now)
        }
        phase = .idle
    }

    /// Sends one message on every ready connection and waits for each reply until `deadline`.
    func verify(deadline: UInt64) {
        phase = .verifying
        awaitingVerify = 0
        for conn in conns where conn.state == .ready {
            awaitingVerify += 1
            sendMessage(conn, settings.message, awaiting: .awaitingReply)
        }
        while awaitingVerify > 0 {
            let now = ProcStats.nowNanos()
            if now >= deadline { break }
            poll(untilNanos: deadline, now: now)
        }
        for conn in conns where conn.state == .awaitingReply { fail(conn, "no reply to the verification message") }
        phase = .idle
    }

    /// Pipelined, count-bounded load: connection `id` sends `quota(id)` messages with at most
    /// `depth` unanswered at a time, until every answer is in or `deadline`. Answers are counted in
    /// `stats.filled` (errors also in `replyErrors`); no latency is recorded.
    func fill(quota: (Int) -> UInt64, depth: Int, deadline: UInt64) {
        phase = .filling
        awaitingFill = 0
        for conn in conns where conn.state == .ready {
            conn.quota = conn.seq + quota(conn.id)
            conn.outstanding = 0
            guard conn.quota > conn.seq else { continue }
            awaitingFill += 1
            while conn.outstanding < depth && conn.seq < conn.quota && conn.state != .failed {
                conn.outstanding += 1
                sendMessage(conn, settings.message, awaiting: .awaitingReply)
            }
        }
        while awaitingFill > 0 {
            let now = ProcStats.nowNanos()
            if now >= deadline { break }
            poll(untilNanos: deadline, now: now)
        }
        for conn in conns where conn.state == .awaitingReply { fail(conn, "answers still missing at the fill deadline") }
        phase = .idle
    }

    /// Closes every socket (EOF to the server; no WebSocket close frame, as ws-loadgen does).
    func close() {
        for conn in conns where conn.fd >= 0 {
            Glibc.close(conn.fd)
            conn.fd = -1
            if let ssl = conn.ssl { SSL_free(ssl); conn.ssl = nil }
        }
    }

    // MARK: event loop

    private func poll(untilNanos deadline: UInt64, now: UInt64) {
        // Wake at least every 100 ms, and round up so we never spin on a sub-millisecond remainder.
        let timeoutMs = Int32(min(100, (deadline - now) / 1_000_000 + 1))
        let n = cil_epoll_wait(epfd, events, Self.maxEvents, timeoutMs)
        guard n > 0 else { return }
        for i in 0..<Int(n) {
            let conn = conns[Int(events[i].data)]
            if conn.state == .failed { continue }
            handle(conn, events[i].events)
        }
    }

    private func handle(_ conn: Conn, _ bits: UInt32) {
        if conn.state == .connecting {
            finishConnect(conn)
            return
        }
        if conn.state == .tlsHandshaking {
            continueTLSHandshake(conn)
            return
        }
        if bits & CIL_EPOLLOUT != 0 && !conn.outbox.isEmpty { flushOutbox(conn) }
        if bits & (CIL_EPOLLIN | CIL_EPOLLERR | CIL_EPOLLHUP | CIL_EPOLLRDHUP) != 0 && conn.state != .failed {
            readAvailable(conn)
        }
    }

    private func open(_ conn: Conn) {
        let family = settings.endpoint.isIPv6 ? AF_INET6 : AF_INET
        let fd = cil_socket_tcp(family)
        guard fd >= 0 else {
            fail(conn, "socket: \(errnoText())")
            return
        }
        conn.fd = fd
        conn.state = .connecting
        settingUp += 1
        _ = cil_set_int_option(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let rc = SocketAddress.connect(fd, settings.endpoint)
        guard rc == 0 || errno == EINPROGRESS else {
            fail(conn, "connect: \(errnoText())")
            return
        }
        guard cil_epoll_ctl(epfd, 0, fd, CIL_EPOLLOUT, UInt64(conn.index)) == 0 else {
            fail(conn, "epoll_ctl: \(errnoText())")
            return
        }
    }

    private func finishConnect(_ conn: Conn) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else {
            fail(conn, "connect: \(String(cString: strerror(error)))")
            return
        }
        if settings.endpoint.tls {
            guard let ssl = ClientTLS.session(fd: conn.fd) else { fail(conn, "tls: SSL_new failed"); return }
            conn.ssl = ssl
            conn.state = .tlsHandshaking
            continueTLSHandshake(conn)
            return
        }
        startProtocol(conn)
    }

    private func continueTLSHandshake(_ conn: Conn) {
        let r = SSL_do_handshake(conn.ssl!)
        if r == 1 { startProtocol(conn); return }
        switch ClientTLS.step(conn.ssl!, r) {
        case .wantRead: _ = setInterest(conn, writable: false)
        case .wantWrite: _ = setInterest(conn, writable: true)
        case .done: startProtocol(conn)
        case .failed(let why): fail(conn, why)
        }
    }

    private func startProtocol(_ conn: Conn) {
        conn.state = .handshaking
        guard setInterest(conn, writable: false) else { return }
        let (request, expectation) = proto.openingRequest()
        conn.expectation = expectation
        if !request.isEmpty {
            request.withUnsafeBytes { send(conn, $0.baseAddress!, $0.count) }
            if conn.state == .failed { return }
        }
        if !proto.awaitsHandshakeResponse { handshakeDone(conn) }
    }

    private func handshakeDone(_ conn: Conn) {
        if let hello = settings.hello {
            sendMessage(conn, hello, awaiting: .awaitingHello)
        } else {
            becomeReady(conn)
        }
    }

    private func becomeReady(_ conn: Conn) {
        conn.state = .ready
        settingUp -= 1
    }

    // MARK: input

    private func readAvailable(_ conn: Conn) {
        if let ssl = conn.ssl {
            while conn.state != .failed {
                let n = SSL_read(ssl, readBuffer, Int32(Self.readCapacity))
                if n > 0 { consume(conn, readBuffer, Int(n)); continue }
                if case .failed(let why) = ClientTLS.step(ssl, n) { fail(conn, why) }
                return  // WANT_READ (WANT_WRITE: renegotiation, which the broker refuses)
            }
            return
        }
        while true {
            let n = read(conn.fd, readBuffer, Self.readCapacity)
            if n > 0 {
                consume(conn, readBuffer, n)
                if conn.state == .failed || n < Self.readCapacity { return }
            } else if n == 0 {
                fail(conn, "server closed the connection")
                return
            } else {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { fail(conn, "read: \(errnoText())") }
                return
            }
        }
    }

    private func consume(_ conn: Conn, _ bytes: UnsafeMutableRawPointer, _ count: Int) {
        if conn.inbox.isEmpty {
            let used = parse(conn, UnsafeMutableRawBufferPointer(start: bytes, count: count))
            if used < count && conn.state != .failed {
                conn.inbox.append(contentsOf: UnsafeRawBufferPointer(start: bytes + used, count: count - used))
            }
        } else {
            // Rare: a frame split across reads. Take the inbox out of the connection while parsing.
            var pending: [UInt8] = []
            swap(&pending, &conn.inbox)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count))
            let used = pending.withUnsafeMutableBytes { parse(conn, $0) }
            if conn.state != .failed {
                pending.removeFirst(used)
                conn.inbox = pending
            }
        }
    }

    /// Parses what it can; returns the bytes used.
    private func parse(_ conn: Conn, _ input: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        if conn.state == .handshaking {
            switch proto.parseHandshake(UnsafeRawBufferPointer(input), expectation: conn.expectation) {
            case .needMore: return 0
            case .failed(let why):
                fail(conn, why)
                return input.count
            case .done(let consumed):
                offset = consumed
                handshakeDone(conn)
            }
        }
        while offset < input.count && conn.state != .failed {
            let rest = UnsafeMutableRawBufferPointer(rebasing: input[offset...])
            switch proto.next(rest) {
            case .needMore:
                return offset
            case .fatal(let why):
                fail(conn, why)
                return input.count
            case .skip(let consumed):
                offset += consumed
            case .ping(let consumed, let start, let count):
                let n = proto.pong(UnsafeRawBufferPointer(rebasing: rest[start..<(start + count)]), into: sendBuffer, rng: &rng)
                send(conn, sendBuffer, n)
                offset += consumed
            case .data(let consumed, let start, let count):
                onData(conn, UnsafeRawBufferPointer(rebasing: rest[start..<(start + count)]))
                offset += consumed
            }
        }
        return offset
    }

    @inline(__always)
    private func onData(_ conn: Conn, _ payload: UnsafeRawBufferPointer) {
        if conn.state == .awaitingHello {
            becomeReady(conn)
            return
        }
        if let match = settings.replyMatch, !contains(payload, match) {
            stats.unsolicited += 1
            return
        }
        guard conn.state == .awaitingReply else {
            stats.unsolicited += 1
            return
        }
        let kind = proto.classify(payload)
        if kind == .error { stats.replyErrors += 1 }
        if kind == .duplicate { stats.duplicates += 1 }
        switch phase {
        case .running:
            let now = ProcStats.nowNanos()
            if now < windowEnd {
                if now >= windowStart {
                    stats.histogram.record(now &- conn.sentAt)
                    stats.repliesInWindow &+= 1
                    if kind == .error { stats.replyErrorsInWindow &+= 1 }
                    if kind == .duplicate { stats.duplicatesInWindow &+= 1 }
                }
                sendMessage(conn, settings.message, awaiting: .awaitingReply)
            } else {
                conn.state = .ready
            }
        case .verifying:
            conn.state = .ready
            stats.verified += 1
            awaitingVerify -= 1
        case .filling:
            stats.filled &+= 1
            conn.outstanding -= 1
            if conn.seq < conn.quota {
                conn.outstanding += 1
                sendMessage(conn, settings.message, awaiting: .awaitingReply)
            } else if conn.outstanding == 0 {
                conn.state = .ready
                awaitingFill -= 1
            }
        case .setup, .idle:
            conn.state = .ready
            stats.unsolicited += 1
        }
    }

    // MARK: output

    @inline(__always)
    private func sendMessage(_ conn: Conn, _ template: MessageTemplate, awaiting: State) {
        conn.seq &+= 1
        let bodyCount = template.write(into: sendBuffer + P.headroom, conn: conn.id, seq: conn.seq)
        let (start, count) = proto.frame(sendBuffer, bodyStart: P.headroom, bodyCount: bodyCount, rng: &rng)
        conn.state = awaiting  // before send(), so a failing send is accounted in the right state
        conn.sentAt = ProcStats.nowNanos()
        send(conn, sendBuffer + start, count)
    }

    /// One send() per message; a short write parks the rest in the outbox and arms EPOLLOUT.
    @inline(__always)
    private func send(_ conn: Conn, _ bytes: UnsafeRawPointer, _ count: Int) {
        if !conn.outbox.isEmpty {
            conn.outbox.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count))
            return
        }
        var sent = 0
        if let ssl = conn.ssl {
            while sent < count {
                let n = SSL_write(ssl, bytes + sent, Int32(count - sent))
                if n > 0 { sent += Int(n); continue }
                if case .failed(let why) = ClientTLS.step(ssl, n) { fail(conn, why); return }
                // Blocked: the rest (the bytes of the pending record included) is retried from
                // the outbox, at another address (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
                conn.outbox.append(contentsOf: UnsafeRawBufferPointer(start: bytes + sent, count: count - sent))
                _ = setInterest(conn, writable: true)
                return
            }
            return
        }
        while sent < count {
            let n = cil_send(conn.fd, bytes + sent, UInt(count - sent))
            if n > 0 {
                sent += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn.outbox.append(contentsOf: UnsafeRawBufferPointer(start: bytes + sent, count: count - sent))
                _ = setInterest(conn, writable: true)
                return
            } else {
                fail(conn, "send: \(errnoText())")
                return
            }
        }
    }

    private func flushOutbox(_ conn: Conn) {
        var pending: [UInt8] = []
        swap(&pending, &conn.outbox)
        if let ssl = conn.ssl {
            var sent = 0
            while sent < pending.count {
                let n = pending.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + sent, Int32($0.count - sent)) }
                if n > 0 { sent += Int(n); continue }
                if case .failed(let why) = ClientTLS.step(ssl, n) { fail(conn, why); return }
                break
            }
            pending.removeFirst(sent)
            conn.outbox = pending
            if conn.outbox.isEmpty { _ = setInterest(conn, writable: false) }
            return
        }
        let n = pending.withUnsafeBytes { cil_send(conn.fd, $0.baseAddress!, UInt($0.count)) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { conn.outbox = pending } else { fail(conn, "send: \(errnoText())") }
            return
        }
        pending.removeFirst(n)
        conn.outbox = pending
        if conn.outbox.isEmpty { _ = setInterest(conn, writable: false) }
    }

    private func setInterest(_ conn: Conn, writable: Bool) -> Bool {
        let bits = CIL_EPOLLIN | CIL_EPOLLRDHUP | (writable ? CIL_EPOLLOUT : 0)
        guard cil_epoll_ctl(epfd, 1, conn.fd, bits, UInt64(conn.index)) == 0 else {
            fail(conn, "epoll_ctl: \(errnoText())")
            return false
        }
        return true
    }

    // MARK: failure

    private func fail(_ conn: Conn, _ why: String) {
        guard conn.state != .failed else { return }
        switch conn.state {
        case .connecting, .tlsHandshaking, .handshaking, .awaitingHello: settingUp -= 1
        case .awaitingReply where phase == .verifying: awaitingVerify -= 1
        case .awaitingReply where phase == .filling: awaitingFill -= 1
        default: break
        }
        conn.state = .failed
        stats.errors += 1
        if stats.firstError == nil { stats.firstError = "connection \(conn.id): \(why)" }
        if conn.fd >= 0 {
            Glibc.close(conn.fd)  // also removes it from the epoll set
            conn.fd = -1
        }
        if let ssl = conn.ssl { SSL_free(ssl); conn.ssl = nil }
        conn.inbox = []
        conn.outbox = []
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}
