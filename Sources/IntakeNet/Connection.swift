// IntakeNet: one accepted TCP connection with a bounded outbound buffer.
// Owned by its event loop's thread: every method must be called there. Bytes read are lent to
// the handler for the duration of one call (from the loop's shared read buffer); bytes written
// are appended to the outbound buffer and flushed after the current event. A connection of a
// TLS listener carries a `TLSSession` (Connection+TLS.swift): the same buffers then hold
// plaintext, and reads, writes and the close go through OpenSSL; plaintext connections pay one
// nil check per event, flush and sweep.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux
import IntakeTelemetry

/// What a connection speaks, for metrics (`intake_connections{kind}`) and limits.
public struct ConnectionKind: Sendable, Hashable {
    public let label: String
    public init(_ label: String) { self.label = label }
    public static let http = ConnectionKind("http")
    public static let tcp = ConnectionKind("tcp")
    public static let widget = ConnectionKind("ws_widget")
    public static let agent = ConnectionKind("ws_agent")
    public static let ops = ConnectionKind("ws_ops")
    public static let websocket = ConnectionKind("ws")

    var gauge: Gauge {
        MetricsRegistry.shared.gauge("intake_connections", help: "Open client connections by kind.", labels: ["kind": label])
    }
}

/// Why a connection closed.
public enum CloseReason: Sendable, Equatable {
    case local, peerClosed, idle, slowConsumer, shutdown, protocolError, limit
    case error(IOError)
}

/// Per-connection limits and the loops' sweep period, shared by all connections of a group.
public struct ConnectionLimits: Sendable {
    /// Over this many pending outbound bytes the connection stops reading from its peer.
    public var highWaterBytes = 256 * 1024
    /// Over this many pending outbound bytes the connection is cut off at once.
    public var maxOutboundBytes = 8 * 1024 * 1024
    /// A consumer that stays over the high-water mark this long is cut off.
    public var slowConsumerGraceNanos: UInt64 = 10_000_000_000
    /// How long a closing connection waits for its peer's EOF after our last byte.
    public var lingerNanos: UInt64 = 2_000_000_000
    /// How often each loop checks idle and slow connections.
    public var sweepIntervalNanos: UInt64 = 1_000_000_000
    /// Most open connections in the whole group (0 = no limit).
    public var maxConnections = 0
    /// Most open connections from one peer (an IPv4 address or an IPv6 /64, `PeerKey`) across
    /// all listeners of the group (0 = no limit). Loopback counts like any other address.
    public var maxConnectionsPerIP = 0
    public init() {}
}

/// The protocol logic on top of a connection (HTTP, WebSocket, NDJSON). Loop thread only.
public protocol ConnectionHandler: AnyObject {
    /// The connection has been registered with its loop.
    func connectionDidOpen(_ c: Connection)
    /// Bytes arrived; they are valid only during this call.
    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer)
    /// The connection is closed; release what refers to it.
    func connectionDidClose(_ c: Connection, reason: CloseReason)
    /// The server is shutting down: finish what is in flight and close soon.
    func connectionShouldClose(_ c: Connection)
    /// Called once per sweep interval: check timeouts here.
    func connectionTick(_ c: Connection, now: UInt64)
    /// The outbound buffer went back under the high-water mark.
    func connectionDidDrain(_ c: Connection)
}

extension ConnectionHandler {
    public func connectionDidOpen(_ c: Connection) {}
    public func connectionShouldClose(_ c: Connection) { c.closeAfterFlush() }
    public func connectionTick(_ c: Connection, now: UInt64) {}
    public func connectionDidDrain(_ c: Connection) {}
}

/// An accepted, non-blocking TCP connection registered with one loop.
public final class Connection {
    public let fd: Int32
    /// Unique within the process.
    public let id: UInt64
    public unowned let loop: EventLoop
    /// Whom the per-IP limit counts this connection against.
    public let peer: PeerKey
    public var handler: ConnectionHandler?
    /// Changing the kind moves the connection between `intake_connections` series.
    public var kind: ConnectionKind {
        didSet { if kind != oldValue, state != .closed { oldValue.gauge.decrement(); kind.gauge.increment() } }
    }
    /// Monotonic time of the last byte read, in nanoseconds.
    public internal(set) var lastReadNanos: UInt64

