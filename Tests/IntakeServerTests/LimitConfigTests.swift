// The limits' settings and rules without sockets: their configuration (defaults, flags,
// environment, file keys, every bad value named), the token bucket against a fake clock, and the
// open-session rule the core asks.
import Testing
import IntakeCore
@testable import IntakeServer

@Suite(.timeLimit(.minutes(5)))
struct LimitConfigTests {
    func load(_ args: [String], env: [String: String] = [:], files: [String: String] = [:]) -> Result<ServerConfig, ConfigError> {
        ConfigLoader.load(arguments: args, environment: env, readFile: { files[$0].map { Array($0.utf8) } })
    }

    @Test func defaults() throws {
        let c = try load([]).get()
        #expect(c.maxConnections == 100_000 && c.maxConnectionsPerIP == 256)
        #expect(c.httpRate == RateLimit(perSecond: 100, burst: 200))
        #expect(c.wsRate == RateLimit(perSecond: 20, burst: 60))
        #expect(c.tcpRate == RateLimit(perSecond: 5000, burst: 10_000))
        #expect(c.maxOpenSessions == 100_000 && c.maxOpenSessionsPerCitizen == 3)
    }

    @Test func flagsEnvironmentAndFileKeys() throws {
        let flags = try load(["--max-connections-per-ip", "0", "--http-rate-limit", "2.5", "--http-rate-burst", "5",
                              "--ws-rate-limit", "0", "--tcp-rate-burst", "7", "--max-open-sessions", "10",
                              "--max-open-sessions-per-citizen", "2"]).get()
        #expect(flags.maxConnectionsPerIP == 0)
        #expect(flags.httpRate == RateLimit(perSecond: 2.5, burst: 5))
        #expect(flags.wsRate.isOff && flags.wsRate.burst == 60)
        #expect(flags.tcpRate == RateLimit(perSecond: 5000, burst: 7))
        #expect(flags.maxOpenSessions == 10 && flags.maxOpenSessionsPerCitizen == 2)

        let env = try load([], env: ["INTAKE_MAX_CONNECTIONS_PER_IP": "8", "INTAKE_WS_RATE_LIMIT": "3", "INTAKE_WS_RATE_BURST": "4",
                                     "INTAKE_TCP_RATE_LIMIT": "0", "INTAKE_MAX_OPEN_SESSIONS_PER_CITIZEN": "1"]).get()
        #expect(env.maxConnectionsPerIP == 8 && env.wsRate == RateLimit(perSecond: 3, burst: 4) && env.tcpRate.isOff)
        #expect(env.maxOpenSessionsPerCitizen == 1)

        let file = #"{"maxConnectionsPerIP": 16, "httpRateLimit": 50, "httpRateBurst": 80, "wsRateLimit": 0.5, "wsRateBurst": 2,"#
            + #" "tcpRateLimit": 1000, "tcpRateBurst": 2000, "maxOpenSessions": 500, "maxOpenSessionsPerCitizen": 5}"#
        let f = try load(["--config", "c.json"], files: ["c.json": file]).get()
        #expect(f.maxConnectionsPerIP == 16)
        #expect(f.httpRate == RateLimit(perSecond: 50, burst: 80) && f.wsRate == RateLimit(perSecond: 0.5, burst: 2))
        #expect(f.tcpRate == RateLimit(perSecond: 1000, burst: 2000))
        #expect(f.maxOpenSessions == 500 && f.maxOpenSessionsPerCitizen == 5)
        // The key is spelled maxConnectionsPerIP; the mechanical camelCase is not a second name.
        guard case .failure(let e) = load(["--config", "c.json"], files: ["c.json": #"{"maxConnectionsPerIp": 3}"#]) else {
            Issue.record("maxConnectionsPerIp accepted"); return
        }
        #expect(e.description.contains("\"maxConnectionsPerIp\": unknown key"))
    }

    @Test func badValuesAreNamedAllAtOnce() {
        let r = load(["--max-connections-per-ip", "-1", "--http-rate-limit", "fast", "--http-rate-burst", "0",
                      "--ws-rate-limit", "-2", "--tcp-rate-burst", "1.5", "--max-open-sessions", "0",
                      "--max-open-sessions-per-citizen", "x"])
        guard case .failure(let e) = r else { Issue.record("bad limits accepted"); return }
        #expect(e.problems.count == 7, "\(e.problems)")
        for fragment in ["--max-connections-per-ip: '-1' is not a whole number from 0 (no limit)",
                         "--http-rate-limit: 'fast' is not a rate from 0 (no limit)",
                         "--http-rate-burst: '0' is not a whole number from 1",
                         "--ws-rate-limit: '-2'", "--tcp-rate-burst: '1.5'",
                         "--max-open-sessions: '0' is not a whole number from 1", "--max-open-sessions-per-citizen: 'x'"] {
            #expect(e.description.contains(fragment), "\(fragment) missing from \(e.description)")
        }
        guard case .failure(let cross) = load(["--max-open-sessions", "2", "--max-open-sessions-per-citizen", "3"]) else {
            Issue.record("per-citizen above total accepted"); return
        }
        #expect(cross.description.contains("--max-open-sessions-per-citizen (3) must not exceed --max-open-sessions (2)"))
    }

    @Test func theHelpListsEveryLimit() {
        for flag in ["--max-connections-per-ip", "--http-rate-limit", "--http-rate-burst", "--ws-rate-limit", "--ws-rate-burst",
                     "--tcp-rate-limit", "--tcp-rate-burst", "--max-open-sessions", "--max-open-sessions-per-citizen"] {
            #expect(ConfigLoader.usage.contains(flag), "\(flag)")
        }
    }

    @Test func theSampleConfigSetsTheLimitsToTheirDefaults() throws {
        let repo = String(#filePath).components(separatedBy: "/Tests/")[0]
        let env = ["INTAKE_ADMIN_TOKEN": "admin-token-0123456789", "CITYAPP_KEY": "cityapp-key-0123456789",
                   "WX_TOKEN": "Hotline12345Token", "WX_AES_KEY": "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ",
                   "WX_SECRET": "0123456789abcdef0123456789abcdef"]
        let c = try ConfigLoader.load(arguments: ["--config", repo + "/Ops/samples/config.json"], environment: env,
                                      readFile: ProcessEnvironment.readFile).get()
        let d = ServerConfig()
        #expect(c.maxConnectionsPerIP == d.maxConnectionsPerIP)
        #expect(c.httpRate == d.httpRate && c.wsRate == d.wsRate && c.tcpRate == d.tcpRate)
        #expect(c.maxOpenSessions == d.maxOpenSessions && c.maxOpenSessionsPerCitizen == d.maxOpenSessionsPerCitizen)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct TokenBucketTests {
    static let second: UInt64 = 1_000_000_000

    /// A bucket and its operations as plain functions (the #expect macro cannot mutate).
    final class Bucket {
        var b: TokenBucket
        init(_ limit: RateLimit, now: UInt64) { b = TokenBucket(limit, now: now) }
        func take(_ now: UInt64) -> Bool { b.take(now: now) }
        func wait(_ now: UInt64) -> UInt64 { b.nanosUntilToken(now: now) }
    }

    @Test func aFullBucketTakesTheBurstThenRefillsAtTheRate() {
        let t0: UInt64 = 5 * Self.second
        let b = Bucket(RateLimit(perSecond: 4, burst: 3), now: t0)
        #expect((0..<3).allSatisfy { _ in b.take(t0) })
        #expect(!b.take(t0))
        #expect(b.wait(t0) == Self.second / 4)
        #expect(!b.take(t0 + Self.second / 4 - 1))
        #expect(b.take(t0 + Self.second / 4))
        // Idle for an hour: back to the burst, never more.
        let later = t0 + 3600 * Self.second
        #expect((0..<3).allSatisfy { _ in b.take(later) })
        #expect(!b.take(later))
    }

    @Test func aClockThatGoesBackAddsNothing() {
        let t0: UInt64 = 10 * Self.second
        let b = Bucket(RateLimit(perSecond: 1, burst: 1), now: t0)
        #expect(b.take(t0))
        #expect(!b.take(t0 - Self.second))
        #expect(!b.take(t0 + Self.second / 2))
        #expect(b.take(t0 + Self.second))
    }

    @Test func slowRatesAndRetryAfter() {
        let b = Bucket(RateLimit(perSecond: 0.5, burst: 1), now: 0)
        #expect(b.take(0))
        #expect(!b.take(0))
        let wait = b.wait(0)
        #expect(wait == 2 * Self.second)
        #expect(wait.retryAfterSeconds == 2 && wait.retryAfterMillis == 2000)
        #expect(UInt64(1).retryAfterSeconds == 1 && UInt64(1).retryAfterMillis == 1)
        #expect(RateLimit.off.bucket() == nil && RateLimit.off.isOff)
        #expect(RateKind.tcp.message(RateLimit(perSecond: 0.5, burst: 1), retryAfterNanos: wait)
            == "more than 0.5 lines a second (burst 1) on this connection; retry in 2000 ms")
    }
}

@Suite(.timeLimit(.minutes(5)))
struct SessionLimitTests {
    @Test func theTotalComesFirstThenTheCitizen() {
        let limits = SessionLimits(maxOpen: 10, maxOpenPerCitizen: 2)
        #expect(limits.refusal(openTotal: 0, openForCitizen: 0) == nil)
        #expect(limits.refusal(openTotal: 9, openForCitizen: 1) == nil)
        let full = limits.refusal(openTotal: 10, openForCitizen: 0)
        #expect(full?.code == "unavailable" && full?.status.code == 503)
        let citizen = limits.refusal(openTotal: 3, openForCitizen: 2)
        #expect(citizen?.code == "too_many_sessions" && citizen?.status.code == 429)
        #expect(citizen?.message.contains("at most 2") == true)
        #expect(SessionLimits(config: ServerConfig()) == SessionLimits(maxOpen: 100_000, maxOpenPerCitizen: 3))
    }

    @Test func theCoresCheckRefusesOnlyANewSessionOverTheTotal() {
        func envelope(_ cmid: String, citizen: String) -> Envelope {
            Envelope(channel: .app, account: "cityapp", channelMessageId: cmid, citizen: citizen, kind: .text, text: "hi")
        }
        var state = BrokerState()
        for (cmid, citizen) in [("m1", "a"), ("m2", "b")] { _ = state.ingest(envelope(cmid, citizen: citizen), now: 1_000) }
        let limits = SessionLimits(maxOpen: 2, maxOpenPerCitizen: 1)
        func check(_ e: Envelope) -> ClientError? { limits.refusal(for: e, dedupeKey: e.dedupeKey, in: state) }
        #expect(check(envelope("m3", citizen: "a")) == nil, "to an open session")
        #expect(check(envelope("m1", citizen: "a")) == nil, "a repeat")
        #expect(check(envelope("m4", citizen: "c"))?.code == "unavailable", "a third session over a total of 2")
        #expect(SessionLimits(maxOpen: 3, maxOpenPerCitizen: 1).refusal(for: envelope("m4", citizen: "c"), dedupeKey: envelope("m4", citizen: "c").dedupeKey, in: state) == nil)
    }
}
