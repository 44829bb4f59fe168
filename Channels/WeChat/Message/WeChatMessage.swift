// WeChatChannel: one message or event a citizen's WeChat sent to the Official Account, decoded
// from its XML. Value types; any thread. Normalisation to the Envelope is in
// WeChatMessage+Envelope.swift.

/// A decoded inbound message (PROTOCOL-NOTES §2).
public struct WeChatMessage: Sendable, Equatable {
    /// `ToUserName`: the Official Account's original id (`gh_…`). A passive reply is sent from it.
    public var toUserName: String
    /// `FromUserName`: the sender's OpenID within this account.
    public var fromUserName: String
    /// `CreateTime`: Unix seconds.
    public var createTime: Int64
    /// `MsgType` as written (`text`, `image`, `voice`, `video`, `shortvideo`, `location`,
    /// `link`, `event`, or a type this adapter does not know).
    public var msgType: String
    /// `MsgId`: a 64-bit decimal kept as text (values exceed 2^53, so never through a Double).
    /// Absent on events.
    public var msgId: String?
    /// What the message carries.
    public var body: Body
    /// The known leaf elements of `<xml>`, in document order, values as written (ids trimmed).
    /// Unknown elements are ignored.
    public var fields: [Field]

    /// What a message carries, by `MsgType`.
    public enum Body: Sendable, Equatable {
        /// `text`: `Content`.
        case text(content: String)
        /// `image`: `PicUrl` and `MediaId`.
        case image(picURL: String, mediaId: String)
        /// `voice`: `MediaId`, `Format` (amr, speex) and `Recognition` when speech recognition
        /// is on for the account.
        case voice(mediaId: String, format: String, recognition: String?)
        /// `video` and `shortvideo` (`short`): `MediaId` and `ThumbMediaId`.
        case video(mediaId: String, thumbMediaId: String, short: Bool)
        /// `location`: `Location_X` (latitude), `Location_Y` (longitude), `Scale`, `Label`,
        /// as written.
        case location(latitude: String, longitude: String, scale: String, label: String)
        /// `link`: `Title`, `Description`, `Url`.
        case link(title: String, description: String, url: String)
        /// `event`.
        case event(WeChatEvent)
        /// A `MsgType` this adapter does not know (`miniprogrampage`, `file` …); its fields
        /// are in `fields`.
        case unsupported
    }

    /// One leaf element: its name and text.
    public struct Field: Sendable, Equatable {
        /// The element name.
        public var name: String
        /// Its text.
        public var value: String

        /// A field `name` = `value`.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The value of the field `name`, if the message has it.
    public func field(_ name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// The decoded event, if this is one.
    public var event: WeChatEvent? {
        if case .event(let e) = body { return e }
        return nil
    }
}

/// An event push (`MsgType` `event`, PROTOCOL-NOTES §2.3).
public struct WeChatEvent: Sendable, Equatable {
    /// The events this adapter knows; `Event` is compared without regard to case (the
    /// Official Account writes `subscribe` and `CLICK`, WeCom `click`).
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Followed the account; `eventKey` is `qrscene_<scene>` when through a parametric QR code.
        case subscribe
        /// Unfollowed.
        case unsubscribe
        /// A menu button; `eventKey` is its KEY.
        case click
        /// A menu link; `eventKey` is the URL.
        case view
        /// Scanned a parametric QR code while following; `eventKey` is the scene.
        case scan
        /// Reported location (`Latitude`, `Longitude`, `Precision` in the fields).
        case location
        /// Any other event; `name` says which.
        case other
    }

    /// `Event` as written.
    public var name: String
    /// Which event.
    public var kind: Kind
    /// `EventKey`, if present.
    public var eventKey: String?
    /// `Ticket` (QR-code events), if present.
    public var ticket: String?

    /// An event `name` with its key and ticket.
    public init(name: String, eventKey: String? = nil, ticket: String? = nil) {
        self.name = name
        self.kind = Kind(rawValue: name.lowercased()).flatMap { $0 == .other ? nil : $0 } ?? .other
        self.eventKey = eventKey
        self.ticket = ticket
    }
}
