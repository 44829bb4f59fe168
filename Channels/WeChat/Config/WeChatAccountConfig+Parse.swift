// WeChatChannel: reads the config file's `wechat` list into accounts, resolving secrets from
// the environment (`env:NAME`) or a file (`file:/path`), and collecting every problem instead
// of stopping at the first. Pure apart from the injected file reader; any thread.
import Foundation
import IntakeJSON

/// Every problem found in the `wechat` list, each naming the entry and the key.
public struct WeChatConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line per problem, e.g. `wechat[0] "main".token: environment variable WX_TOKEN is not set`.
    public var problems: [String]
    /// All problems on one line.
    public var description: String { problems.joined(separator: "; ") }
}

extension WeChatAccountConfig {
    /// The keys of one account object.
    public static let configKeys: Set<String> = [
        "account", "appid", "token", "aesKey", "secret", "mode", "apiBase", "clockSkew", "replyDeadline",
    ]

    /// Reads the `wechat` list of the config file.
    ///
    /// Each entry: `account` (its name: letters, digits, `-`, `_`; the path `/wechat/{account}`),
    /// `appid`, `token`, `aesKey` (required unless `mode` is `plain`), `secret` (optional: only
    /// the customer-service API needs it), `mode` (`plain`, `compatible` or `safe`; default
    /// `safe`), `apiBase` (default https://api.weixin.qq.com; `http://` only for a loopback
    /// host), `clockSkew` (default `300s`; `0` turns the check off), `replyDeadline` (default
    /// `4s`, below 5 s). `token`, `aesKey` and `secret` must be written `env:NAME` or
    /// `file:/path` (the file's text without surrounding whitespace), never as the secret
    /// itself, so no secret sits in a config file.
    ///
    /// - Parameters:
    ///   - json: the value of the `wechat` key.
    ///   - environment: the process environment, for `env:NAME`.
    ///   - readFile: returns a file's bytes or nil, for `file:/path`.
    ///   - source: the prefix of each problem, naming where the list came from.
    public static func parse(_ json: JSON, environment: [String: String],
                             readFile: (String) -> [UInt8]? = { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } },
                             source: String = "wechat") -> Result<[WeChatAccountConfig], WeChatConfigError> {
        guard case .array(let items) = json else {
            return .failure(WeChatConfigError(problems: ["\(source): must be an array of accounts"]))
        }
        var problems: [String] = []
        var accounts: [WeChatAccountConfig] = []
        for (n, item) in items.enumerated() {
            var entry = "\(source)[\(n)]"
            if let name = item["account"]?.stringValue { entry += " \"\(name)\"" }
            if let account = parseOne(item, entry: entry, environment: environment, readFile: readFile, problems: &problems) {
                if accounts.contains(where: { $0.name == account.name }) {
                    problems.append("\(entry): duplicate account name \(account.name)")
                } else if accounts.contains(where: { $0.appId == account.appId }) {
                    problems.append("\(entry): appid \(account.appId) is already used by another account")
                } else {
                    accounts.append(account)
                }
            }
        }
        return problems.isEmpty ? .success(accounts) : .failure(WeChatConfigError(problems: problems))
    }

    private static func parseOne(_ item: JSON, entry: String, environment: [String: String],
                                 readFile: (String) -> [UInt8]?, problems: inout [String]) -> WeChatAccountConfig? {
        guard case .object(let members) = item else {
            problems.append("\(entry): must be an object")
            return nil
        }
        let before = problems.count
        for (key, _) in members where !configKeys.contains(key) {
            problems.append("\(entry).\(key): unknown key (known: \(configKeys.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String, required: Bool) -> String? {
            guard let value = item[key], !value.isNull else {
                if required { problems.append("\(entry).\(key): is required") }
                return nil
            }
            guard let s = value.stringValue else {
                problems.append("\(entry).\(key): must be a string")
                return nil
            }
            return s
        }
        func secret(_ key: String, required: Bool) -> String? {
            guard let raw = string(key, required: required) else { return nil }
            return resolveSecret(raw, where: "\(entry).\(key)", environment: environment, readFile: readFile, problems: &problems)
        }

        let name = string("account", required: true)
        if let name, !isAccountName(name) {
            problems.append("\(entry).account: must be 1-64 letters, digits, '-' or '_' (it is the path /wechat/{account})")
        }
        let appId = string("appid", required: true)
        if let appId, appId.isEmpty || appId.utf8.count > 64 || !appId.utf8.allSatisfy(isAlphanumeric) {
            problems.append("\(entry).appid: must be 1-64 letters and digits (the AppID, wx…)")
        }
        var mode = Mode.safe
        if let m = string("mode", required: false) {
            if let parsed = Mode(rawValue: m) { mode = parsed } else {
                problems.append("\(entry).mode: '\(m)' is not plain, compatible or safe")
            }
        }
        let token = secret("token", required: true)
        if let token, !(3...32).contains(token.utf8.count) || !token.utf8.allSatisfy(isAlphanumeric) {
            problems.append("\(entry).token: must be 3-32 letters and digits, as the WeChat console requires")
        }
        var aesKey: WeChatAESKey?
        if let keyText = secret("aesKey", required: mode != .plain) {
            do {
                aesKey = try WeChatAESKey(encodingAESKey: keyText)
            } catch {
                problems.append("\(entry).aesKey: \(error)")
            }
        }
        let appSecret = secret("secret", required: false)
        if let appSecret, appSecret.isEmpty || appSecret.utf8.count > 128 || !appSecret.utf8.allSatisfy(isAlphanumeric) {
            problems.append("\(entry).secret: must be 1-128 letters and digits (the AppSecret)")
        }
        var apiBase = defaultAPIBase
        if let base = string("apiBase", required: false) {
            if let checked = checkAPIBase(base) { apiBase = checked } else {
                problems.append("\(entry).apiBase: must be https://HOST[:PORT] (http:// only for 127.0.0.1, ::1 or localhost)")
            }
        }
        var clockSkew = defaultClockSkewSeconds
        if let v = item["clockSkew"] {
            if let s = seconds(v), s >= 0, s <= 86_400 { clockSkew = Int64(s.rounded(.up)) } else {
                problems.append("\(entry).clockSkew: must be a duration from 0 to 24h, e.g. \"300s\" (0 turns the check off)")
            }
        }
        var deadline = defaultReplyDeadlineSeconds
        if let v = item["replyDeadline"] {
            if let s = seconds(v), s > 0, s < 5 { deadline = s } else {
                problems.append("\(entry).replyDeadline: must be a duration above 0 and below 5s (WeChat waits 5 s), e.g. \"4s\"")
            }
        }
        guard problems.count == before, let name, let appId, let token else { return nil }
        return WeChatAccountConfig(name: name, appId: appId, token: token, aesKey: aesKey, secret: appSecret,
                                   mode: mode, apiBase: apiBase, clockSkewSeconds: clockSkew, replyDeadlineSeconds: deadline)
    }

    /// `env:NAME` or `file:/path`; anything else is refused, so a secret is never written
    /// into the config file itself.
    static func resolveSecret(_ raw: String, where place: String, environment: [String: String],
                              readFile: (String) -> [UInt8]?, problems: inout [String]) -> String? {
        if raw.hasPrefix("env:") {
            let name = String(raw.dropFirst(4))
            guard let v = environment[name], !v.isEmpty else {
                problems.append("\(place): environment variable \(name) is not set")
                return nil
            }
            return v
        }
        if raw.hasPrefix("file:") {
            let path = String(raw.dropFirst(5))
            guard !path.isEmpty, let bytes = readFile(path) else {
                problems.append("\(place): file \(path) cannot be read")
                return nil
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                problems.append("\(place): file \(path) is not UTF-8 text")
                return nil
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else {
                problems.append("\(place): file \(path) is empty")
                return nil
            }
            return trimmed
        }
        problems.append("\(place): write \"env:NAME\" or \"file:/path\", not the secret itself")
        return nil
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    private static func isAccountName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// The base URL without a trailing slash, or nil if it is not `https://host[:port]`
    /// (`http://` allowed for loopback hosts, where tests run a mock API).
    static func checkAPIBase(_ s: String) -> String? {
        var base = s
        while base.hasSuffix("/") { base.removeLast() }
        let rest: Substring
        if base.hasPrefix("https://") {
            rest = base.dropFirst(8)
        } else if base.hasPrefix("http://") {
            rest = base.dropFirst(7)
            let host = rest.hasPrefix("[") ? String(rest.prefix { $0 != "]" }) + "]" : String(rest.prefix { $0 != ":" })
            guard ["127.0.0.1", "localhost", "[::1]"].contains(host) else { return nil }
        } else {
            return nil
        }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("#"), !rest.contains("@"),
              rest.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return base
    }

    /// A duration: a number of seconds, or a string `500ms`, `4s`, `5m`, `1h`, or plain digits.
    static func seconds(_ v: JSON) -> Double? {
        if let d = v.doubleValue { return d.isFinite ? d : nil }
        guard let s = v.stringValue else { return nil }
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where s.hasSuffix(suffix) {
            guard let n = Double(s.dropLast(suffix.count)), n.isFinite else { return nil }
            return n * factor
        }
        guard let n = Double(s), n.isFinite else { return nil }
        return n
    }
}
