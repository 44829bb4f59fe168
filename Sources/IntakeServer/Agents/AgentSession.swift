// IntakeServer/Agents: one agent client's WebSocket (/ws/agent, CONTRACT.md "Agent protocol").
// The session parses frames on its loop and hands commands to the core thread (the `AgentHub`);
// the core answers through the connection's `AgentLink`, which hops back to this loop.
// Loop thread only, except `AgentLink.send`/`close`, which any thread may call.
import IntakeNet
import IntakeJSON
import IntakeCore
import IntakeWire
import Synchronization

/// Link ids: connection ids are unique per loop only.
private let nextLinkID = Atomic<UInt64>(1)

/// What an agent client asks the broker (parsed on the loop, executed on the core thread).
enum AgentCommand: Sendable {
    case hello(token: String)
    case presence(Presence)
    case accept(OfferID)
    case decline(OfferID)
    case close(session: String, disposition: String)
    /// A reply to the session's citizen; `clientId` makes a repeat idempotent.
    case send(session: String, text: String, clientId: String)
    /// Every citizen message of `session` up to `seq` `upTo` arrived.
    case ack(session: String, upTo: Int)
    /// Move the session to other skills, or to a named agent.
    case transfer(session: String, to: TransferTarget)
    /// The connection is gone (the grace period starts).
    case gone
}

/// Something frames can be sent to from any thread (an agent or widget connection, or a
/// citizen delivery in the core's Outbox).
protocol FrameSink: Sendable {
    func send(_ text: String)
}

/// The core thread's side of the agent connections.
protocol AgentHub: Sendable {
    func agentCommand(_ link: AgentLink, _ command: AgentCommand)
}

/// A handle on one agent connection that any thread may use: frames hop to its loop.
final class AgentLink: FrameSink, @unchecked Sendable {
    /// Unique in the process.
    let id: UInt64
    private let loop: EventLoop
    // Touched only on `loop`. Dropped when the connection closes: `WebSocketConnection` holds
    // its `Connection` unowned, so frames that hop here afterwards must not touch it.
    private var ws: WebSocketConnection?

    init(_ ws: WebSocketConnection) {
        self.ws = ws
        self.loop = ws.loop
        self.id = nextLinkID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Sends a text frame (dropped if the connection closed meanwhile).
    func send(_ text: String) {
        loop.execute { [self] in ws?.sendText(text) }
    }

    /// Sends `error {code, message}` and, with `closeCode`, closes.
    func sendError(_ code: String, _ message: String, closeCode: UInt16? = nil) {
        let frame = JSON.object([("type", "error"), ("code", .string(code)), ("message", .string(message))]).serializedString
        loop.execute { [self] in
            guard let ws else { return }
            ws.sendText(frame)
            if let closeCode { ws.close(code: closeCode, reason: code) }
        }
    }

    /// Starts the close handshake.
    func close(code: UInt16, reason: String) {
        loop.execute { [self] in ws?.close(code: code, reason: reason) }
    }

    /// The connection closed (on its loop): later frames are dropped.
    func detach() {
        loop.assertOnLoop()
        ws = nil
    }
}

/// The /ws/agent session: JSON text frames in, commands to the hub.
final class AgentSession: WebSocketSession {
    private let hub: any AgentHub
    private var link: AgentLink?

    init(hub: any AgentHub) { self.hub = hub }

    func webSocketDidOpen(_ ws: WebSocketConnection) { link = AgentLink(ws) }

    func webSocket(_ ws: WebSocketConnection, didReceiveText text: String) {
        guard let link else { return }
        switch Self.parse(text) {
        case .success(let command): hub.agentCommand(link, command)
        case .failure(let e): link.sendError(e.code, e.message)
        }
    }

    func webSocketDidClose(_ ws: WebSocketConnection) {
        if let link {
            link.detach()
            hub.agentCommand(link, .gone)
        }
        link = nil
    }

    struct FrameError: Error {
        let code: String, message: String
    }

