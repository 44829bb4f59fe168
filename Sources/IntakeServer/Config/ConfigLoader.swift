// IntakeServer: turns argv, the environment and an optional JSON config file into a
// ServerConfig, collecting every problem instead of stopping at the first. Pure: the caller
// passes the environment and a file reader in, so it is tested without touching the process.
import IntakeJSON
import IntakeNet
import WeChatChannel

/// Every problem found in the configuration, each naming its source and the option.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var problems: [String]
    /// One line for stderr.
    public var description: String { "invalid configuration: " + problems.joined(separator: "; ") }
}

/// One settable option: its flag, what it means, and how a textual value is applied.
struct OptionSpec: Sendable {
    let flag: String
    let help: String
    /// The config file's key when it is not the flag in plain camelCase (`maxConnectionsPerIP`).
    var key: String? = nil
    let apply: @Sendable (inout ServerConfig, String) -> String?

    var envName: String { "INTAKE_" + flag.uppercased().replacingDashes() }
    var jsonKey: String {
        if let key { return key }
        var out = ""
        var upper = false
        for c in flag {
            if c == "-" { upper = true; continue }
            out.append(upper ? Character(c.uppercased()) : c)
            upper = false
        }
        return out
    }
}

extension OptionSpec {
    /// A positive duration ("30s", "10m", "500ms") stored in seconds.
    static func duration(_ flag: String, _ help: String, _ key: WritableKeyPath<ServerConfig, Double> & Sendable) -> OptionSpec {
        OptionSpec(flag: flag, help: help) { c, v in
            guard let s = ConfigLoader.parseDuration(v), s > 0 else { return "'\(v)' is not a positive duration of at most 100 years" }
            c[keyPath: key] = s
            return nil
        }
    }

    /// A size in bytes ("16KiB", "1MiB") within `range`.
    static func size(_ flag: String, _ help: String, _ key: WritableKeyPath<ServerConfig, Int> & Sendable,
                     _ range: ClosedRange<Int>, _ rangeText: String) -> OptionSpec {
        OptionSpec(flag: flag, help: help) { c, v in
            guard let n = ConfigLoader.parseBytes(v), range.contains(n) else { return "'\(v)' is not a size \(rangeText)" }
            c[keyPath: key] = n
            return nil
        }
    }
}

extension OptionSpec {
    /// A whole number within `range`.
    static func count(_ flag: String, _ help: String, _ key: WritableKeyPath<ServerConfig, Int> & Sendable,
                      _ range: ClosedRange<Int>, _ rangeText: String, jsonKey: String? = nil) -> OptionSpec {
        OptionSpec(flag: flag, help: help, key: jsonKey) { c, v in
            guard let n = Int(v), range.contains(n) else { return "'\(v)' is not a whole number \(rangeText)" }
            c[keyPath: key] = n
            return nil
        }
    }

    /// The average of a per-connection rate limit: messages a second, 0 for no limit.
    static func rate(_ flag: String, _ help: String, _ key: WritableKeyPath<ServerConfig, RateLimit> & Sendable) -> OptionSpec {
        OptionSpec(flag: flag, help: help) { c, v in
            guard let r = Double(v), r.isFinite, r >= 0, r <= 10_000_000 else {
                return "'\(v)' is not a rate from 0 (no limit) to 10000000 a second"
            }
            c[keyPath: key].perSecond = r
            return nil
        }
    }

    /// The burst of a per-connection rate limit: messages at once, at least 1.
    static func burst(_ flag: String, _ help: String, _ key: WritableKeyPath<ServerConfig, RateLimit> & Sendable) -> OptionSpec {
        OptionSpec(flag: flag, help: help) { c, v in
            guard let n = Int(v), (1...10_000_000).contains(n) else { return "'\(v)' is not a whole number from 1 to 10000000" }
            c[keyPath: key].burst = n
            return nil
        }
    }
}

extension String {
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}

