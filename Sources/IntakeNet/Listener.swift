// IntakeNet: a listening socket registered with one loop, which accepts, admits each new
// connection against the group's total and per-IP limits (ConnectionAdmission.swift), and
// spreads the admitted ones over all loops of its group, round-robin. Loop thread of its
// acceptor only.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux
import IntakeTelemetry

final class Listener {
    let socket: ListeningSocket
    let kind: ConnectionKind
    /// Set for a TLS listener: its connections speak TLS only.
    let tls: TLSServer?
    let makeHandler: @Sendable (Connection) -> ConnectionHandler
    unowned let group: EventLoopGroup
    unowned let loop: EventLoop
    private var next = 0
    private var pausedUntil: UInt64 = 0

    init(socket: ListeningSocket, kind: ConnectionKind, tls: TLSServer? = nil, group: EventLoopGroup, loop: EventLoop,
         makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler) {
        self.socket = socket
        self.kind = kind
        self.tls = tls
        self.group = group
        self.loop = loop
        self.makeHandler = makeHandler
    }

    /// Accepts up to a batch of pending connections (level-triggered: the rest come next time).
    /// A connection over the total or per-IP limit is closed at once, before any byte is read
    /// or written: an answer (a 429, an error line) would need the connection kept open until
    /// the peer read it, which is what the limit refuses; the peer sees its connection closed.
    func acceptReady() {
        var address = (UInt64(0), UInt64(0))  // 16 bytes for cil_accept_peer
        for _ in 0..<128 {
            let fd = withUnsafeMutableBytes(of: &address) { cil_accept_peer(socket.fd, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            if fd < 0 {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED { return }
                if e == EMFILE || e == ENFILE {
                    // Out of descriptors: stop accepting for a moment instead of spinning.
                    acceptErrors.increment()
                    Log.warning("accept: out of file descriptors; pausing accepts for 100 ms", ["listener": .string(socket.endpoint.description)])
                    pause()
                }
                return
            }
            let peer = withUnsafeBytes(of: &address) { PeerKey(ipv6: $0) }
            switch group.admission.admit(peer) {
            case .admitted: break
            case .overTotal:
                close(fd)
                rejectedOverTotal.increment()
                refusals.note("max_connections", peer: peer, limit: group.limits.maxConnections)
                continue
            case .overPerIP:
                close(fd)
                rejectedPerIP.increment()
                refusals.note("per_ip", peer: peer, limit: group.limits.maxConnectionsPerIP)
                continue
            }
            let target = group.loops[next % group.loops.count]
            next &+= 1
            let kind = self.kind, tls = self.tls, make = self.makeHandler
            if target === loop {
                target.adopt(fd: fd, peer: peer, kind: kind, tls: tls, makeHandler: make)
            } else {
                target.execute { target.adopt(fd: fd, peer: peer, kind: kind, tls: tls, makeHandler: make) }
            }
        }
    }

    private var refusals = RefusalLog()

    private func pause() {
        _ = cil_epoll_ctl(loop.epfd, 2, socket.fd, 0, 0)
        loop.schedule(afterNanos: 100_000_000) { [self] in
            if loop.listeners[socket.fd] === self {
                _ = cil_epoll_ctl(loop.epfd, 0, socket.fd, CIL_EPOLLIN, EventLoop.token(fd: socket.fd, generation: 0))
            }
        }
    }
}

/// Refused connections, logged at most once per 10 s per limit (a flood must not flood the log),
/// with how many were refused since the last line. The peer's address is logged at debug level
/// only (docs/SECURITY.md, "Logging"). Acceptor loop only.
struct RefusalLog {
    private var last: [String: (nanos: UInt64, suppressed: Int)] = [:]
    static let intervalNanos: UInt64 = 10_000_000_000

    mutating func note(_ reason: String, peer: PeerKey, limit: Int) {
        let now = cil_monotonic_nanos()
        let entry = last[reason]
        if let entry, now &- entry.nanos < Self.intervalNanos {
            last[reason] = (entry.nanos, entry.suppressed + 1)
            return
        }
        last[reason] = (now, 0)
        Log.warning("connection refused at accept: limit reached", [
            "reason": .string(reason), "limit": .int(limit), "refusedSinceLastLine": .int((entry?.suppressed ?? 0) + 1),
        ])
        Log.debug("connection refused at accept", ["reason": .string(reason), "peer": .string(peer.description)])
    }
}
let acceptErrors = MetricsRegistry.shared.counter(
    "intake_accept_errors_total", help: "accept(2) failures other than EAGAIN (e.g. out of file descriptors).")
