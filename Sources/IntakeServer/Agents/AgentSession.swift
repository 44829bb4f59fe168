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
    /// The connection is gone (the grace period starts).
    case gone
}

/// The core thread's side of the agent connections.
protocol AgentHub: Sendable {
    func agentCommand(_ link: AgentLink, _ command: AgentCommand)
}

/// A handle on one agent connection that any thread may use: frames hop to its loop.
final class AgentLink: @unchecked Sendable {
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
        case "send", "ack", "transfer":
            return .failure(FrameError(code: "not_implemented", message: "'\(type)' is not implemented yet"))
        default:
            return .failure(FrameError(code: "unknown_type", message: "unknown frame type '\(type)'"))
        }
    }
}
