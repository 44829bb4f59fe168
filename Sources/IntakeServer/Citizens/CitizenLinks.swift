// IntakeServer/Citizens: the seam through which the core thread reaches citizens: what it tells
// them (`CitizenEvent`), who they are (`CitizenAddress`), and the registry of links (`CitizenLinks`):
// a widget connection per visitor now; channel adapters (app webhooks, the WeChat customer-service
// API) later register one link per channel account. The registry is core-thread state; links
// are called from any thread (the store's writer, after the records an event depends on are
// durable) and must hop to their own loop or queue without blocking.
import IntakeCore

/// What the broker tells a citizen about their conversation.
enum CitizenEvent: Sendable, Equatable {
    /// Waiting: their place in the queue and the estimated wait (nil: no agent online to estimate from).
    case queue(session: String, position: Int, etaSeconds: Int?)
    /// An agent accepted the conversation.
    case assigned(session: String, agentName: String, agent: String = "")
    /// A reply from the agent or the bot (durable, with its id).
    case message(session: String, from: Replied.From, text: String, id: String)
    /// The conversation ended.
    case closed(session: String, reason: String)
}

/// Who an event is for.
struct CitizenAddress: Sendable, Equatable {
    var channel: Channel
    var account: String
    var citizen: String
    /// The session the event is about.
    var session: String
}

/// One way to reach citizens: a widget connection (one visitor), or an adapter reaching every
/// citizen of a channel account.
protocol CitizenLink: AnyObject, Sendable {
    /// Delivers `event` to `citizen`. Any thread; must not block.
    func deliver(_ event: CitizenEvent, to citizen: CitizenAddress)
}

/// A citizen event queued in the core's Outbox: sent once the pass's records are durable, in
/// order with the agents' frames (the text of the Outbox entry is unused).
struct CitizenDelivery: FrameSink {
    let link: any CitizenLink
    let event: CitizenEvent
    let address: CitizenAddress

    func send(_ text: String) { link.deliver(event, to: address) }
}

/// The links the core knows, by citizen (widget connections) and by channel account (adapters).
/// Core thread only.
struct CitizenLinks {
    /// Owner key → that citizen's open connections (a visitor may have several tabs).
    private(set) var byOwner: [String: [any CitizenLink]] = [:]
    /// Channel + account → the adapter reaching all its citizens.
    private var byAccount: [String: any CitizenLink] = [:]

    /// Adds a connection of the citizen `owner` (a `BrokerState.ownerKey`).
    mutating func attach(_ link: any CitizenLink, owner: String) {
        var list = byOwner[owner] ?? []
        guard !list.contains(where: { $0 === link }) else { return }
        list.append(link)
        byOwner[owner] = list
    }

    /// Removes a connection.
    mutating func detach(_ link: any CitizenLink, owner: String) {
        guard var list = byOwner[owner] else { return }
        list.removeAll { $0 === link }
        byOwner[owner] = list.isEmpty ? nil : list
    }

    /// Registers the adapter that reaches every citizen of `channel`/`account` (app webhook, WeChat).
    mutating func register(_ link: any CitizenLink, channel: Channel, account: String) {
        byAccount[channel.rawValue + "\u{1F}" + account] = link
    }

    /// Where events for `session`'s citizen go: their own connections, else their account's adapter.
    func links(for session: BrokerSession) -> [any CitizenLink] {
        if let own = byOwner[session.owner], !own.isEmpty { return own }
        return byAccount[session.channel.rawValue + "\u{1F}" + session.account].map { [$0] } ?? []
    }

    /// Whether any citizen connection is attached (queue positions are computed only then).
    var hasCitizenConnections: Bool { !byOwner.isEmpty }
}
