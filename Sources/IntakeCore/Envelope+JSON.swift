// IntakeCore: the Envelope's JSON form. `decodeIngest` checks what a producer sends,
// `toJSON` writes the stored and delivered form, `decodeStored` reads that back exactly.
// Pure functions on value types; any thread.
//
// Rules shared by both decoders:
// - Unknown top-level fields are ignored, so producers may send fields a later version
//   defines without being refused (forward compatibility); they are not kept.
// - An optional field given as `null` counts as absent.
// - Members are read in one pass; errors are reported in a fixed field order so the same
//   envelope always gets the same message.
import IntakeJSON

extension Envelope {
    /// The envelope a producer sent (HTTP body, NDJSON line, adapter output), checked field by
    /// field. Broker-assigned fields (`id`, `session`, `receivedAt`) are ignored if present;
    /// they come back empty and zero, for the broker to fill in.
    public static func decodeIngest(_ json: JSON) throws(EnvelopeError) -> Envelope {
        let fields = try Fields(json)
        return try fields.envelope()
    }

    /// An envelope as `toJSON` wrote it, with `id`, `session` and `receivedAt` required, so
    /// that a stored envelope reads back equal to the one written.
    public static func decodeStored(_ json: JSON) throws(EnvelopeError) -> Envelope {
        let fields = try Fields(json)
        var envelope = try fields.envelope()
        envelope.id = try fields.identifier("id", fields.id)
        envelope.session = try fields.identifier("session", fields.session)
        guard let at = fields.receivedAt else { throw .missing("receivedAt") }
        guard let text = at.stringValue, let ms = RFC3339.parse(text) else {
            throw EnvelopeError(field: "receivedAt", message: "field 'receivedAt' must be an RFC 3339 date-time")
        }
        envelope.receivedAt = ms
        return envelope
    }