    enum State { case open, closing, lingering, closed }
    private(set) var state = State.open
    let generation: UInt32
    var interest: UInt32 = CIL_EPOLLIN
    var flushQueued = false
    /// Set for connections of a TLS listener; nil (plaintext) otherwise. Freed on close.
    var tls: TLSSession?
    // Internal rather than private: Connection+TLS.swift drives the same buffer and pauses.
    var out: [UInt8] = []
    var outStart = 0
    var readPaused = false
    var appPaused = false
    private var overHighWaterSince: UInt64 = 0
    private var lingerUntil: UInt64 = 0

    init(fd: Int32, id: UInt64, loop: EventLoop, kind: ConnectionKind, peer: PeerKey) {
        self.fd = fd
        self.id = id
        self.loop = loop
        self.peer = peer
        self.kind = kind
        generation = UInt32(truncatingIfNeeded: id) | 1  // never 0: 0 marks the loop's own fds
        lastReadNanos = cil_monotonic_nanos()
        kind.gauge.increment()
    }

    /// True until the connection is closed or closing.
    public var isOpen: Bool { state == .open }
    /// Bytes written but not yet accepted by the kernel.
    public var pendingOutboundBytes: Int { out.count - outStart }
    /// The peer's IP address, read from the socket.
    public var peerAddress: String { IntakeNet.peerAddress(fd) }

    // MARK: - Writing

