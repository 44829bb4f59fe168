// IntakeServer/Citizens: the citizens' chat connection, WS /ws/widget (CONTRACT.md "Widget
// protocol", docs/PROTOCOL.md). The session parses frames on its loop: `message` goes straight to
// the Ingestor (as a web/widget envelope, acknowledged after fsync), `hello` and `rate` go to the
// core thread (the `WidgetHub`), which answers through the connection's `WidgetLink`.
// Loop thread only, except `WidgetLink`'s sending methods, which any thread may call.
import IntakeNet
import IntakeJSON
import IntakeCore
import IntakeWire
import Synchronization

/// What a widget client asks the core thread.
enum WidgetCommand: Sendable {
    /// Log in: a fresh visitor, or the one a resume token names. `after`: replies newer than
    /// this id are sent again (the client's newest one).
    case hello(resume: String?, after: String?)
    case rate(session: String, score: Int)
    /// The connection is gone.
    case gone

    var isGone: Bool { if case .gone = self { true } else { false } }
}

/// The core thread's side of widget connections.
protocol WidgetHub: Sendable {
    func widgetCommand(_ link: WidgetLink, _ command: WidgetCommand)
}

/// A handle on one widget connection that any thread may use: frames hop to its loop.
final class WidgetLink: CitizenLink, FrameSink, @unchecked Sendable {
    /// The widget's channel account: envelopes are `web` / `widget` / citizen = visitor.
    static let account = "widget"

    private let loop: EventLoop
    // Loop only.
    private var ws: WebSocketConnection?
    /// The visitor, once the core welcomed it. Loop only.
    private(set) var visitor: String?
    /// The owner key the core attached this link under. Core thread only.
    var owner: String?

    init(_ ws: WebSocketConnection) {
        self.ws = ws
        loop = ws.loop
    }

    /// Sends a text frame (dropped if the connection closed meanwhile).
    func send(_ text: String) {
        loop.execute { [self] in ws?.sendText(text) }
    }

    /// Sends `error {code, message}` (with `clientId` when it answers a message).
    func sendError(_ code: String, _ message: String, clientId: String? = nil) {
        var members: [(String, JSON)] = [("type", "error"), ("code", .string(code)), ("message", .string(message))]
        if let clientId { members.append(("clientId", .string(clientId))) }
        send(JSON.object(members).serializedString)
    }

    /// The core accepted the hello: remember the visitor (before any frame after it), send welcome.
    func welcomed(visitor: String, frame: String) {
        loop.execute { [self] in
            self.visitor = visitor
            ws?.sendText(frame)
        }
    }

    /// The connection closed (on its loop): later frames are dropped.
    func detach() {
        loop.assertOnLoop()
        ws = nil
    }

    func deliver(_ event: CitizenEvent, to citizen: CitizenAddress) { send(Self.frame(event)) }

    /// The widget frame of an event.
    static func frame(_ event: CitizenEvent) -> String {
        let members: [(String, JSON)]
        switch event {
        case let .queue(session, position, eta):
            members = [("type", "queue"), ("session", .string(session)), ("position", .int(Int64(position))),
                       ("etaSeconds", eta.map { .int(Int64($0)) } ?? .null)]
        case let .assigned(session, name, _):
            members = [("type", "assigned"), ("session", .string(session)), ("agentName", .string(name))]
        case let .message(session, from, text, id):
            members = [("type", "message"), ("session", .string(session)), ("from", .string(from.rawValue)),
                       ("text", .string(text)), ("id", .string(id))]
        case let .closed(session, reason):
            members = [("type", "closed"), ("session", .string(session)), ("reason", .string(reason))]
        }
        return JSON.object(members).serializedString
    }
}

/// The /ws/widget session: JSON text frames in; messages to the ingestor, the rest to the hub.
final class WidgetSession: WebSocketSession {
    /// Longest `clientId` accepted (it becomes part of the channelMessageId).
    static let maxClientIdBytes = 128
    private let hub: any WidgetHub
    private let ingestor: (any Ingestor)?
    private var link: WidgetLink?
    private var saidHello = false

    init(hub: any WidgetHub, ingestor: (any Ingestor)?) {
        self.hub = hub
        self.ingestor = ingestor
    }

    func webSocketDidOpen(_ ws: WebSocketConnection) { link = WidgetLink(ws) }

    func webSocket(_ ws: WebSocketConnection, didReceiveText text: String) {
        guard let link else { return }
        guard let json = try? JSON.parse(text), json.objectValue != nil else {
            return link.sendError("bad_json", "a frame must be one JSON object")
        }
        guard let type = json["type"]?.stringValue else { return link.sendError("bad_frame", "a frame needs a string 'type'") }
        switch type {
        case "hello":
            guard !saidHello else { return link.sendError("bad_frame", "already said hello") }
            saidHello = true
            hub.widgetCommand(link, .hello(resume: json["resume"]?.stringValue, after: json["after"]?.stringValue))
        case "message":
            message(json, link)
        case "rate":
            guard let session = json["session"]?.stringValue, let score = json["score"]?.intValue, (1...5).contains(score) else {
                return link.sendError("bad_frame", "rate needs a 'session' and a 'score' from 1 to 5")
            }
            guard link.visitor != nil else { return link.sendError("unauthorized", "say hello first") }
            hub.widgetCommand(link, .rate(session: session, score: Int(score)))
        default:
            link.sendError("unknown_type", "unknown frame type '\(type)'")
        }
    }

    /// `message {clientId, text}` → a web/widget envelope for the visitor, acknowledged after fsync.
    private func message(_ json: JSON, _ link: WidgetLink) {
        let clientId = json["clientId"]?.stringValue
        guard let clientId, !clientId.isEmpty, clientId.utf8.count <= Self.maxClientIdBytes,
              !clientId.utf8.contains(where: { $0 < 0x20 }) else {
            return link.sendError("bad_frame", "message needs a 'clientId' of 1-\(Self.maxClientIdBytes) bytes without control characters", clientId: clientId)
        }
        guard let text = json["text"]?.stringValue, !text.isEmpty, text.utf8.count <= EnvelopeLimits.maxTextBytes else {
            return link.sendError("bad_frame", "message needs a 'text' of 1-\(EnvelopeLimits.maxTextBytes) bytes", clientId: clientId)
        }
        guard let visitor = link.visitor else { return link.sendError("unauthorized", "say hello first", clientId: clientId) }
        guard let ingestor else { return link.sendError("unavailable", "this server stores no messages", clientId: clientId) }
        let envelope = Envelope(channel: .web, account: WidgetLink.account, channelMessageId: visitor + "/" + clientId,
                                citizen: visitor, kind: .text, text: text)
        ingestor.ingest(envelope) { outcome in
            switch outcome {
            case let .accepted(id, session, _):
                link.send(JSON.object([("type", "ack"), ("clientId", .string(clientId)), ("id", .string(id)),
                                       ("session", .string(session))]).serializedString)
            case .failed(let e):
                link.sendError(e.code, e.message, clientId: clientId)
            }
        }
    }

    func webSocketDidClose(_ ws: WebSocketConnection) {
        if let link {
            link.detach()
            hub.widgetCommand(link, .gone)
        }
        link = nil
    }
}
