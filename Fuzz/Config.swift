// Fuzz target `config`: ConfigLoader.load (IntakeServer/Config, built here on its own: see
// Ops/scripts/fuzz) with a fixed environment and an injected file reader.
//
// Input: byte 0 bit 0 clear: the rest is the JSON config file (`--config /etc/intake.json`);
// set: the rest is argv, NUL-separated (so the flag parser and `--config` are fuzzed too, with
// the same file content available at /etc/intake.json as the other mode's seeds).
// Invariants beyond "never crashes":
// - deterministic: loading twice gives the same result;
// - a configuration that loads is one the server can run with: every limit within its
//   documented range, every duration positive and convertible the way the server converts it
//   (seconds × 1e9 into a UInt64 of nanoseconds; retention into milliseconds in an Int64), the
//   two listeners distinct, WeChat accounts unique and keyed unless plain;
// - a failure names at least one problem, each on one line.
import IntakeServer
import IntakeJSON

private let environment: [String: String] = [
    "INTAKE_CONFIG_UNUSED": "x",
    "APP_KEY": "app-key-0123456789abcdef",
    "ADMIN_TOKEN": "admin-token-0123456789",
    "WX_TOKEN": "Hotline12345Token",
    "WX_AES": "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ",
    "WX_SECRET": "0123456789abcdef0123456789abcdef",
    "EMPTY": "",
    // What Ops/samples/config.json names, so the sample (a seed) loads.
    "INTAKE_ADMIN_TOKEN": "admin-token-0123456789", "CITYAPP_KEY": "cityapp-key-0123456789", "WX_AES_KEY": "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ",
]

private let sampleFile = Array(#"{"http":"127.0.0.1:8080","tcp":"127.0.0.1:7070","apps":[{"account":"app1","key":"env:APP_KEY"}]}"#.utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(fuzzBytes(data, size))
    let argvMode = input.byte() & 1 == 1
    let rest = input.rest()
    let file = argvMode ? sampleFile : rest
    let arguments: [String] = argvMode
        ? rest.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        : ["--config", "/etc/intake.json"]
    let readFile: (String) -> [UInt8]? = { path in
        switch path {
        case "/etc/intake.json": return file
        case "/run/secrets/wx-token": return Array("  Hotline12345Token\n".utf8)
        case "/run/secrets/not-utf8": return [0xFF, 0xFE]
        default: return nil
        }
    }
    let first = ConfigLoader.load(arguments: arguments, environment: environment, readFile: readFile)
    let second = ConfigLoader.load(arguments: arguments, environment: environment, readFile: readFile)
    switch (first, second) {
    case (.success(let a), .success(let b)):
        check(summary(a) == summary(b), "two loads of the same input differ")
        checkUsable(a)
    case (.failure(let a), .failure(let b)):
        check(a == b, "two loads of the same input fail differently")
        check(!a.problems.isEmpty, "a failure with no problem named")
        check(a.problems.allSatisfy { !$0.contains("\n") && !$0.contains("\r") }, "a problem spans lines: \(a.problems)")
    default:
        fatalError("FUZZ INVARIANT: one load succeeded, the other failed")
    }
    return 0
}

