// The vocabulary of RFC 6455 shared by the WebSocket decoder, encoder and handshake: opcodes,
// close codes, decoded events and the protocol error that fails a connection.
// Plain values with no state of their own; safe to pass between threads.

/// A frame opcode (RFC 6455 §5.2): the low four bits of a frame's first byte.
///
/// A struct rather than a closed enum so that every 4-bit value is representable: the decoder
/// must name the unknown opcodes it refuses, and tests must be able to send them.
public struct WebSocketOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The opcode's 4-bit value (0...15).
    public let rawValue: UInt8

    /// An opcode from its 4-bit value; nil for values above 15.
    public init?(rawValue: UInt8) {
        guard rawValue <= 0x0F else { return nil }
        self.rawValue = rawValue
    }

    private init(_ value: UInt8) { rawValue = value }

    /// 0x0: a continuation of a fragmented text or binary message.
    public static let continuation = WebSocketOpcode(0x0)
    /// 0x1: the first frame of a UTF-8 text message.
    public static let text = WebSocketOpcode(0x1)
    /// 0x2: the first frame of a binary message.
    public static let binary = WebSocketOpcode(0x2)
    /// 0x8: connection close, with an optional code and reason.
    public static let close = WebSocketOpcode(0x8)
    /// 0x9: ping; the peer answers with a pong carrying the same payload.
    public static let ping = WebSocketOpcode(0x9)
    /// 0xA: pong, solicited or not.
    public static let pong = WebSocketOpcode(0xA)

    /// True for close, ping, pong and the reserved control opcodes 0xB-0xF (high bit set).
    public var isControl: Bool { rawValue & 0x08 != 0 }

    /// True for the six opcodes RFC 6455 defines; the others (0x3-0x7, 0xB-0xF) are reserved.
    public var isDefined: Bool { rawValue <= 0x2 || (rawValue >= 0x8 && rawValue <= 0xA) }

    /// A short name, or the hexadecimal value for reserved opcodes.
    public var description: String {
        switch rawValue {
        case 0x0: "continuation"
        case 0x1: "text"
        case 0x2: "binary"
        case 0x8: "close"
        case 0x9: "ping"
        case 0xA: "pong"
        default: "reserved(0x\(String(rawValue, radix: 16)))"
        }
    }
}

/// Close status codes (RFC 6455 §7.4.1) that Intake sends, and the rule for the codes a peer
/// may put on the wire.
public enum WebSocketCloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    public static let normal: UInt16 = 1000
    /// 1001: the endpoint is going away (server shutdown, page navigated away).
    public static let goingAway: UInt16 = 1001
    /// 1002: the peer broke the framing protocol.
    public static let protocolError: UInt16 = 1002
    /// 1003: a data type the endpoint cannot accept (for example binary where text is expected).
    public static let unsupportedData: UInt16 = 1003
    /// 1007: the payload was inconsistent with its type (text that is not UTF-8).
    public static let invalidPayload: UInt16 = 1007
    /// 1008: a policy violation (for example a failed authentication).
    public static let policyViolation: UInt16 = 1008
    /// 1009: a frame or message larger than the endpoint accepts.
    public static let messageTooBig: UInt16 = 1009
    /// 1011: the server hit an unexpected condition.
    public static let internalError: UInt16 = 1011

    /// Whether a peer may send `code` in a close frame: 1000-1003, 1007-1014 and 3000-4999.
    /// 1004 is reserved, 1005, 1006 and 1015 must never appear on the wire, and the rest
    /// below 3000 are unassigned (RFC 6455 §7.4 and the IANA registry).
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}

/// One complete thing a peer said: a whole (reassembled) data message or a control frame.
public enum WebSocketEvent: Equatable, Sendable {
    /// A text message, already checked to be valid UTF-8.
    case text(String)
    /// A binary message.
    case binary([UInt8])
    /// A ping; the receiver owes a pong with the same payload (the decoder does not send it).
    case ping([UInt8])
    /// A pong.
    case pong([UInt8])
    /// A close frame: `code` is nil when the payload was empty; `reason` is valid UTF-8.
    case close(code: UInt16?, reason: String)
}

/// Why a peer's frames were refused. The connection must be failed: send a close frame with
/// `closeCode` and `reason`, then close the socket.
public struct WebSocketProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1002 (protocol error), 1007 (invalid payload) or 1009 (too big).
    public let closeCode: UInt16
    /// A short ASCII reason, at most 123 bytes, suitable for the close frame's payload.
    public let reason: String

    /// An error with the given close code and reason.
    public init(closeCode: UInt16, reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }

    static func protocolError(_ reason: String) -> Self { Self(closeCode: WebSocketCloseCode.protocolError, reason: reason) }
    static func invalidPayload(_ reason: String) -> Self { Self(closeCode: WebSocketCloseCode.invalidPayload, reason: reason) }
    static func tooBig(_ reason: String) -> Self { Self(closeCode: WebSocketCloseCode.messageTooBig, reason: reason) }

    /// "<code>: <reason>".
    public var description: String { "\(closeCode): \(reason)" }
}
