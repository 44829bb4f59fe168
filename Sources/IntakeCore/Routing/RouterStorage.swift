// IntakeCore/Routing: the router's internal records (agents, sessions, lanes, eligibility
// groups, offers) and the deadline heap behind `tick`. Dense integer indices instead of string
// keys on the hot path. Value types inside the Router; owned by the core thread.

/// A pair of values, one per channel kind.
package struct PerKind<T: Sendable & Equatable>: Sendable, Equatable {
    package var chat: T
    package var voice: T

    package init(chat: T, voice: T) {
        self.chat = chat
        self.voice = voice
    }

    @inline(__always)
    package subscript(kind: ChannelKind) -> T {
        get { kind == .chat ? chat : voice }
        set { if kind == .chat { chat = newValue } else { voice = newValue } }
    }
}

/// One required skill: interned skill index and minimum proficiency.
package struct Requirement: Sendable, Hashable {
    package var skill: Int32
    package var min: UInt8
}

/// One agent's routing state.
package struct AgentState: Sendable {
    package let id: String
    /// Proficiency by interned skill index (0 = none); shorter than the skill table for skills
    /// interned later, which no agent has.
    package let skills: [UInt8]
    package let capacity: PerKind<Int32>
    package var presence: Presence = .offline
    package var connected = false
    package var graceDeadline: EpochMillis?
    package var assigned = PerKind<Int32>(chat: 0, voice: 0)
    package var offered = PerKind<Int32>(chat: 0, voice: 0)
    /// Whether the agent can take a new offer of this kind now (kept equal to `computeAvailable`).
    package var available = PerKind(chat: false, voice: false)
    package var consecutiveTimeouts = 0
    /// The later of going online and the last offer: "longest idle" = smallest.
    package var idleSince: EpochMillis
    /// Session slots assigned or wrapping up.
    package var held: [Int32] = []
    /// Pending offers.
    package var offerIDs: [OfferID] = []
    /// Live sessions that exclude this agent (declined or timed out); 0 skips the checks.
    package var exclusions = 0
    /// Lanes this agent may serve, with the relaxation level from which it may.
    package var lanes: [LaneRef] = []
    /// Its place in every eligibility group it belongs to.
    package var memberships: [Membership] = []

    package init(id: String, skills: [UInt8], capacity: PerKind<Int32>, idleSince: EpochMillis) {
        self.id = id
        self.skills = skills
        self.capacity = capacity
        self.idleSince = idleSince
    }

    @inline(__always)
    package func proficiency(_ skill: Int32) -> UInt8 {
        Int(skill) < skills.count ? skills[Int(skill)] : 0
    }

    @inline(__always)
    package func load(_ kind: ChannelKind) -> Int32 { assigned[kind] + offered[kind] }
}

/// A lane an agent may serve from relaxation `level` on.
package struct LaneRef: Sendable, Equatable {
    package var lane: Int32
    package var level: Int32
}

/// An agent's entry in an eligibility group: which tier, and its index in the tier's
/// `available` array (-1 when not available).
package struct Membership: Sendable, Equatable {
    package var group: Int32
    package var tier: Int32
    package var position: Int32
}

/// Where a session is (internal form of `SessionState`).
package enum SlotState: Sendable, Equatable {
    case queued
    case offered(OfferID)
    case assigned(Int32)
    case wrappingUp(Int32)
    /// Taken off its queue, offer or agent by a transfer, and about to be queued or offered
    /// again within the same event; never seen between events.
    case detached
}

/// One live session.
package struct SessionRecord: Sendable {
    package var id: String
    package var lane: Int32
    package var priority: Int
    package var kind: ChannelKind
    package var requirements: [String: Int]
    package var citizen: String?
    package var enqueuedAt: EpochMillis
    package var state: SlotState
    /// Agents that declined it or let an offer time out: never offered it again.
    package var excluded: [Int32] = []
    /// The router-wide push counter at its last push: ties on `enqueuedAt` across lanes.
    package var pushSeq: UInt64 = 0
}

/// Identifies a lane: queue name, kind, sorted requirements.
package struct LaneKey: Sendable, Hashable {
    package var queue: String
    package var kind: ChannelKind
    package var requirements: [Requirement]
}

/// Sessions of one queue with one kind and requirement set, in service order.
package struct Lane: Sendable {
    package let queue: String
    package let kind: ChannelKind
    package let requirements: [Requirement]
    /// Waiting session slots.
    package var pq: PriorityQueue<Int32>
    /// The eligibility group per relaxation level (index = level).
    package var groups: [Int32] = []
}

/// Identifies an eligibility group: kind, relaxed requirements, overflow skills.
package struct GroupKey: Sendable, Hashable {
    package var kind: ChannelKind
    package var requirements: [Requirement]
    package var overflow: [Requirement]
}

/// The agents eligible for one requirement set at one relaxation level, by proficiency tier.
package struct Group: Sendable {
    package let key: GroupKey
    /// Best proficiency first.
    package var tiers: [Tier]
}

/// Agents of one proficiency score within a group.
package struct Tier: Sendable {
    /// The score: lowest proficiency among the required skills (0 for overflow-only or none).
    package let score: Int
    /// Every eligible agent of this score.
    package var members: [Int32]
    /// Those available now: (agent, index of its membership entry).
    package var available: [(agent: Int32, membership: Int32)]
}

/// One pending offer.
package struct OfferRecord: Sendable, Equatable {
    package var id: OfferID
    package var session: Int32
    package var agent: Int32
    package var expiresAt: EpochMillis
    package var direct: Bool
}

/// A citizen's last agent.
package struct StickyEntry: Sendable, Equatable {
    package var agent: Int32
    package var at: EpochMillis
    package var key: UInt64
}

/// A min-heap of deadlines ordered by (at, a, b, c): deterministic for equal times. Entries
/// are never updated in place; stale ones are skipped when popped.
package struct DeadlineHeap: Sendable {
    package struct Entry: Sendable, Equatable {
        package var at: EpochMillis
        package var a: UInt64
        package var b: UInt64
        package var c: UInt64

        @inline(__always)
        func precedes(_ o: Entry) -> Bool {
            if at != o.at { return at < o.at }
            if a != o.a { return a < o.a }
            if b != o.b { return b < o.b }
            return c < o.c
        }
    }

    package private(set) var items: [Entry] = []

    package init() {}

    package var count: Int { items.count }
    package var peek: Entry? { items.first }

    package mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard e.precedes(items[p]) else { break }
            items[i] = items[p]
            i = p
        }
        items[i] = e
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    package mutating func popDue(_ now: EpochMillis) -> Entry? {
        guard let top = items.first, top.at <= now else { return nil }
        return popFirst()
    }

    /// Removes the earliest entry while `isStale` says it no longer matters.
    package mutating func dropStale(_ isStale: (Entry) -> Bool) {
        while let top = items.first, isStale(top) { _ = popFirst() }
    }

    private mutating func popFirst() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                var c = 2 * i + 1
                if c >= n { break }
                if c + 1 < n && items[c + 1].precedes(items[c]) { c += 1 }
                guard items[c].precedes(last) else { break }
                items[i] = items[c]
                i = c
            }
            items[i] = last
        }
        return top
    }
}
