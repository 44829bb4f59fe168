// IntakeServer: starts and stops the broker: loops, listeners, routes, readiness.
// Created on the main thread; `shutdown()` is called once, from the signal handler's queue.
import IntakeNet
import IntakeWire
import IntakeTelemetry
import IntakeJSON
import IntakeCore
import WebChannel

/// A running broker.
public final class Server: Sendable {
    public let config: ServerConfig
    public let httpEndpoint: Endpoint
    public let tcpEndpoint: Endpoint
    let group: EventLoopGroup
    let context: ServerContext
    /// What SIGHUP reloads (the TLS certificate when TLS is on); add more with `add`.
    public let reloaders = ReloadHooks()

    /// Binds the listeners and starts serving. Throws when a listener cannot be bound.
    /// Without an ingestor, ingest answers `unavailable`; without views, admin views do.
    public convenience init(config: ServerConfig, ingestor: (any Ingestor)? = nil, views: (any BrokerViews)? = nil) throws(IOError) {
        try self.init(config: config, ingestor: ingestor, views: views, agents: nil)
    }

    /// As above; with `agents`, /ws/agent speaks the agent protocol, with `widgets` /ws/widget
    /// the widget protocol (else they echo, like /ws/echo).
    init(config: ServerConfig, ingestor: (any Ingestor)?, views: (any BrokerViews)?, agents: (any AgentHub)?,
         widgets: (any WidgetHub)? = nil, phoneHub: PhoneHub = PhoneHub()) throws(IOError) {
        self.config = config
        Log.level = LogLevel(name: config.logLevel) ?? .info
        var limits = ConnectionLimits()
        limits.maxConnections = config.maxConnections
        limits.maxConnectionsPerIP = config.maxConnectionsPerIP
        limits.highWaterBytes = config.outboundBufferBytes
        limits.maxOutboundBytes = max(config.outboundBufferBytes * 32, 8 << 20)
        limits.slowConsumerGraceNanos = UInt64(config.slowConsumerSeconds * 1e9)
        let health = Health()
        // Every series of the limits' counters from the start, at 0 (rates and alerts need them).
        _ = rateLimitedCounters
        SessionLimits.registerMetrics()
        let router = Routes.make(config: config, health: health, ingestor: ingestor, views: views, agents: agents, widgets: widgets)
        let context = ServerContext(config: config, router: router, ingestor: ingestor, health: health, phoneHub: phoneHub)
        self.context = context
        group = try EventLoopGroup(count: config.loops, limits: limits)
        do {
            let tls = TLSReload.setUp(config: config, handshakeTimeoutNanos: context.headerTimeoutNanos, hooks: reloaders)
            httpEndpoint = try group.listen(config.http, kind: .http, tls: tls) { _ in HTTPConnectionHandler(server: context) }
            tcpEndpoint = try group.listen(config.tcp, kind: .tcp, tls: config.tcpTLS ? tls : nil) { _ in NDJSONConnectionHandler(server: context) }
        } catch {
            group.shutdown(graceSeconds: 0)
            throw error
        }
        health.setReady(true)
        Log.info("listening", ["http": .string(httpEndpoint.description), "tcp": .string(tcpEndpoint.description), "loops": .int(config.loops),
                               "httpTLS": .bool(config.tlsContext != nil), "tcpTLS": .bool(config.tlsContext != nil && config.tcpTLS)])
    }

    /// The line CONTRACT.md promises on stdout once the broker serves.
    public var readyLine: String { "intake ready http=\(httpEndpoint) tcp=\(tcpEndpoint)" }

    public var health: Health { context.health }

    /// Open client connections across all loops.
    public var openConnections: Int { group.connectionCount }

    /// Peers holding a connection, as the per-IP limit tracks them (0 without that limit).
    public var peersTracked: Int { group.peersTracked }

    /// Stops accepting, lets connections finish within the grace period, and returns.
    public func shutdown() {
        context.health.beginShutdown()
        Log.info("shutting down", ["graceSeconds": .double(config.shutdownGraceSeconds)])
        group.shutdown(graceSeconds: config.shutdownGraceSeconds)
    }
}
