// WeChatChannel: the requests the broker makes to the WeChat API (access token, customer-service
// text, media download) and the reading of the answers, without an HTTP client: the caller
// sends `WeChatAPIRequest` with its own. Pure; any thread.
//
// Design: the token and send answers are classified once here, so that the caller's retry
// loop only asks "refresh the token?", "retry later?", or "tell the agent it cannot be sent".
// Customer-service messages are plain HTTPS JSON, never encrypted, whatever the callback mode.
import IntakeJSON

/// An HTTP request for the caller's client. The URL can carry the AppSecret or the access
/// token: log `redactedURL`, never `url`.
public struct WeChatAPIRequest: Sendable, Equatable {
    /// `GET` or `POST`.
    public var method: String
    /// The full URL, with query.
    public var url: String
    /// The Content-Type of the body, if any.
    public var contentType: String?
    /// The body (empty for GET).
    public var body: [UInt8]

    /// A request; `body` empty for GET.
    public init(method: String, url: String, contentType: String?, body: [UInt8]) {
        self.method = method
        self.url = url
        self.contentType = contentType
        self.body = body
    }

    /// `url` with the values of `secret` and `access_token` replaced by `***`.
    public var redactedURL: String {
        guard let q = url.firstIndex(of: "?") else { return url }
        let pairs = url[url.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let name = pair.prefix { $0 != "=" }
            return name == "secret" || name == "access_token" ? "\(name)=***" : String(pair)
        }
        return String(url[...q]) + pairs.joined(separator: "&")
    }
}

/// An access token and how long it lives.
public struct WeChatAccessToken: Sendable, Equatable, CustomStringConvertible {
    /// The token.
    public var token: String
    /// Its lifetime from when it was issued, in seconds (7200 today).
    public var expiresInSeconds: Int64

    /// A token living `expiresInSeconds`.
    public init(token: String, expiresInSeconds: Int64) {
        self.token = token
        self.expiresInSeconds = expiresInSeconds
    }

    /// When to fetch the next one, in Unix seconds, given when this one was fetched: `margin`
    /// seconds before it expires (but not before half its life), so requests in flight never
    /// carry an expired token. Fetching a new token invalidates the previous one, so fetch one
    /// per account centrally.
    public func refreshAt(fetchedAt: Int64, margin: Int64 = 300) -> Int64 {
        fetchedAt + max(expiresInSeconds / 2, expiresInSeconds - margin)
    }

    /// Never the token itself.
    public var description: String { "WeChatAccessToken(<redacted>, expiresIn: \(expiresInSeconds)s)" }
}

/// Why a WeChat API call did not succeed, classified for the caller's retry loop.
public enum WeChatAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 40001, 40014, 42001: the access token is invalid or expired; fetch a new one and retry.
    case tokenRefreshNeeded(errcode: Int64, errmsg: String)
    /// 45015: outside the 48-hour window since the citizen's last message (or they
    /// unfollowed): the reply cannot be sent; tell the agent.
    case outsideWindow(errmsg: String)
    /// 45047: the per-window quota of customer-service messages is used up; tell the agent.
    case quotaExceeded(errmsg: String)
    /// -1 (system busy), 45009/45011 (frequency limits): retry later with backoff.
    case retryLater(errcode: Int64, errmsg: String)
    /// Any other error code: retrying the same request will not help (bad AppSecret, IP not
    /// whitelisted, invalid OpenID …).
    case failed(errcode: Int64, errmsg: String)
    /// The answer is not the JSON the API documents (a proxy's error page, a truncated body).
    case malformed(String)

    /// WeChat's error code, when it gave one.
    public var errcode: Int64? {
        switch self {
        case .tokenRefreshNeeded(let c, _), .retryLater(let c, _), .failed(let c, _): return c
        case .outsideWindow: return 45015
        case .quotaExceeded: return 45047
        case .malformed: return nil
        }
    }

    /// True when the same request may succeed later (after a token refresh or a backoff).
    public var isRetryable: Bool {
        switch self {
        case .tokenRefreshNeeded, .retryLater, .malformed: return true
        case .outsideWindow, .quotaExceeded, .failed: return false
        }
    }

    public var description: String {
        switch self {
        case .tokenRefreshNeeded(let c, let m): return "access token invalid or expired (\(c) \(m))"
        case .outsideWindow(let m): return "outside the 48-hour reply window or the user unfollowed (45015 \(m))"
        case .quotaExceeded(let m): return "customer-service message quota used up (45047 \(m))"
        case .retryLater(let c, let m): return "WeChat busy or rate-limited (\(c) \(m))"
        case .failed(let c, let m): return "WeChat API error \(c) \(m)"
        case .malformed(let why): return "unexpected answer from the WeChat API: \(why)"
        }
    }

    /// Classifies a non-zero `errcode`.
    public static func classify(errcode: Int64, errmsg: String) -> WeChatAPIError {
        switch errcode {
        case 40001, 40014, 42001: return .tokenRefreshNeeded(errcode: errcode, errmsg: errmsg)
        case 45015: return .outsideWindow(errmsg: errmsg)
        case 45047: return .quotaExceeded(errmsg: errmsg)
        case -1, 45009, 45011: return .retryLater(errcode: errcode, errmsg: errmsg)
        default: return .failed(errcode: errcode, errmsg: errmsg)
        }
    }
}

