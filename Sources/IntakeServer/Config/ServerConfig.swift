// IntakeServer: the broker's configuration, resolved once at start-up from defaults, the JSON
// config file, INTAKE_* environment variables and flags (later ones win). Immutable afterwards;
// shared read-only by every thread.
import IntakeNet
import WeChatChannel

/// An app back end allowed to ingest (CONTRACT.md "apps").
public struct AppAccount: Sendable, Equatable {
    public var account: String
    /// The bearer key (resolved from "env:NAME" when written so).
    public var key: String
    /// Where replies to this app's users are POSTed.
    public var webhook: String?

    public init(account: String, key: String, webhook: String? = nil) {
        self.account = account
        self.key = key
        self.webhook = webhook
    }
}

/// Every setting of `intake serve`.
public struct ServerConfig: Sendable {
    public var dataDir = "./data"
    public var http = Endpoint(host: "127.0.0.1", port: 8080)
    public var tcp = Endpoint(host: "127.0.0.1", port: 7070)
    public var kb: String?
    public var agents: String?
    /// `always`, `batch:<ms>` or `never`.
    public var fsync = "always"
    public var loops = EventLoopGroup.coreCount
    public var retentionSeconds: Int64 = 30 * 86_400
    public var maxHeaderBytes = 16 * 1024
    public var maxBodyBytes = 1024 * 1024
    public var maxLineBytes = 1024 * 1024
    public var maxMessageBytes = 1024 * 1024
    public var headerTimeoutSeconds = 10.0
    public var idleTimeoutSeconds = 60.0
    public var wsIdleTimeoutSeconds = 300.0
    public var tcpIdleTimeoutSeconds = 300.0
    public var maxConnections = 100_000
    public var outboundBufferBytes = 256 * 1024
    public var slowConsumerSeconds = 10.0
    /// Most open connections from one IPv4 address or IPv6 /64, over both listeners (0 = no
    /// limit). Behind a proxy every client has the proxy's address: raise it or set 0 there.
    public var maxConnectionsPerIP = 256
    /// Per-connection message rates (token buckets; docs/PROTOCOL.md "Limits"): HTTP requests,
    /// WebSocket messages, NDJSON lines. A rate of 0 turns that limit off.
    public var httpRate = RateLimit(perSecond: 100, burst: 200)
    public var wsRate = RateLimit(perSecond: 20, burst: 60)
    public var tcpRate = RateLimit(perSecond: 5000, burst: 10_000)
    /// Open sessions in total and per citizen (channel + account + citizen id); enforced by the
    /// core where a message would open a session (`SessionLimits`).
    public var maxOpenSessions = 100_000
    public var maxOpenSessionsPerCitizen = 3
    public var shutdownGraceSeconds = 5.0
    public var logLevel = "info"
    public var adminToken: String?
    public var apps: [AppAccount] = []
    /// WeChat Official Accounts served at /wechat/{account} (the config file's `wechat` list).
    public var wechat: [WeChatAccountConfig] = []
    /// Where the static folders (widget, ops, console) are served from; nil: the built-in ones.
    public var webRoot: String?
    /// PEM certificate chain (leaf first) and private key of the HTTP listener; with both
    /// set, that listener speaks TLS only. Read again on SIGHUP (certificate rotation).
    public var tlsCert: String?
    public var tlsKey: String?
    /// With TLS configured, the NDJSON listener (`--tcp`) speaks TLS too (same certificate).
    /// Off by default: the call centre's feed and back ends on the internal network connect in
    /// plaintext, and turning HTTPS on for the public must not cut them off.
    public var tcpTLS = false
    /// The TLS context built from `tlsCert` and `tlsKey` when the configuration was loaded
    /// (so a bad pair is a configuration error, exit 2); nil: plaintext HTTP.
    public var tlsContext: TLSContext?
    /// The `routing` section: router timers, session lifecycle, classification rules.
    public var routing = RoutingSettings()
    /// The `bot` section: the FAQ bot's channels and tunables (off in `ServerConfig()`; the
    /// demo defaults of `intake serve` turn it on for web and WeChat).
    public var bot = BotSettings()

    public init() {}
}
