// The config file's `wechat` list as `intake serve` reads it: accounts with secrets from the
// environment or a file, and bad entries reported with the other problems on one line (exit 2).
import Testing
import IntakeServer
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatConfigLoaderTests {
    func load(_ file: String, env: [String: String], files: [String: String] = [:]) -> Result<ServerConfig, ConfigError> {
        var all = files
        all["c.json"] = file
        return ConfigLoader.load(arguments: ["--config", "c.json"], environment: env, readFile: { all[$0].map { Array($0.utf8) } })
    }

    @Test func accountsAreRead() throws {
        let file = """
            {"wechat": [
              {"account": "main", "appid": "wx5d3c1a2b4e6f7089", "token": "env:WX_TOKEN", "aesKey": "file:/secrets/aes", "mode": "safe"},
              {"account": "legacy", "appid": "wx0000000000000001", "token": "env:WX_TOKEN", "mode": "plain"}
            ]}
            """
        let c = try load(file, env: ["WX_TOKEN": "Hotline12345Token"],
                         files: ["/secrets/aes": "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ\n"]).get()
        #expect(c.wechat.map(\.name) == ["main", "legacy"])
        #expect(c.wechat[0].aesKey != nil && c.wechat[0].mode == .safe && c.wechat[1].mode == .plain)
        #expect(try load("{}", env: [:]).get().wechat.isEmpty)
    }

    @Test func badAccountsStopStartUpWithTheOtherProblems() {
        let file = #"{"http": "nope", "wechat": [{"account": "main", "appid": "wx1", "token": "Hotline12345Token", "mode": "safe"}]}"#
        guard case .failure(let e) = load(file, env: [:]) else { Issue.record("a bad wechat entry was accepted"); return }
        #expect(!e.description.contains("\n"))
        #expect(e.description.contains(#"config file c.json: "http""#))
        #expect(e.description.contains(#"config file c.json: "wechat"[0] "main".token: write "env:NAME" or "file:/path", not the secret itself"#))
        #expect(e.description.contains(#"config file c.json: "wechat"[0] "main".aesKey: is required"#))
        #expect(!e.description.contains("Hotline12345Token"))
    }
}
