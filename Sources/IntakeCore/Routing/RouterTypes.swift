// IntakeCore/Routing: the router's vocabulary: its configuration, the events the core thread
// feeds it, and the actions it answers with (each carrying its audit reason).
// Value types; built on any thread, consumed by the core thread that owns the Router.

/// Presence as the agent (or the router, after timeouts or a lost connection) sets it.
public enum Presence: String, Sendable, Equatable, CaseIterable {
    /// Takes new offers (when connected and with capacity).
    case online
    /// Keeps its conversations, takes no new offers.
    case away
    /// Holds nothing: its conversations went back to the queue.
    case offline
}

/// A relaxation step: once a session has waited `afterMillis`, widen who may serve it.
public struct RelaxationStep: Sendable, Equatable {
    /// What the step changes.
    public enum Change: Sendable, Equatable {
        /// Lower every required proficiency by this much (never below 1).
        case lowerProficiency(by: Int)
        /// Agents with `skill` at `minProficiency` or more become eligible whatever the requirements.
        case addOverflowSkill(String, minProficiency: Int)
    }

    /// Wait (from the session's original `enqueuedAt`) at which the step applies; > 0.
    public var afterMillis: EpochMillis
    /// The change.
    public var change: Change

    /// A step applying `change` after `afterMillis` of waiting.
    public init(afterMillis: EpochMillis, _ change: Change) {
        self.afterMillis = afterMillis
        self.change = change
    }
}

/// The router's settings (docs/ROUTING.md explains each rule).
public struct RouterConfig: Sendable, Equatable {
    /// How long an offer waits for accept or decline.
    public var offerTimeoutMillis: EpochMillis = 20_000
    /// How long a dropped connection keeps the agent's conversations.
    public var graceMillis: EpochMillis = 30_000
    /// Consecutive offer timeouts after which the agent is set away.
    public var maxConsecutiveTimeouts = 2
    /// How long after a conversation a returning citizen prefers the same agent; 0 = off.
    public var stickyMillis: EpochMillis = 30 * 60_000
    /// Relaxation steps, strictly increasing `afterMillis`.
    public var relaxation: [RelaxationStep] = []
    /// Anti-starvation limit (see `PriorityQueue`) per queue name; queues not listed get the default.
    public var starvationLimitMillis: [String: EpochMillis] = [:]
    /// The anti-starvation limit of queues not listed; `nil` = off.
    public var defaultStarvationLimitMillis: EpochMillis? = 5 * 60_000
    /// Whether open chats keep an agent from getting a call (Genesys default: no).
    public var chatBlocksVoice = false

    /// The defaults: 20 s offers, 30 s grace, away after 2 timeouts, 30 min stickiness,
    /// no relaxation, 5 min anti-starvation, chats do not block calls.
    public init() {}

    /// The limit for queue `name`.
    public func starvationLimit(queue name: String) -> EpochMillis? {
        starvationLimitMillis[name] ?? defaultStarvationLimitMillis
    }

    /// Problems with the settings, as sentences; empty when usable.
    public func problems() -> [String] {
        var out: [String] = []
        if offerTimeoutMillis <= 0 { out.append("offerTimeoutMillis must be > 0") }
        if graceMillis < 0 { out.append("graceMillis must be >= 0") }
        if maxConsecutiveTimeouts < 1 { out.append("maxConsecutiveTimeouts must be >= 1") }
        if stickyMillis < 0 { out.append("stickyMillis must be >= 0") }
        var last: EpochMillis = 0
        for (i, step) in relaxation.enumerated() {
            if step.afterMillis <= last { out.append("relaxation[\(i)].afterMillis must increase and be > 0") }
            last = step.afterMillis
            switch step.change {
            case .lowerProficiency(let by) where by < 1: out.append("relaxation[\(i)] must lower by >= 1")
            case .addOverflowSkill(let s, let p) where s.isEmpty || !AgentDirectory.Limits.proficiency.contains(p):
                out.append("relaxation[\(i)] needs a skill name and a proficiency 1-5")
            default: break
            }
        }
        for (q, limit) in starvationLimitMillis where limit < 0 { out.append("starvation limit of \(q) must be >= 0") }
        if (defaultStarvationLimitMillis ?? 0) < 0 { out.append("defaultStarvationLimitMillis must be >= 0") }
        return out
    }
}

/// A conversation that needs an agent.
public struct SessionRequest: Sendable, Equatable {
    /// The session id (unique among live sessions).
    public var id: String
    /// The named queue it waits in ("general", "enterprise" …); its anti-starvation limit applies.
    public var queue: String
    /// Chat or voice: which capacity it takes.
    public var kind: ChannelKind
    /// 0...9, 9 served first.
    public var priority: Int
    /// Skill → minimum proficiency 1...5; every one is required.
    public var requirements: [String: Int]
    /// Who the citizen is (channel + account + citizen), for sticky routing; `nil` = none.
    public var citizen: String?
    /// The original wait start; kept when the session goes back to the queue.
    public var enqueuedAt: EpochMillis

    /// A request; the router validates it on `sessionQueued`.
    public init(id: String, queue: String = "general", kind: ChannelKind = .chat, priority: Int = 5,
                requirements: [String: Int] = [:], citizen: String? = nil, enqueuedAt: EpochMillis) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.priority = priority
        self.requirements = requirements
        self.citizen = citizen
        self.enqueuedAt = enqueuedAt
    }
}

/// Where a transfer sends a conversation.
public enum TransferTarget: Sendable, Equatable {
    /// Back to the queue with new requirements (and optionally another queue), as a new wait.
    case skills([String: Int], queue: String?)
    /// Straight to a named agent, who must be online with capacity.
    case agent(String)
}

