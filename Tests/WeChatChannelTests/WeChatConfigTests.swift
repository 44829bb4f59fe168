// The `wechat` list of the config file: a full account, defaults, secrets from the environment
// and from files, and every problem named at once. Also the documented sample config.
import Foundation
import Testing
import IntakeJSON
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatConfigTests {
    static let env = ["WX_TOKEN": Fixtures.token, "WX_AES_KEY": Fixtures.encodingAESKey, "WX_SECRET": "0123456789abcdef0123456789abcdef"]

    func parse(_ text: String, env: [String: String] = WeChatConfigTests.env, files: [String: String] = [:]) throws -> Result<[WeChatAccountConfig], WeChatConfigError> {
        WeChatAccountConfig.parse(try JSON.parse(text), environment: env, readFile: { files[$0].map { Array($0.utf8) } })
    }

    @Test func theContractsExample() throws {
        let accounts = try parse("""
            [ { "account": "main", "appid": "wx5d3c1a2b4e6f7089", "token": "env:WX_TOKEN",
                "aesKey": "env:WX_AES_KEY", "secret": "env:WX_SECRET", "mode": "safe",
                "apiBase": "https://api.weixin.qq.com" } ]
            """).get()
        let a = try #require(accounts.first)
        #expect(accounts.count == 1)
        #expect(a.name == "main" && a.appId == Fixtures.appId && a.token == Fixtures.token && a.mode == .safe)
        #expect(a.aesKey == (try Fixtures.key()) && a.secret == Self.env["WX_SECRET"])
        #expect(a.apiBase == "https://api.weixin.qq.com")
        #expect(a.clockSkewSeconds == 300 && a.replyDeadlineSeconds == 4)
        // Secrets never show in the description (logs).
        #expect(!a.description.contains(Fixtures.token) && !a.description.contains("0123456789abcdef"))
    }

    @Test func defaultsAndOptionalKeys() throws {
        let a = try #require(try parse("""
            [ { "account": "plain-one", "appid": "wx1", "token": "file:/run/secrets/wx", "mode": "plain",
                "apiBase": "http://127.0.0.1:9999/", "clockSkew": "0", "replyDeadline": "2500ms" } ]
            """, files: ["/run/secrets/wx": "  tok3n\n"]).get().first)
        #expect(a.mode == .plain && a.aesKey == nil && a.secret == nil && a.token == "tok3n")
        #expect(a.apiBase == "http://127.0.0.1:9999" && a.clockSkewSeconds == 0 && a.replyDeadlineSeconds == 2.5)
        // mode defaults to safe, which needs a key.
        let safe = try #require(try parse(#"[{"account":"s","appid":"wx2","token":"env:WX_TOKEN","aesKey":"env:WX_AES_KEY","clockSkew":60}]"#).get().first)
        #expect(safe.mode == .safe && safe.clockSkewSeconds == 60)
        #expect(try parse("[]").get().isEmpty)
    }

    @Test func everyProblemIsNamed() throws {
        let r = try parse("""
            [ { "account": "bad name", "appid": "", "token": "plainSecret", "aesKey": "env:MISSING", "mode": "secure",
                "apiBase": "http://example.com", "clockSkew": "-1s", "replyDeadline": "6s", "colour": "blue" },
              { "appid": "wx3", "token": "env:WX_TOKEN", "mode": "compatible", "secret": "file:/nope" },
              { "account": "short", "appid": "wx4", "token": "env:SHORT", "aesKey": "env:BADKEY" },
              "not an object" ]
            """, env: ["SHORT": "ab", "BADKEY": "tooShort", "WX_TOKEN": Fixtures.token])
        guard case .failure(let e) = r else { Issue.record("a bad list was accepted"); return }
        for fragment in [
            #"wechat[0] "bad name".account: must be 1-64 letters"#,
            #"wechat[0] "bad name".appid: must be 1-64 letters and digits"#,
            #"wechat[0] "bad name".token: write "env:NAME" or "file:/path", not the secret itself"#,
            #"wechat[0] "bad name".aesKey: environment variable MISSING is not set"#,
            #"wechat[0] "bad name".mode: 'secure' is not plain, compatible or safe"#,
            #"wechat[0] "bad name".apiBase: must be https://"#,
            #"wechat[0] "bad name".clockSkew"#,
            #"wechat[0] "bad name".replyDeadline"#,
            #"wechat[0] "bad name".colour: unknown key"#,
            "wechat[1].account: is required",
            "wechat[1].aesKey: is required",
            "wechat[1].secret: file /nope cannot be read",
            #"wechat[2] "short".token: must be 3-32 letters and digits"#,
            #"wechat[2] "short".aesKey: invalid EncodingAESKey: must be 43 characters"#,
            "wechat[3]: must be an object",
        ] {
            #expect(e.problems.contains { $0.hasPrefix(fragment) }, "missing: \(fragment)\nin: \(e.problems)")
        }
        #expect(e.problems.count == 15, "\(e.problems)")
        #expect(!e.description.contains("\n"))
        #expect(!e.description.contains("plainSecret"))
    }

    @Test func duplicatesAndShape() throws {
        guard case .failure(let e) = try parse(#"{"account":"x"}"#) else { Issue.record("an object was accepted"); return }
        #expect(e.problems == ["wechat: must be an array of accounts"])
        let dup = try parse("""
            [ {"account":"a","appid":"wx1","token":"env:WX_TOKEN","mode":"plain"},
              {"account":"a","appid":"wx2","token":"env:WX_TOKEN","mode":"plain"},
              {"account":"b","appid":"wx1","token":"env:WX_TOKEN","mode":"plain"} ]
            """)
        guard case .failure(let d) = dup else { Issue.record("duplicates accepted"); return }
        #expect(d.problems.count == 2 && d.problems[0].contains("duplicate account name a") && d.problems[1].contains("appid wx1"))
    }

    @Test func apiBases() {
        let cases: [(String, String?)] = [
            ("https://api.weixin.qq.com", "https://api.weixin.qq.com"), ("https://api.weixin.qq.com/", "https://api.weixin.qq.com"),
            ("https://mock:8443", "https://mock:8443"), ("http://localhost:8080", "http://localhost:8080"), ("http://[::1]:80", "http://[::1]:80"),
            ("http://10.0.0.1", nil), ("ftp://x", nil), ("https://", nil), ("https://a/b", nil), ("https://u@a", nil), ("api.weixin.qq.com", nil),
        ]
        for (text, expected) in cases {
            let r = WeChatAccountConfig.parse(.array([.object([("account", "a"), ("appid", "wx1"), ("token", "env:T"), ("mode", "plain"),
                                                              ("apiBase", .string(text))])]), environment: ["T": "tok"])
            #expect((try? r.get().first?.apiBase) == expected, "\(text)")
        }
    }

    /// The sample config documents a WeChat account with secrets from the environment only.
    @Test func theSampleConfigsAccount() throws {
        let path = Fixtures.repoRoot.appendingPathComponent("Ops/samples/config.json").path
        let data = try #require(FileManager.default.contents(atPath: path))
        let config = try JSON.parse([UInt8](data))
        let list = try #require(config["wechat"], "Ops/samples/config.json has no wechat list")
        let accounts = try WeChatAccountConfig.parse(list, environment: Self.env).get()
        #expect(accounts.map(\.name) == ["main"])
        for item in list.arrayValue ?? [] {
            for key in ["token", "aesKey", "secret"] {
                #expect(item[key]?.stringValue?.hasPrefix("env:") == true, "the sample's \(key) must be env:NAME")
            }
        }
    }
}
