// IntakeServer/TCP: the way back to the call centre. The call centre streams a call over one
// NDJSON connection (call_start, segments, call_end: Channels/Phone); when an agent accepts the
// call's session, the broker answers on the connection the call came in on — or, if that one
// dropped, on the newest connection of the same account — with the `assign` line: which agent
// to bridge the call to. docs/PROTOCOL.md, "Phone".
//
// The hub is the phone channel's CitizenLink, registered for every app account (the call centre
// authenticates as one). Connections attach their calls; `deliver` runs on any thread and hops
// to the connection's loop. A Mutex guards the tables.
import IntakeCore
import IntakeJSON
import IntakeNet
import PhoneChannel
import Synchronization

/// Sends lines on one NDJSON connection from any thread (dropped once it closed).
final class PhoneLineSender: @unchecked Sendable {
    private let loop: EventLoop
    private weak var handler: NDJSONConnectionHandler?

    init(loop: EventLoop, handler: NDJSONConnectionHandler) {
        self.loop = loop
        self.handler = handler
    }

    func send(_ line: [UInt8]) {
        loop.execute { [self] in handler?.pushLine(line) }
    }
}

final class PhoneHub: CitizenLink, @unchecked Sendable {
    private struct Tables {
        var byCall: [String: PhoneLineSender] = [:]
        var newestByAccount: [String: PhoneLineSender] = [:]
    }
    private let tables = Mutex(Tables())

    /// A call started (or was announced again) on `sender`'s connection.
    func attach(callId: String, account: String, _ sender: PhoneLineSender) {
        tables.withLock { t in
            t.byCall[account + "\u{1F}" + callId] = sender
            t.newestByAccount[account] = sender
        }
    }

    /// The call ended: its assignment, if any comes later, goes to the account's newest connection.
    func detach(callId: String, account: String) {
        _ = tables.withLock { $0.byCall.removeValue(forKey: account + "\u{1F}" + callId) }
    }

    /// The call id of a phone session's citizen ("caller#callId").
    static func callId(ofCitizen citizen: String) -> String? {
        guard let hash = citizen.lastIndex(of: "#") else { return nil }
        let id = citizen[citizen.index(after: hash)...]
        return id.isEmpty ? nil : String(id)
    }

    func deliver(_ event: CitizenEvent, to citizen: CitizenAddress) {
        guard citizen.channel == .phone, let callId = Self.callId(ofCitizen: citizen.citizen) else { return }
        let line: JSON
        switch event {
        case let .assigned(session, agentName, agent):
            line = PhoneAdapter.assignmentLine(callId: callId, session: session, agent: agent, agentName: agentName)
        case let .closed(session, reason):
            line = .object([("type", "closed"), ("callId", .string(callId)), ("session", .string(session)), ("reason", .string(reason))])
        case .queue, .message:
            return  // the caller hears the IVR; replies in text do not reach a phone call
        }
        let sender = tables.withLock { t in t.byCall[citizen.account + "\u{1F}" + callId] ?? t.newestByAccount[citizen.account] }
        sender?.send(line.serializedBytes)
    }
}
