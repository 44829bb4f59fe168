// PhoneChannel: one call's transcript as segments arrive: partial hypotheses are replaced by
// the final of the same seq (a late partial never replaces a final), segments that arrive out
// of order are kept in seq order, and every final becomes one Envelope to store. The text of
// the voice-menu stage (IVR prompts and the caller's answers before an agent speaks) is what
// the broker's classification rules read (skills, priority, emergency). Pure value type.
import IntakeCore
import IntakeJSON

/// What applying a segment did.
public enum SegmentOutcome: Sendable, Equatable {
    /// A partial: shown live (e.g. to the agent) but not stored.
    case partial
    /// A new final: store this envelope.
    case final(Envelope)
    /// A final for a seq that already has one (a resend): store nothing; if the text differs
    /// the first final stands (the stored record is never rewritten).
    case repeatedFinal
    /// A partial after the final of its seq: ignored.
    case stalePartial
}

/// The state of one call.
public struct CallTranscript: Sendable, Equatable {
    public let callId: String
    public let caller: String
    public let trunk: String
    /// Extras from call_start (kept in every envelope's meta under "call").
    public let callMeta: JSON
    /// seq → the newest segment (a final once there is one).
    public private(set) var segments: [Int: TranscriptSegment] = [:]
    public private(set) var ended = false
    public private(set) var endReason: String?

    public init(callId: String, caller: String, trunk: String, meta: JSON = .object([])) {
        self.callId = callId
        self.caller = caller
        self.trunk = trunk
        self.callMeta = meta
    }

    /// Applies one segment of this call.
    public mutating func apply(_ s: TranscriptSegment) -> SegmentOutcome {
        precondition(s.callId == callId, "BUG: segment of another call")
        if let have = segments[s.seq], have.final {
            return s.final ? .repeatedFinal : .stalePartial
        }
        segments[s.seq] = s
        return s.final ? .final(PhoneAdapter.envelope(for: s, call: self)) : .partial
    }

    /// The call ended; later segments are still accepted (recognisers lag behind hang-ups).
    public mutating func end(reason: String?) {
        ended = true
        endReason = reason
    }

    /// Every segment in seq order (partials included, each replaced by its final when there is one).
    public var ordered: [TranscriptSegment] { segments.keys.sorted().map { segments[$0]! } }

    /// The finals in seq order.
    public var finals: [TranscriptSegment] { ordered.filter(\.final) }

    /// The voice-menu stage: the finals before the first agent segment, IVR and caller alike,
    /// joined by newlines. Classification reads this.
    public var menuStageText: String {
        var lines: [String] = []
        for s in finals {
            if s.speaker == .agent { break }
            lines.append(s.text)
        }
        return lines.joined(separator: "\n")
    }
}

/// The Envelope mapping of the phone channel (docs/PROTOCOL.md, "Phone").
public enum PhoneAdapter {
    /// The envelope of a final segment: channel phone, account = the trunk, citizen = the
    /// caller's number, channelMessageId = "callId:seq" (the dedupe key, so a resent final is
    /// a duplicate), kind transcript, meta {callId, seq, speaker, confidence?, startMs?, endMs?}.
    public static func envelope(for s: TranscriptSegment, call: CallTranscript) -> Envelope {
        var meta: [(String, JSON)] = [("callId", .string(s.callId)), ("seq", .int(Int64(s.seq))), ("speaker", .string(s.speaker.rawValue))]
        if let c = s.confidence { meta.append(("confidence", .double(c))) }
        if let v = s.startMs { meta.append(("startMs", .int(v))) }
        if let v = s.endMs { meta.append(("endMs", .int(v))) }
        if case .object(let m) = call.callMeta, !m.isEmpty { meta.append(("call", call.callMeta)) }
        return Envelope(channel: .phone, account: call.trunk, channelMessageId: "\(s.callId):\(s.seq)", citizen: call.caller,
                        kind: .transcript, text: s.text, meta: .object(meta))
    }

    /// The envelope that opens the call's session at call_start (kind event, no text).
    public static func startEnvelope(_ call: CallTranscript) -> Envelope {
        var meta: [(String, JSON)] = [("event", "call_start"), ("callId", .string(call.callId))]
        if case .object(let m) = call.callMeta, !m.isEmpty { meta.append(("call", call.callMeta)) }
        return Envelope(channel: .phone, account: call.trunk, channelMessageId: "\(call.callId):start", citizen: call.caller,
                        kind: .event, meta: .object(meta))
    }

    /// The envelope recording the hang-up (kind event), so the session's history shows it.
    public static func endEnvelope(_ call: CallTranscript) -> Envelope {
        var meta: [(String, JSON)] = [("event", "call_end"), ("callId", .string(call.callId))]
        if let r = call.endReason { meta.append(("reason", .string(r))) }
        return Envelope(channel: .phone, account: call.trunk, channelMessageId: "\(call.callId):end", citizen: call.caller,
                        kind: .event, meta: .object(meta))
    }

    /// The line sent back to the call centre on the same connection when an agent accepts the
    /// call: which agent to bridge it to.
    public static func assignmentLine(callId: String, session: String, agent: String, agentName: String) -> JSON {
        .object([("type", "assign"), ("callId", .string(callId)), ("session", .string(session)),
                 ("agent", .string(agent)), ("agentName", .string(agentName))])
    }
}
