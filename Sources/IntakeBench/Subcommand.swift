// The subcommand table's element type and the options several load generators share.
// Adding a benchmark = one file with a `Subcommand` value, listed in main.swift. Main thread only.

/// One `intake-bench` subcommand.
struct Subcommand: Sendable {
    let name: String
    /// Synopsis after the name, shown by `help`.
    let synopsis: String
    let summary: String
    let options: [OptionSpec]
    /// Returns the process exit code: 0 on success, 1 when the benchmark saw errors.
    let run: @Sendable (Args) throws(UsageError) -> Int32
}

/// Options and their parsing shared by the WebSocket subcommands.
enum WSOptions {
    static let url = OptionSpec("--url", "ws://127.0.0.1:PORT/PATH (loopback only; required)")
    static let connections = OptionSpec("--connections", alias: "-c", "connections (1..60000)")
    static let threads = OptionSpec("--threads", alias: "-t", "client threads, one epoll loop each (default: cores)")
    static let size = OptionSpec("--size", "message body bytes reached by {pad} (default 128)")
    static let message = OptionSpec("--message", "body template: {c} connection, {n} sequence, {pad} padding (default: ws-loadgen's)")
    static let hello = OptionSpec("--hello", "template sent once after the upgrade; its reply is awaited, not counted")
    static let replyMatch = OptionSpec("--reply-match", "only data frames containing TEXT count as replies (others: unsolicited)")
    static let serverPid = OptionSpec("--server-pid", "server process: CPU (and RSS for ws-idle) from /proc")
    static let connectBatch = OptionSpec("--connect-batch", "connection attempts in flight per thread (default 500)")
    static let common = [url, connections, threads, size, message, hello, replyMatch, serverPid, connectBatch]

    static let maxConnections = 60000
    static let maxDurationS = 3600.0

    /// Builds the settings of a WebSocket run from the common options.
    static func settings(_ args: Args, endpoint: Endpoint) throws(UsageError) -> LoopSettings {
        let size = try args.int("--size", default: 128, in: 0...(1 << 20))
        return LoopSettings(
            endpoint: endpoint,
            message: MessageTemplate(args.string("--message") ?? MessageTemplate.defaultText, size: size),
            hello: args.string("--hello").map { MessageTemplate($0, size: size) },
            replyMatch: args.string("--reply-match").map { Array($0.utf8) },
            connectBatch: try args.int("--connect-batch", default: 500, in: 1...60000))
    }

    static func threads(_ args: Args) throws(UsageError) -> Int {
        try args.int("--threads", default: ProcStats.onlineCores(), in: 1...256)
    }
}
