// IntakeNet: a listening socket registered with one loop, which accepts and spreads the new
// connections over all loops of its group, round-robin. Loop thread of its acceptor only.
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
    func acceptReady() {
        for _ in 0..<128 {
            let fd = cil_accept(socket.fd)
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
            if !group.reserveConnection() {
                close(fd)
                rejectedConnections.increment()
                continue
            }
            let target = group.loops[next % group.loops.count]
            next &+= 1
            let kind = self.kind, tls = self.tls, make = self.makeHandler
            if target === loop {
                target.adopt(fd: fd, kind: kind, tls: tls, makeHandler: make)
            } else {
                target.execute { target.adopt(fd: fd, kind: kind, tls: tls, makeHandler: make) }
            }
        }
    }

    private func pause() {
        _ = cil_epoll_ctl(loop.epfd, 2, socket.fd, 0, 0)
        loop.schedule(afterNanos: 100_000_000) { [self] in
            if loop.listeners[socket.fd] === self {
                _ = cil_epoll_ctl(loop.epfd, 0, socket.fd, CIL_EPOLLIN, EventLoop.token(fd: socket.fd, generation: 0))
            }
        }
    }
}

let rejectedConnections = MetricsRegistry.shared.counter(
    "intake_connections_rejected_total", help: "Connections refused because the connection limit was reached.")
let acceptErrors = MetricsRegistry.shared.counter(
    "intake_accept_errors_total", help: "accept(2) failures other than EAGAIN (e.g. out of file descriptors).")
