// WeChatChannel: one Official Account as configured (the `wechat` list of the config file),
// with its secrets resolved. Built once at start-up; immutable and shared read-only after.
// Parsing is in WeChatAccountConfig+Parse.swift.

/// A WeChat Official Account the broker serves at `/wechat/{name}`.
public struct WeChatAccountConfig: Sendable, CustomStringConvertible {
    /// How the account's messages are protected, as set in the WeChat console (消息加解密方式).
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// 明文模式: plaintext XML, `signature` only.
        case plain
        /// 兼容模式: plaintext fields and `Encrypt` side by side; replies are encrypted when the
        /// request was (`encrypt_type=aes`), plaintext otherwise.
        case compatible
        /// 安全模式: only `Encrypt`; both signatures checked; replies always encrypted.
        case safe
    }

    /// The real API host.
    public static let defaultAPIBase = "https://api.weixin.qq.com"
    /// The default tolerance between WeChat's `timestamp` and the broker's clock, in seconds.
    public static let defaultClockSkewSeconds: Int64 = 300
    /// The default time the broker waits for a passive reply before answering `success`.
    public static let defaultReplyDeadlineSeconds = 4.0

    /// The account's name in the config and in the path `/wechat/{name}` (the JSON key `account`).
    public var name: String
    /// The AppID (`wx…`): the Envelope's `account` and the receive id of encrypted frames.
    public var appId: String
    /// The Token set in the console (3–32 letters and digits); signs every request.
    public var token: String
    /// The key from the EncodingAESKey; required in compatible and safe mode.
    public var aesKey: WeChatAESKey?
    /// The AppSecret, for the access token of the customer-service API; nil when the account
    /// only answers passively.
    public var secret: String?
    /// The encryption mode.
    public var mode: Mode
    /// Scheme and host of the WeChat API, without a trailing slash (tests point it at a mock).
    public var apiBase: String
    /// Requests whose `timestamp` is further than this from the broker's clock are refused;
    /// 0 turns the check off. Retries arrive within about 20 s, so 300 s only catches replays
    /// and a badly wrong clock.
    public var clockSkewSeconds: Int64
    /// How long the broker waits for a passive reply (bot or agent) before answering
    /// `success` and sending the reply later through the customer-service API. WeChat gives up
    /// after 5 s.
    public var replyDeadlineSeconds: Double

    /// An account; the optional settings take their defaults.
    public init(name: String, appId: String, token: String, aesKey: WeChatAESKey?, secret: String? = nil,
                mode: Mode, apiBase: String = WeChatAccountConfig.defaultAPIBase,
                clockSkewSeconds: Int64 = WeChatAccountConfig.defaultClockSkewSeconds,
                replyDeadlineSeconds: Double = WeChatAccountConfig.defaultReplyDeadlineSeconds) {
        precondition(mode == .plain || aesKey != nil, "BUG: WeChat \(mode.rawValue) mode needs an AES key")
        self.name = name
        self.appId = appId
        self.token = token
        self.aesKey = aesKey
        self.secret = secret
        self.mode = mode
        self.apiBase = apiBase
        self.clockSkewSeconds = clockSkewSeconds
        self.replyDeadlineSeconds = replyDeadlineSeconds
    }

    /// The cipher for this account's frames, when it has a key.
    public var cipher: WeChatCipher? {
        aesKey.map { WeChatCipher(key: $0, receiveId: appId) }
    }

    /// The settings without the secrets, for logs.
    public var description: String {
        "WeChatAccountConfig(name: \(name), appId: \(appId), mode: \(mode.rawValue), apiBase: \(apiBase), "
            + "token: <redacted>, aesKey: \(aesKey == nil ? "none" : "<redacted>"), secret: \(secret == nil ? "none" : "<redacted>"))"
    }
}
