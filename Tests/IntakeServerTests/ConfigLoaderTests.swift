// The configuration: defaults, flags, INTAKE_* environment variables and the JSON file, their
// precedence, secrets from the environment, and every problem reported at once.
import Testing
import IntakeServer
import IntakeCore
import IntakeNet

@Suite(.timeLimit(.minutes(5)))
struct ConfigLoaderTests {
    func load(_ args: [String], env: [String: String] = [:], files: [String: String] = [:]) -> Result<ServerConfig, ConfigError> {
        ConfigLoader.load(arguments: args, environment: env, readFile: { files[$0].map { Array($0.utf8) } })
    }

    @Test func defaultsMatchTheContract() throws {
        let c = try load([]).get()
        #expect(c.dataDir == "./data")
        #expect(c.http == Endpoint(host: "127.0.0.1", port: 8080))
        #expect(c.tcp == Endpoint(host: "127.0.0.1", port: 7070))
        #expect(c.fsync == "always")
        #expect(c.maxHeaderBytes == 16384 && c.maxBodyBytes == 1 << 20)
        #expect(c.retentionSeconds == 30 * 86400)
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheFile() throws {
        let file = #"{"http": "127.0.0.1:1000", "tcp": "127.0.0.1:2000", "dataDir": "/from/file", "loops": 3, "fsync": "never"}"#
        let c = try load(["--config", "c.json", "--http=127.0.0.1:1111", "--data-dir", "/from/flag"],
                         env: ["INTAKE_HTTP": "127.0.0.1:3333", "INTAKE_TCP": "127.0.0.1:4444", "INTAKE_FSYNC": "batch:5"],
                         files: ["c.json": file]).get()
        #expect(c.http.port == 1111)
        #expect(c.tcp.port == 4444)
        #expect(c.dataDir == "/from/flag")
        #expect(c.loops == 3)
        #expect(c.fsync == "batch:5")
    }

    @Test func secretsComeFromTheEnvironment() throws {
        let file = #"{"adminToken": "env:ADMIN", "apps": [{"account": "cityapp", "key": "env:APPKEY", "webhook": "http://127.0.0.1:9/x"}]}"#
        let c = try load(["--config", "c.json"], env: ["ADMIN": "admin-token-0123456789", "APPKEY": "app-key-0123456789abc"], files: ["c.json": file]).get()
        #expect(c.adminToken == "admin-token-0123456789")
        #expect(c.apps == [AppAccount(account: "cityapp", key: "app-key-0123456789abc", webhook: "http://127.0.0.1:9/x")])
        let missing = load(["--config", "c.json"], env: ["ADMIN": "admin-token-0123456789"], files: ["c.json": file])
        guard case .failure(let e) = missing else { Issue.record("a missing secret must fail"); return }
        #expect(e.description.contains("APPKEY is not set"))
    }

    @Test func everyProblemIsListedOnOneLine() {
        let r = load(["--http", "nope", "--loops", "0", "--fsync", "sometimes", "--bogus", "1", "--retention", "5s", "--max-body-bytes", "lots"])
        guard case .failure(let e) = r else { Issue.record("bad config accepted"); return }
        #expect(e.problems.count == 6, "\(e.problems)")
        #expect(!e.description.contains("\n"))
        for fragment in ["--http: 'nope' is not HOST:PORT", "--loops", "--fsync", "unknown flag --bogus", "--retention", "--max-body-bytes"] {
            #expect(e.description.contains(fragment), "\(fragment) missing from \(e.description)")
        }
    }

    @Test func badConfigFilesAreReported() {
        guard case .failure(let e1) = load(["--config", "c.json"], files: ["c.json": "{\"http\": "]) else { Issue.record("truncated JSON accepted"); return }
        #expect(e1.description.contains("config file c.json"))
        guard case .failure(let e2) = load(["--config", "missing.json"]) else { Issue.record("missing file accepted"); return }
        #expect(e2.description.contains("cannot be read"))
        guard case .failure(let e3) = load(["--config", "c.json"], files: ["c.json": #"{"htp": "127.0.0.1:1"}"#]) else { Issue.record("unknown key accepted"); return }
        #expect(e3.description.contains("\"htp\": unknown key"))
        guard case .failure(let e4) = load(["--config", "c.json"], files: ["c.json": #"{"apps": [{"account": "a", "key": "short"}]}"#]) else { Issue.record("short key accepted"); return }
        #expect(e4.description.contains("at least 16"))
    }

    @Test func theRoutingSectionSetsTheRouterSessionsAndRules() throws {
        let file = #"""
        {"routing": {"offerTimeoutSeconds": 15, "graceSeconds": 45, "maxConsecutiveTimeouts": 3, "stickySeconds": 600,
                     "starvationSeconds": 0, "chatBlocksVoice": true, "reopenWindowSeconds": 300, "inactivitySeconds": 900,
                     "inactivityMessage": "bye", "wrapUpSeconds": 30, "firstMessages": 2,
                     "relaxation": [{"afterSeconds": 60, "lowerProficiencyBy": 1}, {"afterSeconds": 180, "overflowSkill": "general"}],
                     "rules": [{"name": "ent", "match": {"keywords": ["企业"]}, "skills": ["enterprise"], "priority": 4}],
                     "emergency": {"keywords": ["火灾"], "skills": {"emergency": 3}}}}
        """#
        let c = try load(["--config", "c.json"], files: ["c.json": file]).get()
        let r = c.routing
        #expect(r.router.offerTimeoutMillis == 15_000 && r.router.graceMillis == 45_000 && r.router.maxConsecutiveTimeouts == 3)
        #expect(r.router.stickyMillis == 600_000 && r.router.defaultStarvationLimitMillis == nil && r.router.chatBlocksVoice)
        #expect(r.router.relaxation == [RelaxationStep(afterMillis: 60_000, .lowerProficiency(by: 1)),
                                        RelaxationStep(afterMillis: 180_000, .addOverflowSkill("general", minProficiency: 1))])
        #expect(r.reopenWindowSeconds == 300 && r.inactivitySeconds == 900 && r.inactivityMessage == "bye" && r.wrapUpSeconds == 30)
        #expect(r.firstMessages == 2 && r.rules.rules.map(\.name) == ["ent"] && r.rules.emergency.keywords == ["火灾"])
        #expect(r.rules.emergency.skills == [SkillNeed("emergency", 3)])
        // The defaults.
        let d = try load([]).get().routing
        #expect(d.router.offerTimeoutMillis == 20_000 && d.router.graceMillis == 30_000 && d.reopenWindowSeconds == 600)
        #expect(d.inactivitySeconds == 1800 && d.wrapUpSeconds == 0 && d.rules.emergency.keywords == EmergencyClass.defaultKeywords)
    }

    @Test(arguments: [
        (#"{"routing": {"offerTimeoutSeconds": 0}}"#, "routing.offerTimeoutSeconds: must be a number of seconds > 0"),
        (#"{"routing": {"graceSeconds": -1}}"#, "routing.graceSeconds: must be a number of seconds >= 0"),
        (#"{"routing": {"offerTimeout": 5}}"#, "routing.offerTimeout: unknown key"),
        (#"{"routing": {"maxConsecutiveTimeouts": 0}}"#, "routing.maxConsecutiveTimeouts: must be an integer from 1 to 100"),
        (#"{"routing": {"relaxation": [{"afterSeconds": 60, "lowerProficiencyBy": 1}, {"afterSeconds": 30, "lowerProficiencyBy": 1}]}}"#,
         "routing: relaxation[1].afterMillis must increase and be > 0"),
        (#"{"routing": {"relaxation": [{"afterSeconds": 60}]}}"#, "routing.relaxation[0]: needs lowerProficiencyBy (1-4) or overflowSkill (a skill name)"),
        (#"{"routing": {"rules": [{"name": "x", "priority": 12}]}}"#, "routing.rules[0].priority: must be an integer from 0 to 9"),
        (#"{"routing": {"emergency": {"keywords": "火灾"}}}"#, "routing.emergency.keywords: must be an array of non-empty strings ([] turns the class off)"),
        (#"{"routing": []}"#, "routing: must be an object"),
    ])
    func badRoutingValuesAreNamed(_ file: String, _ problem: String) {
        guard case .failure(let e) = load(["--config", "c.json"], files: ["c.json": file]) else { Issue.record("accepted: \(file)"); return }
        #expect(e.description.contains("config file c.json: " + problem), "\(e.description)")
    }

    @Test func durationsAndSizes() {
        #expect(ConfigLoader.parseDuration("30d") == 2_592_000.0)
        #expect(ConfigLoader.parseDuration("500ms") == 0.5)
        #expect(ConfigLoader.parseDuration("10") == 10)
        #expect(ConfigLoader.parseDuration("-1s") == nil)
        #expect(ConfigLoader.parseDuration("abc") == nil)
        #expect(ConfigLoader.parseBytes("16KiB") == 16384)
        #expect(ConfigLoader.parseBytes("1MiB") == 1 << 20)
        #expect(ConfigLoader.parseBytes("12") == 12)
        #expect(ConfigLoader.parseBytes("1.5MiB") == nil)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct SampleConfigTests {
    /// The documented sample must stay loadable: every key known, every value valid.
    @Test func theSampleConfigLoads() throws {
        let repo = String(#filePath).components(separatedBy: "/Tests/")[0]
        let path = repo + "/Ops/samples/config.json"
        let env = ["INTAKE_ADMIN_TOKEN": "admin-token-0123456789", "CITYAPP_KEY": "cityapp-key-0123456789",
                   "WX_TOKEN": "Hotline12345Token", "WX_AES_KEY": "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ",
                   "WX_SECRET": "0123456789abcdef0123456789abcdef"]
        let c = try ConfigLoader.load(arguments: ["--config", path], environment: env, readFile: ProcessEnvironment.readFile).get()
        #expect(c.dataDir == "/var/lib/intake")
        #expect(c.apps.map(\.account) == ["cityapp"])
        #expect(c.wechat.map(\.name) == ["main"])
        #expect(c.maxHeaderBytes == 16384)
        #expect(c.retentionSeconds == 30 * 86400)
        #expect(c.tlsCert == nil && c.tlsKey == nil && c.tlsContext == nil && !c.tcpTLS)  // listed, empty: TLS off
        #expect(c.routing.router.offerTimeoutMillis == 20_000 && c.routing.reopenWindowSeconds == 600)
        #expect(c.routing.rules.rules.count >= 2 && c.routing.rules.emergency.keywords == EmergencyClass.defaultKeywords)
    }
}

// MARK: - TLS settings

extension ConfigLoaderTests {
    /// Files the TLS tests read: two P-256 key pairs, the first with its self-signed
    /// certificate (CN intake-fixture-one, serial 0x1001, valid until 2126). Test-only keys.
    var tlsFiles: [String: String] {
        ["one.crt": TLSFixtures.certificateOne, "one.key": TLSFixtures.keyOne, "two.key": TLSFixtures.keyTwo,
         "garbage.pem": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "empty.pem": ""]
    }

    func tlsProblem(_ args: [String], env: [String: String] = [:]) -> String? {
        guard case .failure(let e) = load(args, env: env, files: tlsFiles) else { return nil }
        #expect(!e.description.contains("\n"), "one line for stderr")
        return e.description
    }

    @Test func aCertificateAndItsKeyMakeATLSContext() throws {
        let c = try load(["--tls-cert", "one.crt", "--tls-key", "one.key"], files: tlsFiles).get()
        #expect(c.tlsCert == "one.crt" && c.tlsKey == "one.key" && !c.tcpTLS)
        let info = try #require(c.tlsContext).certificate
        #expect(info.subject == "/CN=intake-fixture-one")
        #expect(info.serial == "1001")
        #expect(info.notAfterEpochSeconds > 4_000_000_000)  // 2126
        // The same from the environment and from the config file; empty means "not set".
        let env = try load([], env: ["INTAKE_TLS_CERT": "one.crt", "INTAKE_TLS_KEY": "one.key", "INTAKE_TCP_TLS": "true"], files: tlsFiles).get()
        #expect(env.tlsContext != nil && env.tcpTLS)
        var files = tlsFiles
        files["c.json"] = #"{"tlsCert": "one.crt", "tlsKey": "one.key"}"#
        #expect(try load(["--config", "c.json"], files: files).get().tlsContext != nil)
        files["c.json"] = #"{"tlsCert": "", "tlsKey": ""}"#
        #expect(try load(["--config", "c.json"], files: files).get().tlsContext == nil)
        #expect(try load([]).get().tlsContext == nil)
    }

    @Test func oneTLSFileWithoutTheOtherIsAnError() {
        #expect(tlsProblem(["--tls-cert", "one.crt"])?.contains("--tls-cert one.crt is set but --tls-key is not") == true)
        #expect(tlsProblem([], env: ["INTAKE_TLS_KEY": "one.key"])?.contains("--tls-key one.key is set but --tls-cert is not") == true)
        #expect(tlsProblem(["--tcp-tls", "true"])?.contains("--tcp-tls needs --tls-cert and --tls-key") == true)
        #expect(tlsProblem(["--tcp-tls", "yes"])?.contains("--tcp-tls: 'yes' is not true or false") == true)
    }

    @Test func aMissingKeyFileIsNamed() {
        let p = tlsProblem(["--tls-cert", "one.crt", "--tls-key", "missing.key"])
        #expect(p?.contains("--tls-key missing.key cannot be read") == true, "\(p ?? "accepted")")
        let both = tlsProblem(["--tls-cert", "nope.crt", "--tls-key", "missing.key"])
        #expect(both?.contains("--tls-cert nope.crt cannot be read") == true && both?.contains("--tls-key missing.key cannot be read") == true)
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefused() {
        let p = tlsProblem(["--tls-cert", "one.crt", "--tls-key", "two.key"])
        #expect(p?.contains("--tls-key two.key does not belong to --tls-cert one.crt: the private key does not match the certificate") == true,
                "\(p ?? "accepted")")
    }

    @Test func filesThatAreNotPEMAreRefused() {
        #expect(tlsProblem(["--tls-cert", "garbage.pem", "--tls-key", "one.key"])?.contains("--tls-cert garbage.pem: no usable PEM certificate") == true)
        #expect(tlsProblem(["--tls-cert", "empty.pem", "--tls-key", "one.key"])?.contains("--tls-cert empty.pem: no usable PEM certificate") == true)
        #expect(tlsProblem(["--tls-cert", "one.crt", "--tls-key", "empty.pem"])?.contains("--tls-key empty.pem: no usable PEM private key") == true)
        // A certificate where the key should be, and the other way round.
        #expect(tlsProblem(["--tls-cert", "one.crt", "--tls-key", "one.crt"])?.contains("no usable PEM private key") == true)
        #expect(tlsProblem(["--tls-cert", "one.key", "--tls-key", "one.key"])?.contains("no usable PEM certificate") == true)
    }
}

enum TLSFixtures {
    static let certificateOne = """
        -----BEGIN CERTIFICATE-----
        MIIBfjCCASWgAwIBAgICEAEwCgYIKoZIzj0EAwIwHTEbMBkGA1UEAwwSaW50YWtl
        LWZpeHR1cmUtb25lMCAXDTI2MTEyMjA1MzU0MVoYDzIxMjYxMDI5MDUzNTQxWjAd
        MRswGQYDVQQDDBJpbnRha2UtZml4dHVyZS1vbmUwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAAS12JUbrnItc/3DIgdIWtCzNaoJzgpAkVScXj37e1CXAy3m9S0aj1aP
        gVDXW8MklijGVSsSsQSv1DXeU4oL6utwo1MwUTAdBgNVHQ4EFgQUEZe6sP9326JV
        LnITZ+dxwORMpX0wHwYDVR0jBBgwFoAUEZe6sP9326JVLnITZ+dxwORMpX0wDwYD
        VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAnbypTgC6aO7dman5Rz5dv
        91xMlisWbdIOrDwpTaxtrAIgbHeWyBYgPcucC4oyqPb6YRIE/Iz2+yFnGic3+z7f
        8eU=
        -----END CERTIFICATE-----
        """
    static let keyOne = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/MTHfBttyiHcQN5D
        Q0A3wTfHWktUnXGu8OnGqaZ+04GhRANCAAS12JUbrnItc/3DIgdIWtCzNaoJzgpA
        kVScXj37e1CXAy3m9S0aj1aPgVDXW8MklijGVSsSsQSv1DXeU4oL6utw
        -----END PRIVATE KEY-----
        """
    static let keyTwo = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMkAmA1wYFvvcLidz
        upTuvcGXpLGX0UZ8mYonVqiLjGGhRANCAARMb8WLwH8n22cu9mqEn6BcHSQ0D/BY
        /8vPaIkXogeNS7eQ+Uvmsm6etXx73hnVp4B42FBYcdpL/gfGBuPIJec3
        -----END PRIVATE KEY-----
        """
}
