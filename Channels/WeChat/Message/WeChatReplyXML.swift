// WeChatChannel: the XML of passive replies and of the encrypted envelope, byte for byte as
// wechatpy writes them (so outputs can be compared with its vectors). Pure; any thread.

/// Passive reply documents (PROTOCOL-NOTES §4.4) and the safe-mode envelope (§3.7).
public enum WeChatReplyXML {
    /// A text reply: to the citizen's OpenID, from the account's original id.
    public static func text(to: String, from: String, createTime: Int64, content: String) -> [UInt8] {
        var w = head(to: to, from: from, createTime: createTime, type: "text")
        w.cdataElement("Content", content)
        w.close("xml")
        return w.bytes
    }

    /// An image reply (a media id uploaded beforehand).
    public static func image(to: String, from: String, createTime: Int64, mediaId: String) -> [UInt8] {
        var w = head(to: to, from: from, createTime: createTime, type: "image")
        w.open("Image")
        w.cdataElement("MediaId", mediaId)
        w.close("Image")
        w.close("xml")
        return w.bytes
    }

    /// One article of a news reply.
    public struct Article: Sendable, Equatable {
        /// `Title`.
        public var title: String
        /// `Description`.
        public var description: String
        /// `PicUrl`: the picture shown with the article.
        public var picURL: String
        /// `Url`: where a tap leads.
        public var url: String

        /// An article.
        public init(title: String, description: String, picURL: String, url: String) {
            self.title = title
            self.description = description
            self.picURL = picURL
            self.url = url
        }
    }

    /// A news reply; WeChat shows at most 8 articles (newer accounts only 1 in a reply to a
    /// user's message).
    public static func news(to: String, from: String, createTime: Int64, articles: [Article]) -> [UInt8] {
        precondition(!articles.isEmpty && articles.count <= 8, "BUG: a news reply has 1 to 8 articles")
        var w = head(to: to, from: from, createTime: createTime, type: "news")
        w.integerElement("ArticleCount", Int64(articles.count))
        w.open("Articles")
        for a in articles {
            w.open("item")
            w.cdataElement("Title", a.title)
            w.cdataElement("Description", a.description)
            w.cdataElement("PicUrl", a.picURL)
            w.cdataElement("Url", a.url)
            w.close("item")
        }
        w.close("Articles")
        w.close("xml")
        return w.bytes
    }

    /// The envelope of an encrypted reply, with the newlines wechatpy and Tencent's samples put
    /// between its elements.
    public static func encrypted(encrypt: String, signature: String, timestamp: Int64, nonce: String) -> [UInt8] {
        var w = XMLWriter()
        w.open("xml")
        w.raw("\n")
        w.cdataElement("Encrypt", encrypt)
        w.raw("\n")
        w.cdataElement("MsgSignature", signature)
        w.raw("\n")
        w.integerElement("TimeStamp", timestamp)
        w.raw("\n")
        w.cdataElement("Nonce", nonce)
        w.raw("\n")
        w.close("xml")
        return w.bytes
    }

    private static func head(to: String, from: String, createTime: Int64, type: String) -> XMLWriter {
        var w = XMLWriter()
        w.open("xml")
        w.cdataElement("ToUserName", to)
        w.cdataElement("FromUserName", from)
        w.integerElement("CreateTime", createTime)
        w.cdataElement("MsgType", type)
        return w
    }
}
