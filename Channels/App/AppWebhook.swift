// AppChannel: replies to app users, delivered to the app back end's webhook URL (config
// `apps[].webhook`): the JSON body, its HMAC-SHA256 signature header, the retry schedule and the
// verification an app back end runs. Pure: the broker's outbox (durable, across restarts) owns
// the HTTP client and the clock. docs/PROTOCOL.md, "App webhooks".
//
// Signature (the scheme Stripe and GitHub users know): header
//   X-Intake-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>
// The timestamp is inside the signed string, so a captured request cannot be replayed later
// than the receiver's tolerance; the receiver compares in constant time.
import IntakeCore
import IntakeCrypto
import IntakeJSON

/// One reply to deliver to an app back end.
public struct AppReply: Sendable, Equatable {
    /// The reply's broker id (stable across retries: the receiver's dedupe key).
    public var id: String
    public var session: String
    public var account: String
    /// The app user the reply is for (the envelope's `citizen`).
    public var citizen: String
    /// "agent" or "bot".
    public var from: String
    public var agentName: String?
    public var text: String
    public var sentAt: EpochMillis
    /// The citizen message this answers, when known.
    public var inReplyTo: String?

    public init(id: String, session: String, account: String, citizen: String, from: String, agentName: String? = nil,
                text: String, sentAt: EpochMillis, inReplyTo: String? = nil) {
        self.id = id
        self.session = session
        self.account = account
        self.citizen = citizen
        self.from = from
        self.agentName = agentName
        self.text = text
        self.sentAt = sentAt
        self.inReplyTo = inReplyTo
    }

    /// The webhook body (compact JSON, UTF-8, Chinese unescaped).
    public var body: [UInt8] {
        var m: [(String, JSON)] = [("type", "reply"), ("id", .string(id)), ("session", .string(session)),
                                   ("account", .string(account)), ("citizen", .string(citizen)), ("from", .string(from))]
        if let agentName { m.append(("agentName", .string(agentName))) }
        m.append(("text", .string(text)))
        m.append(("sentAt", .string(RFC3339.format(sentAt))))
        if let inReplyTo { m.append(("inReplyTo", .string(inReplyTo))) }
        return JSON.object(m).serializedBytes
    }
}

public enum AppWebhook {
    /// The signature header's name.
    public static let signatureHeader = "X-Intake-Signature"
    /// The delivery id header (the reply id; the same on every retry).
    public static let deliveryHeader = "X-Intake-Delivery"
    /// A receiver rejects signatures older (or newer) than this.
    public static let defaultToleranceSeconds: Int64 = 300

    /// The header value for `body` signed with `key` at `unixSeconds`.
    public static func signature(key: String, body: [UInt8], unixSeconds: Int64) -> String {
        "t=\(unixSeconds),v1=" + Digest.hex(Digest.hmacSHA256(key: Array(key.utf8), message: signedBytes(body, unixSeconds)))
    }

    static func signedBytes(_ body: [UInt8], _ t: Int64) -> [UInt8] { Array("\(t).".utf8) + body }

    /// Why a receiver refused a delivery.
    public enum VerifyError: Error, Equatable, Sendable {
        case malformedHeader, stale, badSignature
    }

    /// What an app back end runs on a delivery (and what our tests run); nil when it is good:
    /// the header parses,
    /// the timestamp is within `tolerance` of `nowSeconds`, and some v1 signature matches
    /// (several v1= values are allowed so a key can be rotated).
    public static func verify(header: String, body: [UInt8], key: String, nowSeconds: Int64,
                              toleranceSeconds: Int64 = defaultToleranceSeconds) -> VerifyError? {
        var t: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters() }
            guard kv.count == 2 else { return .malformedHeader }
            switch kv[0] {
            case "t": t = Int64(kv[1])
            case "v1": signatures.append(kv[1])
            default: continue
            }
        }
        guard let t, !signatures.isEmpty else { return .malformedHeader }
        guard abs(nowSeconds - t) <= toleranceSeconds else { return .stale }
        let expected = Array(Digest.hex(Digest.hmacSHA256(key: Array(key.utf8), message: signedBytes(body, t))).utf8)
        var ok = false
        for sig in signatures where constantTimeEquals(Array(sig.utf8), expected) { ok = true }  // no early exit
        return ok ? nil : .badSignature
    }
}

/// When to try a delivery again: exponential backoff with a cap, until the reply expires.
public struct RetrySchedule: Sendable, Equatable {
    public var firstDelayMillis: Int64 = 1_000
    public var maxDelayMillis: Int64 = 300_000
    public var factor: Double = 2
    /// A reply not delivered within this long after it was sent is given up (and the agent told).
    public var expiryMillis: Int64 = 24 * 3600 * 1000

    public init() {}

    /// The delay before attempt `attempt + 1` (attempt 1 failed → firstDelay, then ×factor, capped).
    public func delay(afterAttempt attempt: Int) -> Int64 {
        precondition(attempt >= 1, "BUG: attempts count from 1")
        var d = Double(firstDelayMillis)
        for _ in 1..<min(attempt, 64) { d *= factor; if d >= Double(maxDelayMillis) { return maxDelayMillis } }
        return min(Int64(d), maxDelayMillis)
    }

    /// The time of the next attempt after `attempt` failed at `now`, or nil when the reply
    /// (sent at `sentAt`) would have expired by then.
    public func nextAttempt(after attempt: Int, failedAt now: EpochMillis, sentAt: EpochMillis) -> EpochMillis? {
        let next = now + delay(afterAttempt: attempt)
        return next - sentAt > expiryMillis ? nil : next
    }

    /// Whether an HTTP status means "delivered" (2xx), "try again" (408, 429, 5xx, no answer),
    /// or "give up" (other 4xx: the receiver refuses this reply for good).
    public static func classify(status: Int?) -> DeliveryResult {
        guard let status else { return .retry }
        switch status {
        case 200..<300: return .delivered
        case 408, 425, 429, 500..<600: return .retry
        default: return .rejected
        }
    }
}

public enum DeliveryResult: Sendable, Equatable {
    case delivered, retry, rejected
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
