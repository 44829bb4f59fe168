// WeChatChannelTests: the test vectors (Fixtures/vectors.json, a copy of
// ../shared/wechat/vectors.json made with wechatpy 1.8.18, sha256 f36c46f7…5772) and helpers
// to read them.
import Foundation
import IntakeJSON
import WeChatChannel

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

enum Fixtures {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repoRoot = testsDir.deletingLastPathComponent().deletingLastPathComponent()
    static let vectorsPath = testsDir.appendingPathComponent("Fixtures/vectors.json").path
    /// The shared original, beside the clone (present in CI and on developer machines).
    static let sharedVectorsPath = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/wechat/vectors.json").path

    static let loaded: Result<JSON, FixtureError> = {
        guard let data = FileManager.default.contents(atPath: vectorsPath) else {
            return .failure(FixtureError(description: "cannot read \(vectorsPath)"))
        }
        do {
            return .success(try JSON.parse([UInt8](data), limits: JSONLimits(maxDepth: 64, maxBytes: 4 << 20)))
        } catch {
            return .failure(FixtureError(description: "\(vectorsPath): \(error)"))
        }
    }()

    static func vectors() throws -> JSON { try loaded.get() }

    /// The vectors' account: token, EncodingAESKey, AppID.
    static let token = "Hotline12345Token"
    static let encodingAESKey = "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ"
    static let appId = "wx5d3c1a2b4e6f7089"
    static let corpId = "ww0a1b2c3d4e5f6789"
    static let openId = "oHot5t0aB1cD2eF3gH4iJ5kL6mN7"
    static let originalId = "gh_12345hotline"

    static func key() throws -> WeChatAESKey { try WeChatAESKey(encodingAESKey: encodingAESKey) }

    /// The vectors' account in `mode`; clock check off (the vectors are dated 2023).
    static func account(_ mode: WeChatAccountConfig.Mode = .safe, clockSkew: Int64 = 0) throws -> WeChatAccountConfig {
        WeChatAccountConfig(name: "main", appId: appId, token: token, aesKey: try key(), secret: nil, mode: mode,
                            clockSkewSeconds: clockSkew)
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
            out.append(v(hi) << 4 | v(lo))
        }
        return out
    }

    /// `a=1&b=%2B` → ["a": "1", "b": "+"] (form decoding: `+` is a space).
    static func query(_ qs: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in qs.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0])), value = parts.count > 1 ? decode(String(parts[1])) : ""
            if out[name] == nil { out[name] = value }
        }
        return out
    }

    static func decode(_ s: String) -> String {
        var bytes: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let c = u.first {
            u = u.dropFirst()
            if c == UInt8(ascii: "+") { bytes.append(0x20) }
            else if c == UInt8(ascii: "%"), u.count >= 2 {
                bytes.append(hex(String(decoding: u.prefix(2), as: UTF8.self))[0])
                u = u.dropFirst(2)
            } else { bytes.append(c) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension JSON {
    /// The string member `key`, or a test failure naming it.
    func string(_ key: String) throws -> String {
        guard let s = self[key]?.stringValue else { throw FixtureError(description: "fixture has no string \(key): \(self)") }
        return s
    }

    func array(_ key: String) throws -> [JSON] {
        guard let a = self[key]?.arrayValue else { throw FixtureError(description: "fixture has no array \(key)") }
        return a
    }

    /// An object's string members as a dictionary.
    func stringMap(_ key: String) throws -> [String: String] {
        guard let members = self[key]?.objectValue else { throw FixtureError(description: "fixture has no object \(key)") }
        var out: [String: String] = [:]
        for (k, v) in members { out[k] = v.stringValue ?? "" }
        return out
    }
}

extension WeChatOutcome {
    var inbound: WeChatInbound? {
        if case .message(let m) = self { return m }
        return nil
    }

    var error: WeChatError? {
        if case .rejected(let e) = self { return e }
        return nil
    }

    var verifiedResponse: WeChatResponse? {
        if case .verified(let r) = self { return r }
        return nil
    }
}
