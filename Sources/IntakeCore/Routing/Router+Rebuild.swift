// IntakeCore/Routing: rebuilding a router after a process restart from what the broker's log
// keeps (waiting sessions and assignments), without a stored RouterSnapshot. Core thread.

extension Router {
    /// A router at `now` holding `queued` sessions (in the order given) and `assigned` ones.
    /// Agents holding sessions count as online but disconnected, with a fresh grace period:
    /// reconnecting within it keeps their sessions; otherwise they are requeued. Offer ids
    /// continue after `lastOfferID`. Returns the actions the rebuild produced (requeues of
    /// sessions whose agent left the directory).
    public static func rebuilt(directory: AgentDirectory, config: RouterConfig = RouterConfig(), now: EpochMillis,
                               queued: [SessionRequest], assigned: [(SessionRequest, agent: String)],
                               lastOfferID: OfferID) -> (Router, [RouterAction]) {
        let holders = Set(assigned.map(\.agent))
        let agents = directory.agents.map { a in
            RouterSnapshot.AgentEntry(id: a.id, presence: holders.contains(a.id) ? .online : .offline,
                                      connected: holders.contains(a.id), graceDeadline: nil, consecutiveTimeouts: 0,
                                      idleSince: now)
        }
        let sessions = assigned.map { RouterSnapshot.SessionEntry(request: $0.0, placement: .assigned(agent: $0.agent), excluded: []) }
            + queued.map { RouterSnapshot.SessionEntry(request: $0, placement: .queued, excluded: []) }
        let snapshot = RouterSnapshot(takenAt: now, agents: agents, sessions: sessions, sticky: [],
                                      nextOfferID: lastOfferID + 1)
        return restore(snapshot, directory: directory, config: config, now: now, connectionsLost: true)
    }
}