    /// Queues bytes for the peer; they are flushed after the current event.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        out.append(contentsOf: bytes)
        afterAppend()
    }

    public func write(_ bytes: [UInt8]) {
        guard state == .open else { return }
        out.append(contentsOf: bytes)
        afterAppend()
    }

    /// Lets an encoder append straight into the outbound buffer (no intermediate copy).
    public func writeWith(_ body: (inout [UInt8]) -> Void) {
        guard state == .open else { return }
        body(&out)
        afterAppend()
    }

    private func afterAppend() {
        loop.markNeedsFlush(self)
        let pending = out.count - outStart
        if pending > loop.limits.highWaterBytes {
            if pending > loop.limits.maxOutboundBytes {
                Log.warning("slow consumer cut off", ["conn": .int(Int(id)), "kind": .string(kind.label), "pendingBytes": .int(pending)])
                slowConsumerCounter.increment()
                abort(reason: .slowConsumer)
                return
            }
            if !readPaused {
                readPaused = true
                overHighWaterSince = cil_monotonic_nanos()
                setInterest(interest & ~CIL_EPOLLIN)
            }
        }
    }

    /// Writes as much as the kernel takes now.
    func flush() {
        guard state != .closed, outStart < out.count else { return }
        if let tls { flushTLS(tls); return }
        let (n, err) = out.withUnsafeBytes { p in
            retryingEINTR { cil_send(fd, p.baseAddress! + outStart, UInt(p.count - outStart)) }
        }
        if n < 0 {
            if err == EAGAIN || err == EWOULDBLOCK { setInterest(interest | CIL_EPOLLOUT); return }
            abort(reason: err == EPIPE || err == ECONNRESET ? .peerClosed : .error(IOError("send", errno: err)))
            return
        }
        outStart += n
        didSend()
    }

    /// Bookkeeping after bytes left the outbound buffer: give a drained buffer back, update
    /// the write interest, resume a paused reader, and go on closing.
    func didSend() {
        if outStart == out.count {
            // Drained: keep a small buffer for the next reply, give a big one back.
            if out.capacity > 16 * 1024 { out = [] } else { out.removeAll(keepingCapacity: true) }
            outStart = 0
            if interest & CIL_EPOLLOUT != 0 { setInterest(interest & ~CIL_EPOLLOUT) }
            if readPaused { resumeReading() }
            if state == .closing { beginLinger() }
        } else {
            if outStart > 64 * 1024 && outStart * 2 > out.count {
                out.removeSubrange(0..<outStart)
                outStart = 0
            }
            setInterest(interest | CIL_EPOLLOUT)
            if readPaused, out.count - outStart <= loop.limits.highWaterBytes / 2 { resumeReading() }
        }
    }

    private func resumeReading() {
        readPaused = false
        overHighWaterSince = 0
        if (state == .open && !appPaused) || state == .lingering { setInterest(interest | CIL_EPOLLIN) }
        if let tls { tlsReadingResumed(tls) }
        handler?.connectionDidDrain(self)
    }

    /// Lets a handler stop reading while it waits for something (e.g. a durable write), and
    /// resume afterwards. Independent of the backpressure pause.
    public func setReadingPaused(_ paused: Bool) {
        guard state == .open, paused != appPaused else { return }
        appPaused = paused
        if paused { setInterest(interest & ~CIL_EPOLLIN) } else if !readPaused {
            setInterest(interest | CIL_EPOLLIN)
            if let tls { tlsReadingResumed(tls) }
        }
    }

    func setInterest(_ new: UInt32) {
        guard new != interest, state != .closed else { return }
        interest = new
        loop.updateInterest(self)
    }

    // MARK: - Closing

    /// Stops reading, flushes what is queued, then closes (with a short linger for the
    /// peer's EOF so that our last bytes are not lost to a reset).
    public func closeAfterFlush() {
        guard state == .open else { return }
        // Nothing can be said to a peer that has not finished its handshake.
        if let tls, !tls.handshakeDone { abort(reason: .local); return }
        state = .closing
        if out.count == outStart { beginLinger() } else { loop.markNeedsFlush(self) }
    }

    private func beginLinger() {
        state = .lingering
        if let tls { tls.sendCloseNotify() }
        shutdown(fd, Int32(SHUT_WR))
        // While the server shuts down a peer gets a short linger: our bytes are flushed, and
        // the process should not wait seconds for clients that keep their side open.
        let linger = loop.shuttingDown ? min(loop.limits.lingerNanos, 100_000_000) : loop.limits.lingerNanos
        lingerUntil = cil_monotonic_nanos() &+ linger
        setInterest(CIL_EPOLLIN)
    }

    /// Closes now, dropping anything not yet written.
    public func abort(reason: CloseReason) {
        guard state != .closed else { return }
        state = .closed
        close(fd)  // also removes it from the epoll set
        loop.forget(self)
        kind.gauge.decrement()
        let h = handler
        handler = nil  // breaks the handler ↔ connection cycle
        h?.connectionDidClose(self, reason: reason)
        out = []
        tls = nil  // SSL_free (no I/O: the fd is already closed)
    }

    // MARK: - Events from the loop

    func handleEvents(_ events: UInt32) {
        if let tls, state != .lingering { handleTLSEvents(events, tls); return }
        if events & CIL_EPOLLOUT != 0 { flush() }
        if events & CIL_EPOLLIN != 0 {
            readOnce()
        } else if events & (CIL_EPOLLERR | CIL_EPOLLHUP) != 0 {
            abort(reason: .peerClosed)
        }
    }

    func readOnce() {
        guard state != .closed else { return }
        let buf = loop.readBuffer
        let (n, err) = retryingEINTR { read(fd, buf.baseAddress, buf.count) }
        if n > 0 {
            lastReadNanos = cil_monotonic_nanos()
            if state == .lingering { return }  // discarding until the peer's EOF
            if state == .closing { return }
            // A local strong reference: the handler may replace itself (upgrade) or close the
            // connection (dropping `handler`) while this call runs.
            if let h = handler { h.connection(self, didRead: UnsafeRawBufferPointer(rebasing: buf[0..<n])) }
            if flushQueued { flush() }
        } else if n == 0 {
            abort(reason: state == .lingering ? .local : .peerClosed)
        } else if err != EAGAIN && err != EWOULDBLOCK {
            abort(reason: err == ECONNRESET ? .peerClosed : .error(IOError("read", errno: err)))
        }
    }

    func tick(now: UInt64) {
        switch state {
        case .closed: return
        case .lingering:
            if now >= lingerUntil { abort(reason: .local) }
            return
        case .open, .closing:
            if let tls, !tls.handshakeDone, now &- tls.startedNanos > tls.handshakeTimeoutNanos {
                TLSFailureLog.note(.timeout, detail: "no handshake within the header timeout", fd: fd)
                abort(reason: .idle)
                return
            }
            if readPaused, overHighWaterSince != 0, now &- overHighWaterSince > loop.limits.slowConsumerGraceNanos {
                Log.warning("slow consumer cut off", ["conn": .int(Int(id)), "kind": .string(kind.label), "pendingBytes": .int(pendingOutboundBytes)])
                slowConsumerCounter.increment()
                abort(reason: .slowConsumer)
                return
            }
            handler?.connectionTick(self, now: now)
        }
    }
}

let slowConsumerCounter = MetricsRegistry.shared.counter(
    "intake_slow_consumers_total", help: "Connections cut off because they did not read what was sent to them.")