    /// One frame as a command, or the error frame's code and text.
    static func parse(_ text: String) -> Result<AgentCommand, FrameError> {
        guard let json = try? JSON.parse(text), json.objectValue != nil else {
            return .failure(FrameError(code: "bad_json", message: "a frame must be one JSON object"))
        }
        guard let type = json["type"]?.stringValue else {
            return .failure(FrameError(code: "bad_frame", message: "a frame needs a string 'type'"))
        }
        func field(_ name: String) -> String? { json[name]?.stringValue }
        func offer() -> OfferID? {
            if let n = json["offer"]?.intValue, n > 0 { return OfferID(n) }
            return json["offer"]?.stringValue.flatMap { OfferID($0) }
        }
        switch type {
        case "hello":
            guard let token = field("token") else { return .failure(FrameError(code: "bad_frame", message: "hello needs a string 'token'")) }
            return .success(.hello(token: token))
        case "presence":
            guard let p = field("state").flatMap(Presence.init(rawValue:)) else {
                return .failure(FrameError(code: "bad_frame", message: "presence needs 'state': online, away or offline"))
            }
            return .success(.presence(p))
        case "accept", "decline":
            guard let id = offer() else { return .failure(FrameError(code: "bad_frame", message: "\(type) needs an 'offer' id")) }
            return .success(type == "accept" ? .accept(id) : .decline(id))
        case "close":
            guard let session = field("session") else { return .failure(FrameError(code: "bad_frame", message: "close needs a 'session'")) }
            return .success(.close(session: session, disposition: field("disposition") ?? ""))
        case "send":
            guard let session = field("session") else { return .failure(FrameError(code: "bad_frame", message: "send needs a 'session'")) }
            guard let text = field("text"), !text.isEmpty, text.utf8.count <= EnvelopeLimits.maxTextBytes else {
                return .failure(FrameError(code: "bad_frame", message: "send needs a 'text' of 1-\(EnvelopeLimits.maxTextBytes) bytes"))
            }
            guard let clientId = field("clientId"), !clientId.isEmpty, clientId.utf8.count <= maxClientIdBytes else {
                return .failure(FrameError(code: "bad_frame", message: "send needs a 'clientId' of 1-\(maxClientIdBytes) bytes"))
            }
            return .success(.send(session: session, text: text, clientId: clientId))
        case "ack":
            guard let session = field("session") else {
                return .failure(FrameError(code: "bad_frame", message: "ack needs the 'session' whose messages it acknowledges"))
            }
            guard let upTo = json["upTo"]?.intValue, upTo >= 0 else {
                return .failure(FrameError(code: "bad_frame", message: "ack needs 'upTo', the seq of the newest message received"))
            }
            return .success(.ack(session: session, upTo: Int(clamping: upTo)))
        case "transfer":
            guard let session = field("session") else { return .failure(FrameError(code: "bad_frame", message: "transfer needs a 'session'")) }
            switch (json["skills"], field("agent")) {
            case (nil, let agent?) where !agent.isEmpty:
                return .success(.transfer(session: session, to: .agent(agent)))
            case (let skills?, nil):
                guard let needs = transferSkills(skills) else {
                    return .failure(FrameError(code: "bad_frame", message: "transfer 'skills' must be 1-\(EnvelopeLimits.maxSkills) skill names, "
                                               + "or an object of skill names to proficiencies 1-5"))
                }
                return .success(.transfer(session: session, to: .skills(needs.requirements, queue: needs.queue)))
            default:
                return .failure(FrameError(code: "bad_frame", message: "transfer needs either 'skills' or 'agent'"))
            }
        default:
            return .failure(FrameError(code: "unknown_type", message: "unknown frame type '\(type)'"))
        }
    }

    /// Longest `clientId` of a `send`.
    static let maxClientIdBytes = 128

    /// `["tax","english"]` (proficiency 1 each) or `{"tax": 3}`; the first named is the queue.
    static func transferSkills(_ json: JSON) -> (requirements: [String: Int], queue: String)? {
        var pairs: [(String, Int)] = []
        if let names = json.arrayValue {
            for n in names {
                guard let s = n.stringValue else { return nil }
                pairs.append((s, 1))
            }
        } else if let members = json.objectValue {
            for (name, level) in members {
                guard let l = level.intValue, (1...5).contains(l) else { return nil }
                pairs.append((name, Int(l)))
            }
        } else {
            return nil
        }
        guard (1...EnvelopeLimits.maxSkills).contains(pairs.count),
              pairs.allSatisfy({ !$0.0.isEmpty && $0.0.utf8.count <= EnvelopeLimits.maxSkillBytes }) else { return nil }
        var requirements: [String: Int] = [:]
        for (s, l) in pairs { requirements[s] = max(requirements[s] ?? 0, l) }
        return (requirements, pairs[0].0)
    }
}
