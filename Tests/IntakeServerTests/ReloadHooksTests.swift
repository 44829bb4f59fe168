// SIGHUP's reload list: every action runs, in order, whatever the others did; failures are
// reported by name. (The TLS certificate reload itself is tested end to end in
// Tests/interop/test_tls.py, with real certificates and a real SIGHUP.)
import Testing
import Synchronization
@testable import IntakeServer

@Suite(.timeLimit(.minutes(5)))
struct ReloadHooksTests {
    @Test func everyActionRunsInOrderAndFailuresAreNamed() {
        let hooks = ReloadHooks()
        let ran = Mutex<[String]>([])
        hooks.add("first") { ran.withLock { $0.append("first") }; return "file missing" }
        hooks.add("second") { ran.withLock { $0.append("second") }; return nil }
        hooks.add("third") { ran.withLock { $0.append("third") }; return "bad key" }
        #expect(hooks.names == ["first", "second", "third"])
        #expect(hooks.reloadAll() == ["first", "third"])
        #expect(ran.withLock { $0 } == ["first", "second", "third"])
        #expect(hooks.reloadAll() == ["first", "third"])  // and again on the next SIGHUP
        #expect(ran.withLock { $0 }.count == 6)
    }

    @Test func aServerWithoutTLSHasNothingToReload() throws {
        var config = ServerConfig()
        config.http = .init(host: "127.0.0.1", port: 0)
        config.tcp = .init(host: "127.0.0.1", port: 0)
        config.loops = 1
        let server = try Server(config: config)
        defer { server.shutdown() }
        #expect(server.reloaders.names.isEmpty)
        #expect(server.reloaders.reloadAll().isEmpty)
    }

    @Test func aServerWithTLSReloadsItsCertificate() throws {
        var config = try ConfigLoader.load(
            arguments: ["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--loops", "1", "--tls-cert", "one.crt", "--tls-key", "one.key"],
            environment: [:],
            readFile: { ["one.crt": TLSFixtures.certificateOne, "one.key": TLSFixtures.keyOne][$0].map { Array($0.utf8) } }).get()
        config.shutdownGraceSeconds = 0
        let server = try Server(config: config)
        defer { server.shutdown() }
        #expect(server.reloaders.names == ["tls_certificate"])
        // The files named in the configuration do not exist on disk: the reload fails and
        // says so, and the server keeps its certificate.
        #expect(server.reloaders.reloadAll() == ["tls_certificate"])
    }
}