/// Builders and answer parsers for the WeChat API.
public enum WeChatAPI {
    /// `GET {apiBase}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…`.
    public static func tokenRequest(apiBase: String, appId: String, secret: String) -> WeChatAPIRequest {
        let url = apiBase + "/cgi-bin/token?grant_type=client_credential&appid=" + percentEncode(appId)
            + "&secret=" + percentEncode(secret)
        return WeChatAPIRequest(method: "GET", url: url, contentType: nil, body: [])
    }

    /// The token request of `account`; nil when it has no AppSecret configured.
    public static func tokenRequest(for account: WeChatAccountConfig) -> WeChatAPIRequest? {
        guard let secret = account.secret else { return nil }
        return tokenRequest(apiBase: account.apiBase, appId: account.appId, secret: secret)
    }

    /// `POST {apiBase}/cgi-bin/message/custom/send?access_token=…` with
    /// `{"touser":…,"msgtype":"text","text":{"content":…}}`. The JSON is UTF-8 with Chinese
    /// written as is: bodies with `\uXXXX` escapes have been shown to users verbatim.
    public static func customerServiceText(apiBase: String, accessToken: String, toUser: String, content: String) -> WeChatAPIRequest {
        let body = JSON.object([
            ("touser", .string(toUser)),
            ("msgtype", .string("text")),
            ("text", .object([("content", .string(content))])),
        ]).serializedBytes
        let url = apiBase + "/cgi-bin/message/custom/send?access_token=" + percentEncode(accessToken)
        return WeChatAPIRequest(method: "POST", url: url, contentType: "application/json; charset=utf-8", body: body)
    }

    /// `GET {apiBase}/cgi-bin/media/get?access_token=…&media_id=…`: the file behind a
    /// `wechat-media:` attachment (WeChat keeps it 3 days).
    public static func mediaRequest(apiBase: String, accessToken: String, mediaId: String) -> WeChatAPIRequest {
        let url = apiBase + "/cgi-bin/media/get?access_token=" + percentEncode(accessToken) + "&media_id=" + percentEncode(mediaId)
        return WeChatAPIRequest(method: "GET", url: url, contentType: nil, body: [])
    }

    /// Reads the answer of the token request: `{"access_token","expires_in"}` or an error.
    public static func parseToken(_ body: [UInt8]) -> Result<WeChatAccessToken, WeChatAPIError> {
        let json: JSON
        switch answer(body) {
        case .failure(let e): return .failure(e)
        case .success(let j): json = j
        }
        guard let token = json["access_token"]?.stringValue, !token.isEmpty else {
            return .failure(.malformed("no access_token in the answer"))
        }
        guard let expires = json["expires_in"]?.intValue, expires > 0 else {
            return .failure(.malformed("no positive expires_in in the answer"))
        }
        return .success(WeChatAccessToken(token: token, expiresInSeconds: expires))
    }

    /// Reads the answer of a send: `{"errcode":0,"errmsg":"ok"}` is success.
    public static func parseSendResult(_ body: [UInt8]) -> Result<Void, WeChatAPIError> {
        switch answer(body) {
        case .failure(let e): return .failure(e)
        case .success(let json):
            guard json["errcode"] != nil else { return .failure(.malformed("no errcode in the answer")) }
            return .success(())
        }
    }

    /// The JSON object of an answer, or the error its non-zero `errcode` means.
    private static func answer(_ body: [UInt8]) -> Result<JSON, WeChatAPIError> {
        let json: JSON
        do {
            json = try JSON.parse(body)
        } catch {
            return .failure(.malformed("not JSON (\(error))"))
        }
        guard case .object = json else { return .failure(.malformed("not a JSON object")) }
        if let code = json["errcode"] {
            guard let c = code.intValue else { return .failure(.malformed("errcode is not an integer")) }
            if c != 0 { return .failure(.classify(errcode: c, errmsg: json["errmsg"]?.stringValue ?? "")) }
        }
        return .success(json)
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func percentEncode(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
