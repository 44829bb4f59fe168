// IntakeServer/Limits: per-connection message rates. Each connection holds one token bucket for
// what it sends (HTTP requests, WebSocket data messages, NDJSON lines); the bucket lives in the
// connection's handler and is touched only on its loop thread. The limits are value types,
// resolved once from the configuration.
import IntakeTelemetry
import CIntakeLinux

/// A message rate: `perSecond` on average, `burst` at once. `perSecond` 0 means no limit.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// No limit.
    public static let off = RateLimit(perSecond: 0, burst: 1)
    public var isOff: Bool { perSecond <= 0 }

    /// A new connection's bucket (full), or nil when there is no limit.
    func bucket(now: UInt64 = cil_monotonic_nanos()) -> TokenBucket? { isOff ? nil : TokenBucket(self, now: now) }

    public var description: String { isOff ? "off" : "\(Self.format(perSecond))/s, burst \(burst)" }

    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}

/// A token bucket: it holds up to `burst` tokens, refills at `perSecond`, and each message takes
/// one. Starts full, so a new connection may send `burst` messages at once. Loop thread only.
struct TokenBucket {
    private let perNano: Double
    private let capacity: Double
    private var tokens: Double
    private var lastNanos: UInt64

    init(_ limit: RateLimit, now: UInt64) {
        precondition(!limit.isOff && limit.burst >= 1, "BUG: a token bucket needs a rate and a burst of at least 1")
        perNano = limit.perSecond / 1e9
        capacity = Double(limit.burst)
        tokens = capacity
        lastNanos = now
    }

    private mutating func refill(_ now: UInt64) {
        // A `now` older than the last one (two clocks read on one loop) adds nothing.
        guard now > lastNanos else { return }
        tokens = min(capacity, tokens + Double(now - lastNanos) * perNano)
        lastNanos = now
    }

    /// Takes a token when one is there; false when the message is over the rate.
    mutating func take(now: UInt64) -> Bool {
        refill(now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// How long until the next token, in nanoseconds (0 when one is there now).
    mutating func nanosUntilToken(now: UInt64) -> UInt64 {
        refill(now)
        if tokens >= 1 { return 0 }
        return UInt64(((1 - tokens) / perNano).rounded(.up))
    }
}

/// What the limit counts, as the `kind` label of `intake_rate_limited_total`.
enum RateKind: String, CaseIterable {
    case http, ws, tcp

    var counter: Counter { rateLimitedCounters[self]! }

    /// What a client is told: the limit, and when it may send again.
    func message(_ limit: RateLimit, retryAfterNanos: UInt64) -> String {
        let noun = switch self {
        case .http: "request"
        case .ws: "message"
        case .tcp: "line"
        }
        let what = limit.perSecond == 1 ? noun : noun + "s"
        return "more than \(RateLimit.format(limit.perSecond)) \(what) a second (burst \(limit.burst)) on this connection; "
            + "retry in \(retryAfterNanos.retryAfterMillis) ms"
    }
}

/// `intake_rate_limited_total{kind}`: messages answered "rate limited" instead of processed.
let rateLimitedCounters: [RateKind: Counter] = Dictionary(uniqueKeysWithValues: RateKind.allCases.map {
    ($0, MetricsRegistry.shared.counter("intake_rate_limited_total",
                                        help: "Messages over their connection's rate limit, refused unprocessed, by kind (http requests, ws messages, tcp lines).",
                                        labels: ["kind": $0.rawValue]))
})

extension UInt64 {
    /// Whole seconds, rounded up, at least 1: the value of a `Retry-After` header.
    var retryAfterSeconds: Int { Swift.max(1, Int((self + 999_999_999) / 1_000_000_000)) }
    /// Milliseconds, rounded up, at least 1.
    var retryAfterMillis: Int { Swift.max(1, Int((self + 999_999) / 1_000_000)) }
}
