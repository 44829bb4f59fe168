// WeChatChannel: the callback of one Official Account (`GET, POST /wechat/{account}`) without
// sockets: from method, query parameters and body to an answer, a decoded message, or an
// error. Immutable value; any thread (it does CPU work only: SHA-1, AES, XML).
//
// Design: checks run cheapest and least trusting first, and nothing a request says is used
// before the check that vouches for it:
//   1. method; body size (413 before any parsing);
//   2. `signature` over token, timestamp, nonce: every mode, every request (403);
//   3. the timestamp within the account's clock skew (403);
//   4. the request's encryption (`encrypt_type`) against the account's mode (400);
//   5. the outer XML; when encrypted: `msg_signature` over the Encrypt text (403), decryption
//      with every length and padding check (400), the AppID in the frame (403), the inner XML;
//   6. the message's fields, then the Envelope.
// The GET URL check of an Official Account is answered with `echostr` unchanged in every mode
// (it is never encrypted for an Official Account; WeCom differs). Dedupe, storage and the
// 5-second deadline are the caller's: this type never blocks and keeps no state.
import IntakeCore

/// What the endpoint made of a request.
public enum WeChatOutcome: Sendable {
    /// The URL check passed: send this response (200, the echostr as it came).
    case verified(WeChatResponse)
    /// A message to store; answer with `inbound.replier`.
    case message(WeChatInbound)
    /// Refused: send `error.response`; store nothing.
    case rejected(WeChatError)
}

/// A verified, decoded inbound message and how to answer it.
public struct WeChatInbound: Sendable {
    /// The message as WeChat sent it.
    public var message: WeChatMessage
    /// Its normalised form, for the broker to store (id, session, receivedAt still empty).
    public var envelope: Envelope
    /// Builds the passive reply (or `success`) in the form the request needs.
    public var replier: WeChatReplier
    /// True when the request came encrypted (safe mode, or compatible with `encrypt_type=aes`).
    public var wasEncrypted: Bool
}

/// The callback of one configured account.
public struct WeChatEndpoint: Sendable {
    /// The default cap on a request body. A 4 KB text is about 6 KB in safe mode and three
    /// times the plaintext in compatible mode; 128 KiB leaves a wide margin.
    public static let defaultMaxBodyBytes = 128 * 1024

    /// The account served.
    public let account: WeChatAccountConfig
    /// Bodies over this get 413.
    public let maxBodyBytes: Int
    private let cipher: WeChatCipher?

    /// The endpoint of `account`, refusing bodies over `maxBodyBytes`.
    public init(account: WeChatAccountConfig, maxBodyBytes: Int = WeChatEndpoint.defaultMaxBodyBytes) {
        self.account = account
        self.maxBodyBytes = maxBodyBytes
        self.cipher = account.cipher
    }

    /// Handles one request. `query` holds the decoded query parameters (first occurrence of
    /// each; see `queryParameters`); `now` is the broker's clock in Unix seconds, for the
    /// timestamp check.
    public func handle(method: String, query: [String: String], body: [UInt8], now: Int64) -> WeChatOutcome {
        do throws(WeChatError) {
            switch method {
            case "GET": return .verified(try verifyURL(query: query, now: now))
            case "POST": return .message(try receive(query: query, body: body, now: now))
            default: throw WeChatError(.methodNotAllowed, "only GET (URL check) and POST (messages) are served")
            }
        } catch {
            return .rejected(error)
        }
    }

    /// Query pairs (as an HTTP layer decodes them: `+` as space, `%XX` decoded) to the
    /// dictionary `handle` takes; the first occurrence of a name wins.
    public static func queryParameters(_ pairs: [(String, String)]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in pairs where out[name] == nil { out[name] = value }
        return out
    }

    // MARK: GET