public enum ConfigLoader {
    static let options: [OptionSpec] = [
        OptionSpec(flag: "data-dir", help: "directory of the durable store (created if missing)") { c, v in
            guard !v.isEmpty else { return "must not be empty" }
            c.dataDir = v; return nil
        },
        OptionSpec(flag: "http", help: "HOST:PORT for HTTP/1.1 and WebSocket (port 0 picks one)") { c, v in
            guard let e = Endpoint(parsing: v) else { return "'\(v)' is not HOST:PORT" }
            c.http = e; return nil
        },
        OptionSpec(flag: "tcp", help: "HOST:PORT for newline-delimited JSON over TCP") { c, v in
            guard let e = Endpoint(parsing: v) else { return "'\(v)' is not HOST:PORT" }
            c.tcp = e; return nil
        },
        OptionSpec(flag: "kb", help: "FAQ knowledge base (JSONL); default: the sample in the repo") { c, v in c.kb = v; return nil },
        OptionSpec(flag: "agents", help: "agent directory (JSON); default: the sample in the repo") { c, v in c.agents = v; return nil },
        OptionSpec(flag: "fsync", help: "always | batch:<milliseconds> | never") { c, v in
            if v == "always" || v == "never" { c.fsync = v; return nil }
            if v.hasPrefix("batch:"), let ms = Int(v.dropFirst(6)), (1...10_000).contains(ms) { c.fsync = v; return nil }
            return "'\(v)' is not always, batch:<1-10000> or never"
        },
        OptionSpec(flag: "loops", help: "event-loop threads (default: one per core)") { c, v in
            guard let n = Int(v), (1...256).contains(n) else { return "'\(v)' is not a number from 1 to 256" }
            c.loops = n; return nil
        },
        OptionSpec(flag: "retention", help: "how long closed sessions stay in the log (e.g. 30d, 12h)") { c, v in
            guard let s = parseDuration(v), s >= 60 else { return "'\(v)' is not a duration from 1m to 100 years (e.g. 30d)" }
            c.retentionSeconds = Int64(s); return nil
        },
        .size("max-header-bytes", "largest HTTP request head (default 16KiB)", \.maxHeaderBytes, 1024...1 << 20, "from 1KiB to 1MiB"),
        .size("max-body-bytes", "largest HTTP request body (default 1MiB)", \.maxBodyBytes, 1...64 << 20, "up to 64MiB"),
        .size("max-line-bytes", "longest NDJSON line over TCP (default 1MiB)", \.maxLineBytes, 256...64 << 20, "from 256B to 64MiB"),
        .size("max-message-bytes", "largest WebSocket message (default 1MiB)", \.maxMessageBytes, 125...64 << 20, "from 125B to 64MiB"),
        .duration("header-timeout", "time allowed to send a whole HTTP request (default 10s)", \.headerTimeoutSeconds),
        .duration("idle-timeout", "idle HTTP keep-alive connections are closed after this (default 60s)", \.idleTimeoutSeconds),
        .duration("ws-idle-timeout", "a WebSocket peer silent this long is pinged, then closed (default 300s)", \.wsIdleTimeoutSeconds),
        .duration("tcp-idle-timeout", "silent NDJSON connections are closed after this (default 300s)", \.tcpIdleTimeoutSeconds),
        OptionSpec(flag: "max-connections", help: "most open connections in total (default 100000)") { c, v in
            guard let n = Int(v), n >= 1 else { return "'\(v)' is not a positive number" }
            c.maxConnections = n; return nil
        },
        .count("max-connections-per-ip", "most open connections from one IPv4 address or IPv6 /64, 0 for no limit (default 256)",
               \.maxConnectionsPerIP, 0...10_000_000, "from 0 (no limit) to 10000000", jsonKey: "maxConnectionsPerIP"),
        .rate("http-rate-limit", "HTTP requests a second per connection, 0 for no limit (default 100; over it: 429)", \.httpRate),
        .burst("http-rate-burst", "HTTP requests at once per connection (default 200)", \.httpRate),
        .rate("ws-rate-limit", "WebSocket messages a second per connection, 0 for no limit (default 20; over it: error, then 1008)", \.wsRate),
        .burst("ws-rate-burst", "WebSocket messages at once per connection (default 60)", \.wsRate),
        .rate("tcp-rate-limit", "NDJSON lines a second per connection, 0 for no limit (default 5000; over it: rate_limited)", \.tcpRate),
        .burst("tcp-rate-burst", "NDJSON lines at once per connection (default 10000)", \.tcpRate),
        .count("max-open-sessions", "most sessions open at once (default 100000)", \.maxOpenSessions, 1...100_000_000, "from 1 to 100000000"),
        .count("max-open-sessions-per-citizen", "most sessions open at once for one citizen (default 3)",
               \.maxOpenSessionsPerCitizen, 1...1_000_000, "from 1 to 1000000"),
        .size("outbound-buffer-bytes", "pending bytes per connection before it stops being read (default 256KiB)", \.outboundBufferBytes, 4096...1 << 30, "from 4KiB to 1GiB"),
        .duration("slow-consumer-timeout", "a peer that stays over its outbound buffer this long is cut off (default 10s)", \.slowConsumerSeconds),
        OptionSpec(flag: "shutdown-grace", help: "time given to connections to finish on SIGTERM (default 5s)") { c, v in
            guard let s = parseDuration(v), s >= 0 else { return "'\(v)' is not a duration of at most 100 years" }
            c.shutdownGraceSeconds = s; return nil
        },
        OptionSpec(flag: "log-level", help: "debug | info | warning | error") { c, v in
            guard ["debug", "info", "warning", "error"].contains(v) else { return "'\(v)' is not debug, info, warning or error" }
            c.logLevel = v; return nil
        },
        OptionSpec(flag: "admin-token", help: "bearer token of the admin API (\"env:NAME\" reads the environment)") { c, v in
            guard v.utf8.count >= 16 else { return "must be at least 16 characters" }
            c.adminToken = v; return nil
        },
        OptionSpec(flag: "web-root", help: "folder holding widget/, ops/ and console/ (default: the built-in copies)") { c, v in
            c.webRoot = v; return nil
        },
        // An empty value means "not set" (TLS off), so the sample config can list the keys.
        OptionSpec(flag: "tls-cert", help: "PEM certificate chain: --http speaks HTTPS/WSS only (with --tls-key; reloaded on SIGHUP)") { c, v in
            c.tlsCert = v.isEmpty ? nil : v; return nil
        },
        OptionSpec(flag: "tls-key", help: "PEM private key (unencrypted) of --tls-cert") { c, v in
            c.tlsKey = v.isEmpty ? nil : v; return nil
        },
        OptionSpec(flag: "tcp-tls", help: "true: --tcp speaks TLS too, with the same certificate (default false)") { c, v in
            guard let b = Bool(v) else { return "'\(v)' is not true or false" }
            c.tcpTLS = b; return nil
        },
    ]