/// Identifies one offer; never reused by a router (nor by one rebuilt from its snapshot).
public typealias OfferID = UInt64

/// What the core thread tells the router.
public enum RouterEvent: Sendable, Equatable {
    /// The agent set its presence (an `online` also marks it connected).
    case presence(agent: String, Presence)
    /// The agent's connection dropped: the grace period starts.
    case disconnected(agent: String)
    /// The agent connected again (within grace: nothing is lost).
    case reconnected(agent: String)
    /// A session needs an agent.
    case sessionQueued(SessionRequest)
    /// The agent accepted its offer.
    case offerAccepted(OfferID, agent: String)
    /// The agent declined its offer.
    case offerDeclined(OfferID, agent: String)
    /// The conversation ended; with `wrapUp` the agent keeps the slot until `wrapUpDone`.
    case sessionClosed(String, wrapUp: Bool)
    /// The agent finished wrap-up of a closed session: the slot is free.
    case wrapUpDone(String)
    /// Move a session to other skills or to a named agent.
    case transfer(String, to: TransferTarget)
    /// Time passed: offer timeouts, grace expiry, relaxation steps (call at `nextDeadline`).
    case tick
}

/// One offer of a session to an agent.
public struct Offer: Sendable, Equatable {
    /// The offer's id (the agent answers with it).
    public var id: OfferID
    /// The session offered.
    public var session: String
    /// The agent it is offered to.
    public var agent: String
    /// When it times out.
    public var expiresAt: EpochMillis
    /// `true` for a transfer to a named agent (not taken from the queue in order).
    public var direct: Bool
}

/// Why an offer was withdrawn.
public enum RevokeCause: String, Sendable, Equatable {
    /// Nobody answered within the offer timeout.
    case timedOut = "timed out"
    /// The agent went away (or was set away).
    case agentAway = "agent away"
    /// The agent went offline or its grace period ended.
    case agentOffline = "agent offline"
    /// The session was closed or transferred meanwhile.
    case sessionEnded = "session ended"
    /// The broker restarted; the same session is offered again under a new id.
    case restart
}

/// Why a session went back to the queue (always at its original wait, except transfers).
public enum RequeueCause: String, Sendable, Equatable {
    /// The agent declined the offer.
    case declined
    /// The offer timed out.
    case offerTimedOut = "offer timed out"
    /// The offer was revoked because the agent became unavailable.
    case agentUnavailable = "agent unavailable"
    /// The assigned agent went offline (explicitly or after the grace period).
    case agentOffline = "agent offline"
    /// Transferred to other skills (a new wait starts).
    case transferred
}

/// The audit reason of a routing decision: which rule chose what, and why. Structured so the
/// hot path builds no strings; `description` is the audit line.
public enum RoutingReason: Sendable, Equatable, CustomStringConvertible {
    /// A session chose an agent: best proficiency tier, then lowest load, then longest idle.
    case bestAgent(proficiency: Int, eligibleInTier: Int, load: Int, capacity: Int, idleMillis: EpochMillis,
                   relaxation: Int)
    /// The citizen's last agent, within the sticky window.
    case sticky(sinceMillis: EpochMillis)
    /// An agent with spare capacity took the first session it may serve in service order.
    case nextInQueue(queue: String, priority: Int, waitedMillis: EpochMillis, overdue: Bool, relaxation: Int)
    /// A transfer to a named agent.
    case directTransfer(from: String?)
    /// A pending offer renewed after a restart.
    case restart

    /// The audit line, e.g. "best proficiency 4 among 3 eligible; load 1/5; idle 42 s".
    public var description: String {
        switch self {
        case let .bestAgent(p, n, load, cap, idle, r):
            return "best proficiency \(p) among \(n) eligible; load \(load)/\(cap); idle \(idle / 1000) s"
                + (r > 0 ? "; relaxation level \(r)" : "")
        case .sticky(let since):
            return "sticky: the citizen's last agent (\(since / 1000) s ago), online with capacity"
        case let .nextInQueue(q, p, waited, overdue, r):
            return "next in service order for this agent: queue \(q), priority \(p), waited \(waited / 1000) s"
                + (overdue ? " (overdue: anti-starvation)" : "") + (r > 0 ? "; relaxation level \(r)" : "")
        case .directTransfer(let from):
            return "transfer to a named agent" + (from.map { " from \($0)" } ?? "")
        case .restart:
            return "offer renewed after restart"
        }
    }
}

/// What the router asks the core thread to do or record. Every action is an audit record.
public enum RouterAction: Sendable, Equatable {
    /// Send the offer to the agent.
    case offer(Offer, reason: RoutingReason)
    /// Tell the agent the offer is withdrawn.
    case revoke(Offer, cause: RevokeCause)
    /// The agent accepted: the session is theirs.
    case assigned(session: String, agent: String)
    /// The session waits again (at its original wait start unless transferred).
    case requeued(session: String, cause: RequeueCause)
    /// The router changed an agent's presence; `reason` is the audit text.
    case presenceChanged(agent: String, Presence, reason: String)
    /// A relaxation step now applies to a waiting session.
    case relaxed(session: String, level: Int, reason: String)
    /// The event was refused (unknown id, stale offer, impossible transfer); state unchanged.
    case rejected(String)
}

/// Where a session is, as the router sees it.
public enum SessionState: Sendable, Equatable {
    /// Waiting in its queue.
    case queued
    /// Offered to an agent.
    case offered(agent: String, offer: OfferID)
    /// Held by an agent.
    case assigned(agent: String)
    /// Closed, the agent still wrapping up (the slot is held).
    case wrappingUp(agent: String)
}
