// WeChatChannel: the passive reply to one inbound message, in the form its request needs
// (plaintext, or encrypted with a fresh timestamp, nonce and msg_signature). Immutable value;
// any thread.
import IntakeCrypto

/// Why a passive reply cannot be made; send `WeChatReplier.noReply` and deliver the text
/// through the customer-service API instead.
public enum WeChatReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An empty text is not a reply (WeChat shows an error to the user); use `noReply`.
    case empty
    /// Longer than WeChat takes in a passive text reply.
    case tooLong(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .empty: return "an empty passive reply is not allowed; answer success instead"
        case .tooLong(let bytes, let limit): return "passive text reply of \(bytes) bytes is over WeChat's \(limit)"
        }
    }
}

/// Builds the HTTP answer to one message: a passive text reply or `success`.
public struct WeChatReplier: Sendable {
    /// WeChat's limit on a passive text reply, in UTF-8 bytes (longer ones are not shown).
    public static let maxTextBytes = 2048

    /// The citizen's OpenID (the request's FromUserName).
    public let toUser: String
    /// The account's original id (the request's ToUserName).
    public let fromUser: String
    private let token: String
    /// Set when the reply must be encrypted (the request was).
    private let cipher: WeChatCipher?

    init(toUser: String, fromUser: String, token: String, cipher: WeChatCipher?) {
        self.toUser = toUser
        self.fromUser = fromUser
        self.token = token
        self.cipher = cipher
    }

    /// True when replies are encrypted.
    public var encrypts: Bool { cipher != nil }

    /// "No passive reply": 200 with `success`, which WeChat accepts unencrypted in every mode.
    /// Send it when no answer is ready within the deadline.
    public static let noReply = WeChatResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array("success".utf8))

    /// A passive text reply with `CreateTime` = `now` (Unix seconds); encrypted with a fresh
    /// random prefix and nonce when the request was.
    public func text(_ content: String, now: Int64) throws(WeChatReplyError) -> WeChatResponse {
        try text(content, now: now, nonce: Self.freshNonce(), random: SecureRandom.bytes(WeChatCipher.randomBytes))
    }

    /// The same with the nonce and the 16-byte random prefix given: a test seam for
    /// byte-for-byte comparison with another implementation.
    public func text(_ content: String, now: Int64, nonce: String, random: [UInt8]) throws(WeChatReplyError) -> WeChatResponse {
        let bytes = content.utf8.count
        guard bytes > 0 else { throw .empty }
        guard bytes <= Self.maxTextBytes else { throw .tooLong(bytes: bytes, limit: Self.maxTextBytes) }
        let xml = WeChatReplyXML.text(to: toUser, from: fromUser, createTime: now, content: content)
        return wrap(xml, now: now, nonce: nonce, random: random)
    }

    /// Any passive reply XML (`WeChatReplyXML`), encrypted when the request was.
    public func wrap(_ replyXML: [UInt8], now: Int64, nonce: String, random: [UInt8]) -> WeChatResponse {
        guard let cipher else {
            return WeChatResponse(status: 200, contentType: Self.xmlContentType, body: replyXML)
        }
        let encrypt = cipher.encrypt(replyXML, random: random)
        let timestamp = String(now)
        let signature = WeChatSignature.message(token: token, timestamp: timestamp, nonce: nonce, encrypt: encrypt)
        let body = WeChatReplyXML.encrypted(encrypt: encrypt, signature: signature, timestamp: now, nonce: nonce)
        return WeChatResponse(status: 200, contentType: Self.xmlContentType, body: body)
    }

    static let xmlContentType = "application/xml; charset=utf-8"

    /// Ten random decimal digits, like the nonces WeChat sends.
    public static func freshNonce() -> String {
        var out = ""
        // 250 = 25 × 10: rejection sampling keeps each digit uniform.
        while out.count < 10 {
            for b in SecureRandom.bytes(16) where b < 250 && out.count < 10 {
                out.append(Character(Unicode.Scalar(UInt8(ascii: "0") + b % 10)))
            }
        }
        return out
    }
}