    /// Resolves the configuration. `arguments` are the flags after the subcommand;
    /// `readFile` returns a file's bytes or nil.
    public static func load(arguments: [String], environment: [String: String],
                            readFile: (String) -> [UInt8]?) -> Result<ServerConfig, ConfigError> {
        var problems: [String] = []
        var config = ServerConfig()
        config.bot = .demo  // the embedded demo defaults: the FAQ bot answers web and WeChat first

        // Flags first, only to find --config and catch unknown ones; applied last.
        var flagValues: [(OptionSpec, String)] = []
        var configPath: String? = environment["INTAKE_CONFIG"]
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            guard arg.hasPrefix("--") else { problems.append("unexpected argument '\(arg)'"); i += 1; continue }
            var name = String(arg.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if value == nil {
                if i + 1 < arguments.count { value = arguments[i + 1]; i += 1 } else { problems.append("--\(name) needs a value"); i += 1; continue }
            }
            i += 1
            if name == "config" { configPath = value; continue }
            guard let spec = options.first(where: { $0.flag == name }) else { problems.append("unknown flag --\(name)"); continue }
            flagValues.append((spec, value!))
        }

        // 1. The config file.
        if let path = configPath {
            if let bytes = readFile(path) {
                switch Result(catching: { () throws(JSONError) in try JSON.parse(bytes) }) {
                case .failure(let e): problems.append("config file \(path): \(e)")
                case .success(let json):
                    applyFile(json, path: path, to: &config, environment: environment, readFile: readFile, problems: &problems)
                }
            } else {
                problems.append("config file \(path) cannot be read")
            }
        }
        // 2. The environment.
        for spec in options {
            if let v = environment[spec.envName] {
                apply(spec, v, source: spec.envName, to: &config, environment: environment, problems: &problems)
            }
        }
        // 3. Flags.
        for (spec, v) in flagValues {
            apply(spec, v, source: "--\(spec.flag)", to: &config, environment: environment, problems: &problems)
        }
        if config.http.port != 0 && config.http == config.tcp { problems.append("--http and --tcp must differ") }
        if config.maxOpenSessionsPerCitizen > config.maxOpenSessions {
            problems.append("--max-open-sessions-per-citizen (\(config.maxOpenSessionsPerCitizen)) must not exceed --max-open-sessions (\(config.maxOpenSessions))")
        }
        loadTLS(&config, readFile: readFile, problems: &problems)
        return problems.isEmpty ? .success(config) : .failure(ConfigError(problems: problems.map(oneLine)))
    }

