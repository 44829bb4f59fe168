// IntakeServer/Ops: one viewer of the operations page on WS /ws/ops. Sends the current frame
// at once, then the newest frame once a second when it changed (never more often). The page
// is read-only: a text frame from the viewer is answered with an error frame. Loop thread only.
import IntakeNet
import IntakeWire
import IntakeJSON

final class OpsSession: WebSocketSession {
    static let intervalNanos: UInt64 = 1_000_000_000
    let feed: OpsFeed
    private var timer: TimerID?
    private var lastSent = ""

    init(feed: OpsFeed) { self.feed = feed }

    func webSocketDidOpen(_ ws: WebSocketConnection) {
        push(ws)
    }

    private func push(_ ws: WebSocketConnection) {
        guard ws.isOpen else { return }
        let frame = feed.frame()
        if frame != lastSent {
            ws.sendText(frame)
            lastSent = frame
        }
        timer = ws.loop.schedule(afterNanos: Self.intervalNanos) { [weak self, weak ws] in
            guard let self, let ws else { return }
            self.push(ws)
        }
    }

    func webSocket(_ ws: WebSocketConnection, didReceiveText text: String) {
        ws.sendText(JSON.object([("type", "error"), ("code", "read_only"),
                                 ("message", "the operations feed takes no messages")]).serializedString)
    }

    func webSocketDidClose(_ ws: WebSocketConnection) {
        if let timer { ws.loop.cancel(timer) }
        timer = nil
    }
}
