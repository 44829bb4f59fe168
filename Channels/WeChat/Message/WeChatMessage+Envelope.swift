// WeChatChannel: normalisation of a WeChat message to the broker's Envelope (CONTRACT.md
// "Envelope"; the rules are in docs/PROTOCOL.md "WeChat"). Pure; any thread.
//
// Design: the envelope must identify a message the same way on every delivery (WeChat retries
// up to three times, possibly overlapping, and across broker restarts), so `channelMessageId`
// is derived only from the message itself, never from the request (signature, nonce,
// timestamp differ between retries). Every envelope made here passes
// `Envelope.decodeIngest` (tested), so the broker may store it without another check.
import IntakeCore
import IntakeCrypto
import IntakeJSON

extension WeChatMessage {
    /// The URL scheme of attachments that WeChat holds as media ids (`wechat-media:<MediaId>`);
    /// fetch them with `WeChatAPI.mediaRequest` within the 3 days WeChat keeps them.
    public static let mediaScheme = "wechat-media:"

    /// The id that, with channel and account, makes the broker's dedupe key:
    /// - a message with `MsgId`: `<FromUserName>:<MsgId>` (MsgId collisions between users have
    ///   been observed, binarywang/WxJava#333, so the sender is part of the key);
    /// - an event: `<FromUserName>:<CreateTime>:<Event>[:<EventKey>]` (the documented
    ///   FromUserName + CreateTime, plus the event, so that two different menu clicks in one
    ///   second stay two; an EventKey that would make the id longer than the envelope allows, or
    ///   that holds control characters, is replaced by `sha1:` and its SHA-1 in hex);
    /// - anything else without MsgId: `<FromUserName>:<CreateTime>:<MsgType>`.
    public var channelMessageId: String {
        if let msgId { return "\(fromUserName):\(msgId)" }
        let base = "\(fromUserName):\(createTime)"
        guard let event else { return "\(base):\(msgType)" }
        guard let key = event.eventKey, !key.isEmpty else { return "\(base):\(event.name)" }
        let full = "\(base):\(event.name):\(key)"
        if full.utf8.count <= EnvelopeLimits.maxIdBytes && !Self.hasControl(full) { return full }
        return "\(base):\(event.name):sha1:\(Digest.hex(Digest.sha1(Array(key.utf8))))"
    }

    /// The envelope for this message, received by the account with AppID `appId` and
    /// configured name `accountName`. Broker-assigned fields (`id`, `session`, `receivedAt`,
    /// `priority`, `skills`) are left for the broker. Throws `badMessage` when an id is not
    /// fit for an envelope (too long, control characters).
    ///
    /// | MsgType | kind | text | attachments |
    /// |---|---|---|---|
    /// | text | text (event when `Content` is empty) | Content | |
    /// | image | image | | PicUrl (`image/*`) |
    /// | voice | voice | Recognition, when present | `wechat-media:` MediaId (`audio/amr`, `audio/speex`) |
    /// | video, shortvideo | image | | `wechat-media:` MediaId (`video/mp4`) and ThumbMediaId |
    /// | location | location | Label | |
    /// | link | text | Title, Description and Url, one per line | |
    /// | event, unknown | event | | |
    ///
    /// `meta` holds the known fields as written (strings, MsgId included) except the sender
    /// (`citizen`) and the text fields moved to `text` (`Content`, `Recognition`), plus
    /// `accountName`, and `truncated: true` when the text was cut to the envelope's limit.
    public func envelope(appId: String, accountName: String) throws(WeChatError) -> Envelope {
        for (what, id) in [("FromUserName", fromUserName), ("AppID", appId)] {
            guard id.utf8.count <= EnvelopeLimits.maxIdBytes, !Self.hasControl(id) else {
                throw WeChatError(.badMessage, "\(what) is longer than \(EnvelopeLimits.maxIdBytes) bytes or holds control characters")
            }
        }
        let messageId = channelMessageId
        guard messageId.utf8.count <= EnvelopeLimits.maxIdBytes, !Self.hasControl(messageId) else {
            throw WeChatError(.badMessage, "the message's id fields make an id longer than \(EnvelopeLimits.maxIdBytes) bytes or hold control characters")
        }
        var kind: MessageKind
        var text: String?
        var attachments: [Attachment] = []
        func media(_ type: String, _ mediaId: String, _ mime: String) {
            let url = Self.mediaScheme + mediaId
            if !mediaId.isEmpty, url.utf8.count <= EnvelopeLimits.maxURLBytes {
                attachments.append(Attachment(type: type, url: url, mime: mime))
            }
        }
        switch body {
        case .text(let content):
            kind = .text
            text = content
        case .image(let picURL, _):
            kind = .image
            if !picURL.isEmpty, picURL.utf8.count <= EnvelopeLimits.maxURLBytes {
                // WeChat does not say which image type; its picture URLs serve JPEG, PNG or GIF.
                attachments.append(Attachment(type: "image", url: picURL, mime: "image/*"))
            }
        case .voice(let mediaId, let format, let recognition):
            kind = .voice
            text = recognition
            let mime: String
            switch format.lowercased() {
            case "amr": mime = "audio/amr"
            case "speex": mime = "audio/speex"
            default: mime = "audio/*"
            }
            media("voice", mediaId, mime)
        case .video(let mediaId, let thumbMediaId, _):
            // The contract has no video kind; a video is visual media like a picture, and
            // meta.MsgType says which it is.
            kind = .image
            media("video", mediaId, "video/mp4")
            media("thumbnail", thumbMediaId, "image/*")
        case .location(_, _, _, let label):
            kind = .location
            text = label.isEmpty ? nil : label
        case .link(let title, let description, let url):
            kind = .text
            text = [title, description, url].filter { !$0.isEmpty }.joined(separator: "\n")
        case .event, .unsupported:
            kind = .event
        }
        // The contract requires text for kind text; an empty text message (WeChat's clients do
        // not send one, but the protocol allows it) is kept as an event rather than refused.
        if kind == .text, text?.isEmpty ?? true {
            kind = .event
            text = nil
        }

        var meta: [(String, JSON)] = []
        meta.reserveCapacity(fields.count + 2)
        for f in fields where f.name != "FromUserName" && f.name != "Content" && f.name != "Recognition" {
            meta.append((f.name, .string(f.value)))
        }
        meta.append(("accountName", .string(accountName)))
        if let t = text, t.utf8.count > EnvelopeLimits.maxTextBytes {
            text = Self.prefix(t, maxBytes: EnvelopeLimits.maxTextBytes)
            meta.append(("truncated", .bool(true)))
        }
        return Envelope(channel: .wechat, account: appId, channelMessageId: messageId, citizen: fromUserName,
                        kind: kind, text: text, attachments: Array(attachments.prefix(EnvelopeLimits.maxAttachments)),
                        meta: .object(meta))
    }

    private static func hasControl(_ s: String) -> Bool {
        s.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    /// The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a character.
    private static func prefix(_ s: String, maxBytes: Int) -> String {
        var out = ""
        var used = 0
        for ch in s {
            let n = ch.utf8.count
            if used + n > maxBytes { break }
            out.append(ch)
            used += n
        }
        return out
    }
}