    static func apply(_ spec: OptionSpec, _ raw: String, source: String, to config: inout ServerConfig,
                      environment: [String: String], problems: inout [String]) {
        guard let value = resolveSecret(raw, environment: environment, source: source, problems: &problems) else { return }
        if let p = spec.apply(&config, value) { problems.append("\(source): \(p)") }
    }

    /// `env:NAME` reads the environment; anything else is taken as written.
    static func resolveSecret(_ raw: String, environment: [String: String], source: String, problems: inout [String]) -> String? {
        guard raw.hasPrefix("env:") else { return raw }
        let name = String(raw.dropFirst(4))
        guard let v = environment[name], !v.isEmpty else {
            problems.append("\(source): environment variable \(name) is not set")
            return nil
        }
        return v
    }

    static func applyFile(_ json: JSON, path: String, to config: inout ServerConfig,
                          environment: [String: String], readFile: (String) -> [UInt8]?,
                          problems: inout [String]) {
        guard case .object(let members) = json else { problems.append("config file \(path): must be a JSON object"); return }
        for (key, value) in members {
            let source = "config file \(path): \"\(key)\""
            if key == "apps" {
                config.apps = parseApps(value, source: source, environment: environment, problems: &problems)
                continue
            }
            if key == "wechat" {
                switch WeChatAccountConfig.parse(value, environment: environment, readFile: readFile, source: source) {
                case .success(let accounts): config.wechat = accounts
                case .failure(let e): problems.append(contentsOf: e.problems)
                }
                continue
            }
            if key == "routing" {
                config.routing = RoutingSettings.parse(value, source: "config file \(path): routing", problems: &problems)
                continue
            }
            if key == "bot" {
                config.bot = BotSettings.parse(value, source: "config file \(path): bot", problems: &problems)
                continue
            }
            if key == "rules" { continue }  // read by its own subsystem
            guard let spec = options.first(where: { $0.jsonKey == key }) else { problems.append("\(source): unknown key"); continue }
            let text: String
            switch value {
            case .string(let s): text = s
            case .int(let n): text = String(n)
            case .double(let d): text = String(d)
            case .bool(let b): text = String(b)
            default: problems.append("\(source): must be a string or a number"); continue
            }
            apply(spec, text, source: source, to: &config, environment: environment, problems: &problems)
        }
    }