    private func verifyURL(query: [String: String], now: Int64) throws(WeChatError) -> WeChatResponse {
        let (timestamp, _) = try checkSignature(query)
        try checkClock(timestamp, now: now)
        guard let echo = query["echostr"], !echo.isEmpty else { throw WeChatError(.badRequest, "echostr is missing") }
        // Exactly the echostr: no quotes, no newline, no JSON; an Official Account never
        // encrypts it, whatever the mode.
        return WeChatResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array(echo.utf8))
    }

    // MARK: POST

    private func receive(query: [String: String], body: [UInt8], now: Int64) throws(WeChatError) -> WeChatInbound {
        guard body.count <= maxBodyBytes else {
            throw WeChatError(.bodyTooLarge, "body of \(body.count) bytes is over the limit of \(maxBodyBytes)")
        }
        let (timestamp, nonce) = try checkSignature(query)
        try checkClock(timestamp, now: now)

        let encrypted: Bool
        switch query["encrypt_type"]?.lowercased() {
        case nil, "raw": encrypted = false
        case "aes": encrypted = true
        case let other?: throw WeChatError(.badRequest, "encrypt_type '\(other)' is not aes or raw")
        }
        switch (account.mode, encrypted) {
        case (.plain, true):
            throw WeChatError(.modeMismatch, "the request is encrypted but account \(account.name) is configured plain; set its mode to safe or compatible")
        case (.safe, false):
            throw WeChatError(.modeMismatch, "account \(account.name) is in safe mode and takes only encrypted requests (encrypt_type=aes)")
        default:
            break
        }

        var limits = WeChatMessage.xmlLimits
        limits.maxBytes = maxBodyBytes
        let outer: XML.Element
        do {
            outer = try XML.parse(body, limits: limits)
        } catch {
            throw WeChatError(.badXML, "\(error)")
        }
        guard outer.name == "xml" else { throw WeChatError(.badMessage, "the root element is <\(outer.name)>, not <xml>") }

        let message: WeChatMessage
        if encrypted {
            guard let cipher else { preconditionFailure("BUG: compatible and safe accounts have a key (checked at parse)") }
            guard let msgSignature = query["msg_signature"], !msgSignature.isEmpty else {
                throw WeChatError(.badSignature, "msg_signature is missing")
            }
            guard let encrypt = outer.childText("Encrypt"), !encrypt.isEmpty else {
                throw WeChatError(.badMessage, "<Encrypt> is missing or empty")
            }
            guard WeChatSignature.verify(msgSignature, parts: [account.token, timestamp, nonce, encrypt]) else {
                throw WeChatError(.badSignature, "msg_signature does not match")
            }
            let plaintext: [UInt8]
            do {
                plaintext = try cipher.decrypt(encrypt)
            } catch .receiveIdMismatch {
                throw WeChatError(.wrongAppId, "the message is not for AppID \(account.appId)")
            } catch {
                throw WeChatError(.badCiphertext, "\(error)")
            }
            message = try WeChatMessage.decode(xml: plaintext, limits: limits)
        } else {
            message = try WeChatMessage.decode(outer)
        }
        let envelope = try message.envelope(appId: account.appId, accountName: account.name)
        let replier = WeChatReplier(toUser: message.fromUserName, fromUser: message.toUserName, token: account.token,
                                    cipher: encrypted ? cipher : nil)
        return WeChatInbound(message: message, envelope: envelope, replier: replier, wasEncrypted: encrypted)
    }

    // MARK: checks

    /// Verifies `signature` over token, timestamp and nonce; returns timestamp and nonce.
    private func checkSignature(_ query: [String: String]) throws(WeChatError) -> (String, String) {
        guard let signature = query["signature"], !signature.isEmpty else { throw WeChatError(.badSignature, "signature is missing") }
        guard let timestamp = query["timestamp"], !timestamp.isEmpty else { throw WeChatError(.badSignature, "timestamp is missing") }
        guard let nonce = query["nonce"], !nonce.isEmpty else { throw WeChatError(.badSignature, "nonce is missing") }
        guard WeChatSignature.verify(signature, parts: [account.token, timestamp, nonce]) else {
            throw WeChatError(.badSignature, "signature does not match")
        }
        return (timestamp, nonce)
    }

    private func checkClock(_ timestamp: String, now: Int64) throws(WeChatError) {
        guard account.clockSkewSeconds > 0 else { return }
        guard timestamp.utf8.count <= 12, let t = Int64(timestamp), t >= 0 else {
            throw WeChatError(.badRequest, "timestamp must be Unix seconds")
        }
        let skew = t > now ? t - now : now - t
        guard skew <= account.clockSkewSeconds else {
            throw WeChatError(.staleTimestamp, "timestamp is \(skew) s from the broker's clock (allowed: \(account.clockSkewSeconds) s)")
        }
    }
}
