// WeChatChannel: the message decoder, from the `<xml>` element of a plaintext (or decrypted)
// message to a WeChatMessage. Pure; any thread.

extension WeChatMessage {
    /// The elements kept in `fields`; all others are ignored, so that fields WeChat adds later
    /// neither fail a message nor grow what is stored.
    public static let knownFields: Set<String> = [
        "ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "MsgDataId", "Idx",
        "Content", "PicUrl", "MediaId", "Format", "Recognition", "ThumbMediaId",
        "Location_X", "Location_Y", "Scale", "Label", "Title", "Description", "Url",
        "Event", "EventKey", "Ticket", "MenuId", "Latitude", "Longitude", "Precision",
    ]

    /// Fields that are ids or numbers: surrounding whitespace is dropped (an indented
    /// document is still the same message). Free text (`Content`, `Label` …) is kept as written.
    static let trimmedFields: Set<String> = [
        "ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "MsgDataId", "Idx",
        "MediaId", "Format", "ThumbMediaId", "Location_X", "Location_Y", "Scale", "PicUrl", "Url",
        "Event", "EventKey", "Ticket", "MenuId", "Latitude", "Longitude", "Precision",
    ]

    /// Decodes `root`, which must be `<xml>`; throws `badMessage` naming the problem.
    public static func decode(_ root: XML.Element) throws(WeChatError) -> WeChatMessage {
        guard root.name == "xml" else { throw WeChatError(.badMessage, "the root element is <\(root.name)>, not <xml>") }
        var fields: [Field] = []
        for child in root.children where child.children.isEmpty && knownFields.contains(child.name) {
            // The first occurrence wins; WeChat never repeats an element.
            guard !fields.contains(where: { $0.name == child.name }) else { continue }
            let value = trimmedFields.contains(child.name) ? trim(child.text) : child.text
            fields.append(Field(child.name, value))
        }
        func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }
        func required(_ name: String) throws(WeChatError) -> String {
            guard let v = value(name), !v.isEmpty else { throw WeChatError(.badMessage, "<\(name)> is missing or empty") }
            return v
        }

        let to = try required("ToUserName")
        let from = try required("FromUserName")
        let createText = try required("CreateTime")
        guard createText.utf8.count <= 18, createText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let createTime = Int64(createText) else {
            throw WeChatError(.badMessage, "<CreateTime> must be an integer (Unix seconds)")
        }
        let msgType = try required("MsgType")
        var msgId: String?
        if let id = value("MsgId"), !id.isEmpty {
            guard id.utf8.count <= 20, id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), UInt64(id) != nil else {
                throw WeChatError(.badMessage, "<MsgId> must be a 64-bit decimal integer")
            }
            msgId = id
        }

        let body: Body
        switch msgType.lowercased() {
        case "text":
            body = .text(content: value("Content") ?? "")
        case "image":
            body = .image(picURL: value("PicUrl") ?? "", mediaId: value("MediaId") ?? "")
        case "voice":
            let recognition = value("Recognition").flatMap { $0.isEmpty ? nil : $0 }
            body = .voice(mediaId: value("MediaId") ?? "", format: value("Format") ?? "", recognition: recognition)
        case "video", "shortvideo":
            body = .video(mediaId: value("MediaId") ?? "", thumbMediaId: value("ThumbMediaId") ?? "",
                          short: msgType.lowercased() == "shortvideo")
        case "location":
            body = .location(latitude: value("Location_X") ?? "", longitude: value("Location_Y") ?? "",
                             scale: value("Scale") ?? "", label: value("Label") ?? "")
        case "link":
            body = .link(title: value("Title") ?? "", description: value("Description") ?? "", url: value("Url") ?? "")
        case "event":
            let name = try required("Event")
            body = .event(WeChatEvent(name: name, eventKey: value("EventKey"), ticket: value("Ticket")))
        default:
            body = .unsupported
        }
        return WeChatMessage(toUserName: to, fromUserName: from, createTime: createTime, msgType: msgType,
                             msgId: msgId, body: body, fields: fields)
    }

    /// Decodes the XML document `bytes` with `limits`; `badXML` or `badMessage` on failure.
    public static func decode(xml bytes: [UInt8], limits: XML.Limits = WeChatMessage.xmlLimits) throws(WeChatError) -> WeChatMessage {
        let root: XML.Element
        do {
            root = try XML.parse(bytes, limits: limits)
        } catch {
            throw WeChatError(.badXML, "\(error)")
        }
        return try decode(root)
    }

    /// XML limits for WeChat messages: depth 2 is all they use; 8 leaves room for news-like
    /// structures, 256 elements for fields WeChat adds later.
    public static let xmlLimits = XML.Limits(maxBytes: 1 << 20, maxDepth: 8, maxElements: 256)

    private static func trim(_ s: String) -> String {
        let u = Array(s.utf8)
        func space(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        guard let first = u.firstIndex(where: { !space($0) }), let last = u.lastIndex(where: { !space($0) }) else { return "" }
        if first == 0 && last == u.count - 1 { return s }
        return String(decoding: u[first...last], as: UTF8.self)
    }
}