    static func parseApps(_ value: JSON, source: String, environment: [String: String], problems: inout [String]) -> [AppAccount] {
        guard case .array(let items) = value else { problems.append("\(source): must be an array"); return [] }
        var out: [AppAccount] = []
        for (n, item) in items.enumerated() {
            let src = "\(source)[\(n)]"
            guard let account = item["account"]?.stringValue, !account.isEmpty else { problems.append("\(src): \"account\" must be a non-empty string"); continue }
            guard let rawKey = item["key"]?.stringValue else { problems.append("\(src): \"key\" must be a string"); continue }
            guard let key = resolveSecret(rawKey, environment: environment, source: src + ".key", problems: &problems) else { continue }
            guard key.utf8.count >= 16 else { problems.append("\(src).key: must be at least 16 characters"); continue }
            if out.contains(where: { $0.account == account }) { problems.append("\(src): duplicate account \(account)"); continue }
            out.append(AppAccount(account: account, key: key, webhook: item["webhook"]?.stringValue))
        }
        return out
    }

    /// A problem as one line: control characters from the input (a value with a newline in a
    /// flag or the file) are written as escapes, so the stderr line and the log stay one line.
    static func oneLine(_ problem: String) -> String {
        guard problem.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return problem }
        var out = ""
        for u in problem.unicodeScalars {
            switch u.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F: out += "\\u{" + String(u.value, radix: 16) + "}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Both TLS files or neither; both readable; a certificate and the key that belongs to it.
    static func loadTLS(_ config: inout ServerConfig, readFile: (String) -> [UInt8]?, problems: inout [String]) {
        switch (config.tlsCert, config.tlsKey) {
        case (nil, nil):
            if config.tcpTLS { problems.append("--tcp-tls needs --tls-cert and --tls-key") }
            return
        case (let cert?, nil):
            problems.append("--tls-cert \(cert) is set but --tls-key is not: give both or neither")
        case (nil, let key?):
            problems.append("--tls-key \(key) is set but --tls-cert is not: give both or neither")
        case (let cert?, let key?):
            let certPEM = readFile(cert), keyPEM = readFile(key)
            if certPEM == nil { problems.append("--tls-cert \(cert) cannot be read") }
            if keyPEM == nil { problems.append("--tls-key \(key) cannot be read") }
            guard let certPEM, let keyPEM else { return }
            do {
                config.tlsContext = try TLSContext(certificatePEM: certPEM, privateKeyPEM: keyPEM)
            } catch {
                switch error {
                case .certificate: problems.append("--tls-cert \(cert): \(error)")
                case .privateKey: problems.append("--tls-key \(key): \(error)")
                case .mismatch: problems.append("--tls-key \(key) does not belong to --tls-cert \(cert): \(error)")
                case .unreadable, .settings: problems.append("--tls-cert \(cert), --tls-key \(key): \(error)")
                }
            }
        }
    }

    /// The longest duration any option takes: 100 years. The server turns durations into
    /// nanoseconds in a UInt64 (584 years at most) and retention into milliseconds in an Int64,
    /// both of which trap when the value does not fit.
    public static let maxDurationSeconds: Double = 100 * 365 * 86_400

    /// "30s", "10m", "12h", "30d", "500ms" or plain seconds → seconds; nil for anything else,
    /// a negative duration or one over `maxDurationSeconds`.
    public static func parseDuration(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        var seconds: Double?
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            guard let v = Double(s.dropLast(suffix.count)) else { return nil }
            seconds = v * factor
            break
        }
        guard let v = seconds ?? Double(s), v.isFinite, v >= 0, v <= maxDurationSeconds else { return nil }
        return v
    }

    /// "16KiB", "1MiB", "1GiB", "512B" or plain bytes → bytes.
    public static func parseBytes(_ s: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1024), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("B", 1)]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            guard let v = Int(s.dropLast(suffix.count)), v >= 0, v <= Int.max / factor else { return nil }
            return v * factor
        }
        guard let v = Int(s), v >= 0 else { return nil }
        return v
    }

    /// The flags with their help, for `intake serve --help`.
    public static var usage: String {
        var out = "usage: intake serve [--config FILE] [flags]\n\nflags (also INTAKE_<FLAG> in the environment, or camelCase keys in the config file):\n"
        for o in options {
            out += "  --\(o.flag)" + String(repeating: " ", count: max(1, 24 - o.flag.count)) + o.help + "\n"
        }
        return out
    }
}
