// IntakeNet: N event loops (one per core by default), their listeners and their shutdown.
// Created and shut down from the main thread; `next()` and `execute` are safe anywhere.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// A fixed set of event loops, each on its own thread.
public final class EventLoopGroup: @unchecked Sendable {
    public let loops: [EventLoop]
    public let limits: ConnectionLimits
    private let roundRobin = Atomic<Int>(0)
    /// Open connections in total and per peer, against `limits` (ConnectionAdmission.swift).
    let admission: ConnectionAdmission

    /// Starts `count` loops (default: one per online core).
    public init(count: Int = EventLoopGroup.coreCount, limits: ConnectionLimits = ConnectionLimits()) throws(IOError) {
        precondition(count > 0, "BUG: an event loop group needs at least one loop")
        self.limits = limits
        admission = ConnectionAdmission(limits: limits)
        var loops: [EventLoop] = []
        for i in 0..<count { loops.append(try EventLoop(index: i, limits: limits)) }
        self.loops = loops
        for l in loops { l.group = self }
        for l in loops { l.start() }
    }

    /// The number of online cores.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// A loop for new work, round-robin.
    public func next() -> EventLoop { loops[roundRobin.add(1, ordering: .relaxed).oldValue % loops.count] }

    /// Open connections across all loops.
    public var connectionCount: Int { admission.openConnections }

    /// Peers (IPv4 addresses, IPv6 /64s) holding at least one connection; tracked only with a
    /// per-IP limit, else 0.
    public var peersTracked: Int { admission.trackedPeers }

    func releaseConnection(_ peer: PeerKey) { admission.release(peer) }

    /// Binds `endpoint` and accepts on it; every connection gets a handler from `makeHandler`,
    /// called on the loop that will own the connection. With `tls`, the listener speaks TLS
    /// only (handlers see plaintext). Returns the bound endpoint.
    public func listen(_ endpoint: Endpoint, kind: ConnectionKind, tls: TLSServer? = nil,
                       makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler) throws(IOError) -> Endpoint {
        let socket = try ListeningSocket.bind(endpoint)
        let acceptor = loops[0]
        let registered = DispatchSemaphore(value: 0)
        acceptor.execute { [self] in
            acceptor.addListener(Listener(socket: socket, kind: kind, tls: tls, group: self, loop: acceptor, makeHandler: makeHandler))
            registered.signal()
        }
        registered.wait()
        return socket.endpoint
    }

    /// Stops accepting, lets every connection finish (handlers get `connectionShouldClose`),
    /// and returns once every loop has stopped or `graceSeconds` have passed.
    public func shutdown(graceSeconds: Double = 5) {
        for l in loops { l.requestShutdown(graceNanos: UInt64(graceSeconds * 1e9)) }
        for l in loops { l.waitUntilStopped() }
    }
}