    /// The JSON form with the field names of CONTRACT.md: `text`, `priority` and `skills` are
    /// written only when set; `attachments` and `meta` always (empty when there are none);
    /// `receivedAt` as RFC 3339 UTC with milliseconds.
    /// Appends the compact JSON of `toJSON()` to `out`, byte for byte the same, without building
    /// the intermediate JSON value (this runs on the core thread for every stored message).
    public func appendJSON(to out: inout [UInt8]) {
        func key(_ k: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            k.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func string(_ k: StaticString, _ v: String) {
            key(k)
            JSON.appendQuoted(v, to: &out)
        }
        out.append(UInt8(ascii: "{"))
        key("id", first: true)
        JSON.appendQuoted(id, to: &out)
        string("channel", channel.rawValue)
        string("account", account)
        string("channelMessageId", channelMessageId)
        string("citizen", citizen)
        string("session", session)
        string("kind", kind.rawValue)
        if let text { string("text", text) }
        key("attachments")
        out.append(UInt8(ascii: "["))
        for (i, a) in attachments.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            key("type", first: true)
            JSON.appendQuoted(a.type, to: &out)
            string("url", a.url)
            string("mime", a.mime)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        key("receivedAt")
        out.append(UInt8(ascii: "\""))
        RFC3339.append(receivedAt, to: &out)
        out.append(UInt8(ascii: "\""))
        if let priority {
            key("priority")
            out.append(contentsOf: String(priority).utf8)
        }
        if let skills {
            key("skills")
            out.append(UInt8(ascii: "["))
            for (i, sk) in skills.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.appendQuoted(sk, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        key("meta")
        meta.serialize(into: &out)
        out.append(UInt8(ascii: "}"))
    }

    public func toJSON() -> JSON {
        var m: [(String, JSON)] = []
        m.reserveCapacity(13)
        m.append(("id", .string(id)))
        m.append(("channel", .string(channel.rawValue)))
        m.append(("account", .string(account)))
        m.append(("channelMessageId", .string(channelMessageId)))
        m.append(("citizen", .string(citizen)))
        m.append(("session", .string(session)))
        m.append(("kind", .string(kind.rawValue)))
        if let text { m.append(("text", .string(text))) }
        m.append(("attachments", .array(attachments.map {
            .object([("type", .string($0.type)), ("url", .string($0.url)), ("mime", .string($0.mime))])
        })))
        m.append(("receivedAt", .string(RFC3339.format(receivedAt))))
        if let priority { m.append(("priority", .int(Int64(priority)))) }
        if let skills { m.append(("skills", .array(skills.map { .string($0) }))) }
        m.append(("meta", meta))
        return .object(m)
    }
}

extension EnvelopeError {
    static func missing(_ field: String) -> EnvelopeError {
        EnvelopeError(field: field, message: "field '\(field)' is required")
    }
}

/// The members of an envelope object, collected in one pass and then checked in order.
private struct Fields {
    var id, channel, account, channelMessageId, citizen, session, kind, text: JSON?
    var attachments, receivedAt, priority, skills, meta: JSON?

    init(_ json: JSON) throws(EnvelopeError) {
        guard case .object(let members) = json else {
            throw EnvelopeError(field: "", message: "an envelope must be a JSON object")
        }
        for (name, value) in members {
            if value.isNull { continue }  // null counts as absent
            switch name {
            case "id": id = value
            case "channel": channel = value
            case "account": account = value
            case "channelMessageId": channelMessageId = value
            case "citizen": citizen = value
            case "session": session = value
            case "kind": kind = value
            case "text": text = value
            case "attachments": attachments = value
            case "receivedAt": receivedAt = value
            case "priority": priority = value
            case "skills": skills = value
            case "meta": meta = value
            default: continue  // unknown fields are ignored for forward compatibility
            }
        }
    }

    /// The producer's fields, checked; broker-assigned ones are left empty.
    func envelope() throws(EnvelopeError) -> Envelope {
        guard let channelText = channel?.stringValue, let channel = Channel(rawValue: channelText) else {
            if self.channel == nil { throw .missing("channel") }
            throw EnvelopeError(field: "channel", message: "field 'channel' must be one of web, wechat, app, phone")
        }
        let account = try identifier("account", self.account)
        let channelMessageId = try identifier("channelMessageId", self.channelMessageId)
        let citizen = try identifier("citizen", self.citizen)
        guard let kindText = kind?.stringValue, let kind = MessageKind(rawValue: kindText) else {
            if self.kind == nil { throw .missing("kind") }
            throw EnvelopeError(field: "kind", message: "field 'kind' must be one of text, image, voice, location, event, transcript")
        }
        let text = try checkedText(required: kind == .text || kind == .transcript)
        return Envelope(channel: channel, account: account, channelMessageId: channelMessageId, citizen: citizen,
                        kind: kind, text: text, attachments: try checkedAttachments(),
                        priority: try checkedPriority(), skills: try checkedSkills(), meta: try checkedMeta())
    }

    /// A required id-like string: non-empty, at most `maxIdBytes`, no control characters
    /// (they would break the U+001F-joined dedupe key and log lines).
    func identifier(_ name: String, _ value: JSON?) throws(EnvelopeError) -> String {
        guard let value else { throw .missing(name) }
        guard let s = value.stringValue, !s.isEmpty, s.utf8.count <= EnvelopeLimits.maxIdBytes else {
            throw EnvelopeError(field: name, message: "field '\(name)' must be a non-empty string of at most \(EnvelopeLimits.maxIdBytes) bytes")
        }
        if s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw EnvelopeError(field: name, message: "field '\(name)' must not contain control characters")
        }
        return s
    }

    func checkedText(required: Bool) throws(EnvelopeError) -> String? {
        guard let text else {
            if required { throw EnvelopeError(field: "text", message: "field 'text' is required for kind text and transcript") }
            return nil
        }
        guard let s = text.stringValue, s.utf8.count <= EnvelopeLimits.maxTextBytes else {
            throw EnvelopeError(field: "text", message: "field 'text' must be a string of at most \(EnvelopeLimits.maxTextBytes) bytes")
        }
        if required && s.isEmpty {
            throw EnvelopeError(field: "text", message: "field 'text' must not be empty for kind text and transcript")
        }
        return s
    }

    func checkedAttachments() throws(EnvelopeError) -> [Attachment] {
        guard let attachments else { return [] }
        guard let items = attachments.arrayValue, items.count <= EnvelopeLimits.maxAttachments else {
            throw EnvelopeError(field: "attachments", message: "field 'attachments' must be an array of at most \(EnvelopeLimits.maxAttachments) objects")
        }
        var out: [Attachment] = []
        out.reserveCapacity(items.count)
        for (k, item) in items.enumerated() {
            let path = "attachments[\(k)]"
            guard case .object = item else {
                throw EnvelopeError(field: path, message: "field '\(path)' must be an object with string type, url and mime")
            }
            func part(_ name: String, _ maxBytes: Int) throws(EnvelopeError) -> String {
                guard let s = item[name]?.stringValue, !s.isEmpty, s.utf8.count <= maxBytes else {
                    throw EnvelopeError(field: "\(path).\(name)", message: "field '\(path).\(name)' must be a non-empty string of at most \(maxBytes) bytes")
                }
                return s
            }
            out.append(Attachment(type: try part("type", EnvelopeLimits.maxAttachmentFieldBytes),
                                  url: try part("url", EnvelopeLimits.maxURLBytes),
                                  mime: try part("mime", EnvelopeLimits.maxAttachmentFieldBytes)))
        }
        return out
    }

    func checkedPriority() throws(EnvelopeError) -> Int? {
        guard let priority else { return nil }
        // An integral double (5.0) is accepted: some producers write every number that way.
        guard let p = priority.intValue, (0...9).contains(p) else {
            throw EnvelopeError(field: "priority", message: "field 'priority' must be an integer from 0 to 9")
        }
        return Int(p)
    }

    func checkedSkills() throws(EnvelopeError) -> [String]? {
        guard let skills else { return nil }
        guard let items = skills.arrayValue, items.count <= EnvelopeLimits.maxSkills else {
            throw EnvelopeError(field: "skills", message: "field 'skills' must be an array of at most \(EnvelopeLimits.maxSkills) strings")
        }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (k, item) in items.enumerated() {
            guard let s = item.stringValue, !s.isEmpty, s.utf8.count <= EnvelopeLimits.maxSkillBytes else {
                throw EnvelopeError(field: "skills[\(k)]", message: "field 'skills[\(k)]' must be a non-empty string of at most \(EnvelopeLimits.maxSkillBytes) bytes")
            }
            out.append(s)
        }
        return out
    }

    func checkedMeta() throws(EnvelopeError) -> JSON {
        guard let meta else { return .object([]) }
        guard case .object = meta else {
            throw EnvelopeError(field: "meta", message: "field 'meta' must be an object")
        }
        return meta
    }
}