/// What the server does with the values (ServerContext, Server, EventLoopGroup, BrokerCore,
/// LogStore.compact) must not trap.
private func checkUsable(_ c: ServerConfig) {
    let durations: [(String, Double)] = [
        ("headerTimeout", c.headerTimeoutSeconds), ("idleTimeout", c.idleTimeoutSeconds),
        ("wsIdleTimeout", c.wsIdleTimeoutSeconds), ("tcpIdleTimeout", c.tcpIdleTimeoutSeconds),
        ("slowConsumerTimeout", c.slowConsumerSeconds), ("shutdownGrace", c.shutdownGraceSeconds),
    ]
    for (name, seconds) in durations {
        check(seconds.isFinite && seconds >= 0, "\(name) = \(seconds)")
        check(name == "shutdownGrace" || seconds > 0, "\(name) = \(seconds) is not positive")
        // The server computes UInt64(seconds * 1e9), which traps at 2^64.
        check(seconds * 1e9 < 18_446_744_073_709_551_615.0, "\(name) = \(seconds) s overflows nanoseconds in a UInt64")
    }
    // BrokerCore: .seconds(retention); compaction: now - (seconds * 1000), in Int64 milliseconds.
    check(c.retentionSeconds >= 60, "retention \(c.retentionSeconds) s")
    check(c.retentionSeconds <= Int64.max / 1000, "retention \(c.retentionSeconds) s overflows milliseconds")
    check((1024...(1 << 20)).contains(c.maxHeaderBytes), "maxHeaderBytes \(c.maxHeaderBytes)")
    check((1...(64 << 20)).contains(c.maxBodyBytes), "maxBodyBytes \(c.maxBodyBytes)")
    check((256...(64 << 20)).contains(c.maxLineBytes), "maxLineBytes \(c.maxLineBytes)")
    check((125...(64 << 20)).contains(c.maxMessageBytes), "maxMessageBytes \(c.maxMessageBytes)")
    check((4096...(1 << 30)).contains(c.outboundBufferBytes), "outboundBufferBytes \(c.outboundBufferBytes)")
    check((1...256).contains(c.loops), "loops \(c.loops)")
    check(c.maxConnections >= 1, "maxConnections \(c.maxConnections)")
    check(!c.dataDir.isEmpty, "empty dataDir")
    check(["always", "never"].contains(c.fsync) || c.fsync.hasPrefix("batch:"), "fsync \(c.fsync)")
    check(["debug", "info", "warning", "error"].contains(c.logLevel), "logLevel \(c.logLevel)")
    check((0...65535).contains(c.http.port) && (0...65535).contains(c.tcp.port), "ports \(c.http) \(c.tcp)")
    check(c.http.port == 0 || c.http != c.tcp, "http and tcp are the same endpoint \(c.http)")
    check((c.adminToken?.utf8.count ?? 16) >= 16, "admin token under 16 bytes")
    check(Set(c.apps.map(\.account)).count == c.apps.count, "duplicate app accounts")
    check(c.apps.allSatisfy { !$0.account.isEmpty && $0.key.utf8.count >= 16 }, "an app without account or with a short key")
    check(Set(c.wechat.map(\.name)).count == c.wechat.count, "duplicate WeChat account names")
    check(Set(c.wechat.map(\.appId)).count == c.wechat.count, "duplicate WeChat AppIDs")
    for w in c.wechat {
        check(w.mode == .plain || w.aesKey != nil, "WeChat account \(w.name) in \(w.mode) mode without a key")
        check(w.clockSkewSeconds >= 0 && w.replyDeadlineSeconds > 0 && w.replyDeadlineSeconds < 5, "WeChat timing of \(w.name)")
        check((3...32).contains(w.token.utf8.count), "WeChat token length of \(w.name)")
    }
}

private func summary(_ c: ServerConfig) -> String {
    "\(c.dataDir)|\(c.http)|\(c.tcp)|\(c.kb ?? "-")|\(c.agents ?? "-")|\(c.fsync)|\(c.loops)|\(c.retentionSeconds)|"
        + "\(c.maxHeaderBytes)|\(c.maxBodyBytes)|\(c.maxLineBytes)|\(c.maxMessageBytes)|\(c.headerTimeoutSeconds)|"
        + "\(c.idleTimeoutSeconds)|\(c.wsIdleTimeoutSeconds)|\(c.tcpIdleTimeoutSeconds)|\(c.maxConnections)|"
        + "\(c.outboundBufferBytes)|\(c.slowConsumerSeconds)|\(c.shutdownGraceSeconds)|\(c.logLevel)|\(c.adminToken ?? "-")|"
        + "\(c.apps.map { "\($0.account):\($0.key):\($0.webhook ?? "-")" })|\(c.wechat.map(\.description))|\(c.webRoot ?? "-")"
}
