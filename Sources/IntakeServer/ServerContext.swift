// IntakeServer: what every connection handler needs to know, resolved once from the config.
// Immutable after start-up except the two atomics (readiness and shutdown); shared by all loops.
import IntakeNet
import IntakeWire
import Synchronization

/// Read-mostly state shared by every connection of the server.
public final class ServerContext: Sendable {
    let config: ServerConfig
    let httpLimits: HTTPLimits
    let maxMessageBytes: Int
    let maxLineBytes: Int
    let headerTimeoutNanos: UInt64
    let idleTimeoutNanos: UInt64
    let wsIdleTimeoutNanos: UInt64
    let tcpIdleTimeoutNanos: UInt64
    /// Per-connection rates: HTTP requests, WebSocket messages, NDJSON lines (Limits/RateLimit.swift).
    let httpRate: RateLimit
    let wsRate: RateLimit
    let tcpRate: RateLimit
    let apps: AppAuthenticator
    let router: HTTPRouter<HTTPRoute>
    let ingestor: (any Ingestor)?
    let health: Health
    /// The way back to the call centre's connections (TCP/PhoneHub.swift).
    let phoneHub: PhoneHub

    init(config: ServerConfig, router: HTTPRouter<HTTPRoute>, ingestor: (any Ingestor)?, health: Health,
         phoneHub: PhoneHub = PhoneHub()) {
        self.phoneHub = phoneHub
        self.health = health
        self.config = config
        var limits = HTTPLimits()
        limits.maxHeaderBytes = config.maxHeaderBytes
        limits.maxBodyBytes = config.maxBodyBytes
        httpLimits = limits
        maxMessageBytes = config.maxMessageBytes
        maxLineBytes = config.maxLineBytes
        headerTimeoutNanos = UInt64(config.headerTimeoutSeconds * 1e9)
        idleTimeoutNanos = UInt64(config.idleTimeoutSeconds * 1e9)
        wsIdleTimeoutNanos = UInt64(config.wsIdleTimeoutSeconds * 1e9)
        tcpIdleTimeoutNanos = UInt64(config.tcpIdleTimeoutSeconds * 1e9)
        httpRate = config.httpRate
        wsRate = config.wsRate
        tcpRate = config.tcpRate
        apps = AppAuthenticator(apps: config.apps)
        self.router = router
        self.ingestor = ingestor
    }

    var isShuttingDown: Bool { health.isShuttingDown }
}

/// Readiness and shutdown flags, read by /readyz and by every connection.
public final class Health: Sendable {
    private let shuttingDown = Atomic<Bool>(false)
    private let ready = Atomic<Bool>(false)
    /// Extra readiness conditions (e.g. the store is healthy), each checked on /readyz.
    let checks: Mutex<[(name: String, check: @Sendable () -> Bool)]> = Mutex([])

    public init() {}
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }
    func beginShutdown() { shuttingDown.store(true, ordering: .relaxed) }
    func setReady(_ v: Bool) { ready.store(v, ordering: .relaxed) }
    func addCheck(_ name: String, _ check: @escaping @Sendable () -> Bool) { checks.withLock { $0.append((name, check)) } }

    /// Nil when ready, else why not.
    public var notReadyReason: String? {
        if isShuttingDown { return "shutting down" }
        if !ready.load(ordering: .relaxed) { return "starting" }
        let failing = checks.withLock { $0.filter { !$0.check() }.map(\.name) }
        return failing.isEmpty ? nil : failing.joined(separator: ", ") + " not ready"
    }
}
