// IntakeServer/Limits: how many sessions may be open, in total and per citizen. The sessions
// live in the core (BrokerState, on the core thread), so this is only the rule: the core asks
// `refusal` where a message would open a new session and, when it gets an error, answers that
// message with it instead of opening the session (docs/SECURITY.md, "Limits"). A value type;
// any thread.
import IntakeCore
import IntakeTelemetry

/// The open-session limits of the configuration and what a client is told when one is reached.
public struct SessionLimits: Sendable, Equatable {
    /// Most sessions open at once in the whole broker.
    public var maxOpen: Int
    /// Most sessions open at once for one citizen (the same channel, account and citizen id).
    public var maxOpenPerCitizen: Int

    public init(maxOpen: Int, maxOpenPerCitizen: Int) {
        self.maxOpen = maxOpen
        self.maxOpenPerCitizen = maxOpenPerCitizen
    }

    public init(config: ServerConfig) {
        self.init(maxOpen: config.maxOpenSessions, maxOpenPerCitizen: config.maxOpenSessionsPerCitizen)
    }

    /// Nil when one more session may open, given how many are open in total and for the citizen
    /// of the message; else the error to answer that message with (the refusal is counted in
    /// `intake_sessions_refused_total{reason}`). Messages to a session already open never ask.
    ///
    /// - total reached: 503 `unavailable` (the broker is full: retry later, like an overload);
    /// - the citizen's reached: 429 `too_many_sessions` (this citizen must finish one first).
    public func refusal(openTotal: Int, openForCitizen: Int) -> ClientError? {
        if openTotal >= maxOpen {
            sessionsRefusedTotal.increment()
            return .unavailable("the broker holds its maximum of \(maxOpen) open sessions; retry later")
        }
        if openForCitizen >= maxOpenPerCitizen {
            sessionsRefusedPerCitizen.increment()
            return ClientError("too_many_sessions",
                               "this citizen already has \(openForCitizen) open sessions (at most \(maxOpenPerCitizen)); continue in one of them",
                               status: .tooManyRequests)
        }
        return nil
    }

    /// Registers both series of `intake_sessions_refused_total` at 0 (call once at start-up).
    public static func registerMetrics() { _ = (sessionsRefusedTotal, sessionsRefusedPerCitizen) }

    /// The core's check, on the core thread just before `state.ingest(envelope, dedupeKey:now:)`:
    /// nil for a repeat of a stored message (answered as before), for a message to its citizen's
    /// open session, and for a new session within the limits; else the error to answer the
    /// message with, instead of ingesting it.
    ///
    /// A citizen (channel, account, citizen id) holds at most one open session in `BrokerState`
    /// (the next message goes to it), so today only the total can refuse; the per-citizen limit
    /// applies through `refusal(openTotal:openForCitizen:)` if the core lets a citizen hold more.
    public func refusal(for envelope: Envelope, dedupeKey: String, in state: BrokerState) -> ClientError? {
        if state.dedupe[dedupeKey] != nil { return nil }
        let owner = BrokerState.ownerKey(channel: envelope.channel, account: envelope.account, citizen: envelope.citizen)
        if state.openSessions[owner] != nil { return nil }
        return refusal(openTotal: state.openSessions.count, openForCitizen: 0)
    }
}

let sessionsRefusedTotal = MetricsRegistry.shared.counter(
    "intake_sessions_refused_total", help: "Messages refused because they would open a session over a limit, by limit (max_open_sessions, per_citizen).",
    labels: ["reason": "max_open_sessions"])
let sessionsRefusedPerCitizen = MetricsRegistry.shared.counter(
    "intake_sessions_refused_total", help: "Messages refused because they would open a session over a limit, by limit (max_open_sessions, per_citizen).",
    labels: ["reason": "per_citizen"])
