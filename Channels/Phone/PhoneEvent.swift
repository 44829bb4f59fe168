// PhoneChannel: the call centre's feed (CONTRACT.md "Raw TCP"; docs/PROTOCOL.md "Phone"):
// call events and speech-recognition segments as NDJSON lines (or HTTP bodies), decoded into
// typed events. Pure: no sockets, no clock; the broker's NDJSON and HTTP handlers feed lines in.
//
// Lines (each a JSON object with "type"):
//   {"type":"call_start","callId","caller","trunk","startedAt"?,"meta"?}
//   {"type":"segment","callId","seq","speaker":"caller|agent|ivr","text","final",
//    "confidence"?,"startMs"?,"endMs"?}
//   {"type":"call_end","callId","reason"?}
import IntakeCore
import IntakeJSON

/// Who spoke a segment.
public enum Speaker: String, Sendable, Equatable, CaseIterable {
    case caller, agent, ivr
}

/// One speech-recognition segment of a call.
public struct TranscriptSegment: Sendable, Equatable {
    public var callId: String
    /// Position in the call, from 0 or 1; segments may arrive out of order.
    public var seq: Int
    public var speaker: Speaker
    public var text: String
    /// False for a partial (interim) hypothesis, replaced by the final of the same seq.
    public var final: Bool
    /// The recogniser's confidence 0…1, when given.
    public var confidence: Double?
    /// Offsets in the call in milliseconds, when given.
    public var startMs: Int64?
    public var endMs: Int64?

    public init(callId: String, seq: Int, speaker: Speaker, text: String, final: Bool, confidence: Double? = nil,
                startMs: Int64? = nil, endMs: Int64? = nil) {
        self.callId = callId
        self.seq = seq
        self.speaker = speaker
        self.text = text
        self.final = final
        self.confidence = confidence
        self.startMs = startMs
        self.endMs = endMs
    }
}

/// One decoded line of the call centre's feed.
public enum PhoneEvent: Sendable, Equatable {
    case callStart(callId: String, caller: String, trunk: String, meta: JSON)
    case segment(TranscriptSegment)
    case callEnd(callId: String, reason: String?)

    /// The call the event belongs to.
    public var callId: String {
        switch self {
        case .callStart(let id, _, _, _), .callEnd(let id, _): id
        case .segment(let s): s.callId
        }
    }

    /// The line types of the feed.
    public static let lineTypes: Set<String> = ["call_start", "segment", "call_end"]

    /// Decodes one line; errors name the field at fault (answered as `invalid_envelope`-style
    /// error lines by the broker, the line is not stored).
    public static func decode(_ json: JSON) throws(PhoneError) -> PhoneEvent {
        guard case .object = json else { throw PhoneError("a phone line must be a JSON object") }
        guard let type = json["type"]?.stringValue else { throw PhoneError("\"type\" must be a string") }
        let callId = try id(json, "callId")
        switch type {
        case "call_start":
            let caller = try id(json, "caller")
            let trunk = try id(json, "trunk")
            var meta = json["meta"] ?? .object([])
            guard case .object = meta else { throw PhoneError("\"meta\" must be an object") }
            if case .object(var members) = meta, let startedAt = json["startedAt"]?.stringValue {
                members.append(("startedAt", .string(startedAt)))
                meta = .object(members)
            }
            return .callStart(callId: callId, caller: caller, trunk: trunk, meta: meta)
        case "segment":
            guard let rawSeq = json["seq"]?.intValue, rawSeq >= 0, rawSeq <= 1_000_000 else {
                throw PhoneError("\"seq\" must be an integer 0…1000000")
            }
            let seq = Int(rawSeq)
            guard let sp = json["speaker"]?.stringValue, let speaker = Speaker(rawValue: sp) else {
                throw PhoneError("\"speaker\" must be caller, agent or ivr")
            }
            guard let text = json["text"]?.stringValue else { throw PhoneError("\"text\" must be a string") }
            guard text.utf8.count <= EnvelopeLimits.maxTextBytes else {
                throw PhoneError("\"text\" is longer than \(EnvelopeLimits.maxTextBytes) bytes")
            }
            guard let final = json["final"]?.boolValue else { throw PhoneError("\"final\" must be true or false") }
            var confidence: Double?
            if let c = json["confidence"] {
                guard let v = c.doubleValue, (0...1).contains(v) else { throw PhoneError("\"confidence\" must be a number 0…1") }
                confidence = v
            }
            return .segment(TranscriptSegment(callId: callId, seq: seq, speaker: speaker, text: text, final: final,
                                              confidence: confidence, startMs: json["startMs"]?.intValue,
                                              endMs: json["endMs"]?.intValue))
        case "call_end":
            return .callEnd(callId: callId, reason: json["reason"]?.stringValue)
        default:
            throw PhoneError("unknown phone line type '\(type)' (call_start, segment, call_end)")
        }
    }

    private static func id(_ json: JSON, _ key: String) throws(PhoneError) -> String {
        guard let v = json[key]?.stringValue, !v.isEmpty, v.utf8.count <= EnvelopeLimits.maxIdBytes,
              !v.utf8.contains(0x1F) else {
            throw PhoneError("\"\(key)\" must be a non-empty string of at most \(EnvelopeLimits.maxIdBytes) bytes")
        }
        return v
    }
}

/// Why a phone line was refused.
public struct PhoneError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
