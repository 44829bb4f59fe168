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
}
