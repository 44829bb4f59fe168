// IntakeCore: the Envelope, one normalized message from any channel (CONTRACT.md, "Envelope"),
// and why one is refused. Value types; any thread. The JSON codec is in Envelope+JSON.swift.
import IntakeJSON

/// Where a message came from.
public enum Channel: String, Sendable, Equatable, CaseIterable {
    /// The citizens' chat widget.
    case web
    /// A WeChat Official Account.
    case wechat
    /// An app back end or webhook sender.
    case app
    /// The call centre's transcript feed.
    case phone
}

/// What a message is.
public enum MessageKind: String, Sendable, Equatable, CaseIterable {
    /// Typed text; `text` is required.
    case text
    /// A picture; usually an attachment.
    case image
    /// A voice clip; `text` may hold the recognised text.
    case voice
    /// A shared location; details in `meta`.
    case location
    /// A channel event (subscribe, menu click …); details in `meta`.
    case event
    /// A call-centre transcript segment; `text` is required.
    case transcript
}

/// A file that came with a message: `{ "type", "url", "mime" }`.
public struct Attachment: Sendable, Equatable {
    /// What it is, as the channel names it ("image", "voice", "file" …).
    public var type: String
    /// Where to fetch it.
    public var url: String
    /// Its media type, e.g. "image/jpeg".
    public var mime: String

    /// An attachment of `type` at `url` with media type `mime`.
    public init(type: String, url: String, mime: String) {
        self.type = type
        self.url = url
        self.mime = mime
    }
}

/// One normalized message, as every channel adapter produces it and as it is stored.
public struct Envelope: Sendable, Equatable {
    /// Broker-assigned, unique, sortable by arrival; empty until the broker assigns it.
    public var id: String
    /// Where it came from.
    public var channel: Channel
    /// The channel account (WeChat appid, app id, call-centre trunk).
    public var account: String
    /// The channel's own id for the message; with channel and account, the dedupe key.
    public var channelMessageId: String
    /// The sender's id within that channel account.
    public var citizen: String
    /// Broker-assigned conversation id; empty until the broker assigns it.
    public var session: String
    /// What the message is.
    public var kind: MessageKind
    /// The text (for voice: the recognised text; for phone: the transcript segment).
    public var text: String?
    /// Files that came with it.
    public var attachments: [Attachment]
    /// When the broker received it, in milliseconds since the epoch (UTC).
    public var receivedAt: EpochMillis
    /// 0–9, 9 highest; nil until the producer or the broker's rules set it.
    public var priority: Int?
    /// The skills an agent needs; nil until the producer or the broker's rules set them.
    public var skills: [String]?
    /// Channel-specific extras, kept as given; always a JSON object.
    public var meta: JSON

    /// An envelope; the broker-assigned fields default to empty until the broker fills them.
    public init(id: String = "", channel: Channel, account: String, channelMessageId: String, citizen: String,
                session: String = "", kind: MessageKind, text: String? = nil, attachments: [Attachment] = [],
                receivedAt: EpochMillis = 0, priority: Int? = nil, skills: [String]? = nil,
                meta: JSON = .object([])) {
        self.id = id
        self.channel = channel
        self.account = account
        self.channelMessageId = channelMessageId
        self.citizen = citizen
        self.session = session
        self.kind = kind
        self.text = text
        self.attachments = attachments
        self.receivedAt = receivedAt
        self.priority = priority
        self.skills = skills
        self.meta = meta
    }

    /// The key under which repeats are recognised: channel, account and channelMessageId
    /// joined by U+001F (which none of them may contain, so distinct triples never collide).
    public var dedupeKey: String {
        channel.rawValue + "\u{1F}" + account + "\u{1F}" + channelMessageId
    }
}

/// The bounds an envelope must keep. Text lengths are in UTF-8 bytes.
public enum EnvelopeLimits {
    /// id, session, account, channelMessageId and citizen: non-empty, at most this long.
    public static let maxIdBytes = 256
    /// The text of one message.
    public static let maxTextBytes = 64 * 1024
    /// Entries in `skills`.
    public static let maxSkills = 32
    /// One skill name.
    public static let maxSkillBytes = 64
    /// Entries in `attachments`.
    public static let maxAttachments = 16
    /// An attachment's `url`.
    public static let maxURLBytes = 4096
    /// An attachment's `type` and `mime`.
    public static let maxAttachmentFieldBytes = 256
}

/// Why an envelope was refused: always the client-visible code `invalid_envelope`, with a
/// message naming the field, e.g. "field 'priority' must be an integer from 0 to 9".
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field at fault as a path ("priority", "attachments[2].url"); empty for the whole envelope.
    public let field: String
    /// Human text for the `message` of an error reply.
    public let message: String

    /// An error about `field` (a path, or empty for the whole envelope) with `message`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// The stable error code for replies: "invalid_envelope".
    public var code: String { "invalid_envelope" }

    /// The message.
    public var description: String { message }
}
