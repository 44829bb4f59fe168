// Regression tests for what the fuzz target `config` found in ConfigLoader (Ops/scripts/fuzz,
// Fuzz/README.md): one named test per crash, with the fuzzer's input inline. Test-thread only.
import Testing
import IntakeServer

@Suite(.timeLimit(.minutes(1)))
struct ConfigFuzzRegressionTests {
    func load(_ args: [String], file: String? = nil) -> Result<ServerConfig, ConfigError> {
        ConfigLoader.load(arguments: args, environment: [:], readFile: { $0 == "c.json" ? file.map { Array($0.utf8) } : nil })
    }

    /// fuzz config, crash 1: input `95 0a` (argv mode, one argument: a newline). The problem
    /// "unexpected argument '\n'" spanned two lines, though the broker promises one stderr
    /// line naming every problem. Control characters in problems are now escapes.
    @Test func problemsStayOnOneLine() {
        guard case .failure(let e) = load(["\n"]) else { Issue.record("a newline argument was accepted"); return }
        #expect(e.problems == [#"unexpected argument '\n'"#])
        guard case .failure(let f) = load(["--config", "c.json"], file: #"{"http": "a\r\nb\u0001", "logLevel": "x\ty"}"#) else {
            Issue.record("a bad file was accepted"); return
        }
        #expect(f.problems == [#"config file c.json: "http": 'a\r\nb\u{1}' is not HOST:PORT"#,
                               #"config file c.json: "logLevel": 'x\ty' is not debug, info, warning or error"#])
        #expect(!f.description.contains("\n") && !f.description.contains("\r"))
    }

    /// fuzz config, crash 2: argv mode, among other flags `--retention 3111…1` (a 3 and 98
    /// ones): parseDuration gave 3.1e98 seconds and `Int64(seconds)` trapped in the loader. A
    /// `headerTimeout` of 1e11 s loaded, and trapped only at start-up (`UInt64(s * 1e9)`).
    /// Every duration is now at most 100 years.
    @Test func hugeDurationsAreRefusedNotTrappedOn() {
        let retention = "3" + String(repeating: "1", count: 98)
        guard case .failure(let e) = load(["--retention", retention]) else { Issue.record("accepted"); return }
        #expect(e.problems == ["--retention: '\(retention)' is not a duration from 1m to 100 years (e.g. 30d)"])
        guard case .failure(let f) = load(["--config", "c.json"], file: #"{"headerTimeout": "1e11", "retention": 1e300, "shutdownGrace": "36501d"}"#) else {
            Issue.record("accepted"); return
        }
        #expect(f.problems.count == 3)
        #expect(ConfigLoader.parseDuration("36500d") == ConfigLoader.maxDurationSeconds)
        #expect(ConfigLoader.parseDuration("36501d") == nil)
        #expect((try? load(["--retention", "36500d", "--idle-timeout", "1e9"]).get())?.retentionSeconds == 36_500 * 86_400)
    }
}
