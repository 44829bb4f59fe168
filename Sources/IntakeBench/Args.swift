// Command-line parsing for the subcommands: declared options with help text, typed getters with
// bounds, `ws://` URL and HOST:PORT parsing, and the loopback-only rule every benchmark obeys.
// Pure values; parsed once on the main thread.

/// A usage error: printed on stderr, exit code 2.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// One option a subcommand accepts. `takesValue == false` marks a boolean flag.
struct OptionSpec {
    let name: String
    let alias: String?
    let takesValue: Bool
    let help: String

    init(_ name: String, alias: String? = nil, value: Bool = true, _ help: String) {
        self.name = name
        self.alias = alias
        self.takesValue = value
        self.help = help
    }
}

/// Parsed options of one subcommand.
struct Args {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    init(_ arguments: [String], specs: [OptionSpec]) throws(UsageError) {
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            i += 1
            guard let spec = specs.first(where: { $0.name == word || $0.alias == word }) else {
                throw UsageError("unknown argument \(word)")
            }
            if spec.takesValue {
                guard i < arguments.count else { throw UsageError("missing value for \(word)") }
                values[spec.name] = arguments[i]
                i += 1
            } else {
                flags.insert(spec.name)
            }
        }
    }

    func string(_ name: String) -> String? { values[name] }
    func has(_ name: String) -> Bool { flags.contains(name) || values[name] != nil }

    func require(_ name: String) throws(UsageError) -> String {
        guard let v = values[name] else { throw UsageError("\(name) is required") }
        return v
    }

    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw UsageError("\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got \(text)")
        }
        return v
    }

    func double(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws(UsageError) -> Double {
        guard let text = values[name] else { return fallback }
        guard let v = Double(text), range.contains(v) else {
            throw UsageError("\(name) must be a number in \(range.lowerBound)...\(range.upperBound), got \(text)")
        }
        return v
    }

    func pid(_ name: String = "--server-pid") throws(UsageError) -> Int32? {
        guard let text = values[name] else { return nil }
        guard let v = Int32(text), v > 0 else { throw UsageError("\(name) must be a process id, got \(text)") }
        return v
    }
}

/// A loopback TCP endpoint, and for WebSocket the request path.
struct Endpoint {
    /// Numeric address: "127.x.y.z" or "::1".
    let host: String
    let port: UInt16
    let path: String
    /// Speak TLS on the connection (`wss://`; the certificate is not verified).
    var tls = false
    var isIPv6: Bool { host.contains(":") }
    /// Value of the HTTP Host header.
    var hostHeader: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
    var wsURL: String { "\(tls ? "wss" : "ws")://\(hostHeader)\(path)" }

    /// Parses `ws://HOST:PORT/PATH` or `wss://…`; only loopback hosts are accepted.
    static func parseWebSocketURL(_ url: String) throws(UsageError) -> Endpoint {
        let secure = url.hasPrefix("wss://")
        guard url.hasPrefix("ws://") || secure else { throw UsageError("only ws:// and wss:// URLs are supported, got \(url)") }
        let rest = url.dropFirst(secure ? 6 : 5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var e = try parseHostPort(String(rest[..<slash]), defaultPort: secure ? 443 : 80, path: path)
        e.tls = secure
        return e
    }

    /// Parses `HOST:PORT` (or `[::1]:PORT`); only loopback hosts are accepted.
    static func parseHostPort(_ text: String, defaultPort: UInt16? = nil, path: String = "/") throws(UsageError) -> Endpoint {
        var host = text
        var portText: Substring? = nil
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw UsageError("bad address \(text)") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        let port: UInt16
        if let p = portText {
            guard let v = UInt16(p), v > 0 else { throw UsageError("bad port in \(text)") }
            port = v
        } else if let d = defaultPort {
            port = d
        } else {
            throw UsageError("missing port in \(text)")
        }
        let lower = host.lowercased()
        let numeric = lower == "localhost" ? "127.0.0.1" : lower
        guard isLoopback(numeric) else {
            throw UsageError("refusing non-loopback host \(host): benchmarks only target 127.0.0.0/8 or ::1")
        }
        return Endpoint(host: numeric, port: port, path: path)
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
