// IntakeTelemetry: structured logs, one JSON object per line on stderr.
// Any thread: a line is formatted by the caller and written with one write(2), which the
// kernel keeps whole for pipes up to PIPE_BUF and in practice for files and terminals.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import IntakeJSON

/// Log levels, lowest first.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error

    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public init?(name: String) {
        guard let l = LogLevel.allCases.first(where: { $0.name == name || (name == "warn" && $0 == .warning) }) else { return nil }
        self = l
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// A field value in a log line.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, CustomStringConvertible
{
    case string(String), int(Int), double(Double), bool(Bool)
    public init(stringLiteral s: String) { self = .string(s) }
    public init(integerLiteral i: Int) { self = .int(i) }
    public init(booleanLiteral b: Bool) { self = .bool(b) }
    public init(floatLiteral d: Double) { self = .double(d) }
    public var description: String {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .bool(let b): String(b)
        }
    }
}

/// The process-wide logger: `Log.info("listening", ["http": "127.0.0.1:8080"])`.
public enum Log {
    private static let minimum = Atomic<Int>(LogLevel.info.rawValue)
    /// Where lines go; tests may redirect to a pipe. Defaults to stderr.
    private static let sinkFD = Atomic<Int32>(2)

    public static var level: LogLevel {
        get { LogLevel(rawValue: minimum.load(ordering: .relaxed)) ?? .info }
        set { minimum.store(newValue.rawValue, ordering: .relaxed) }
    }

    public static func redirect(toFD fd: Int32) { sinkFD.store(fd, ordering: .relaxed) }

    public static func debug(_ msg: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { emit(.debug, msg, fields) }
    public static func info(_ msg: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { emit(.info, msg, fields) }
    public static func warning(_ msg: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { emit(.warning, msg, fields) }
    public static func error(_ msg: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { emit(.error, msg, fields) }

    public static func isEnabled(_ l: LogLevel) -> Bool { l.rawValue >= minimum.load(ordering: .relaxed) }

    public static func emit(_ l: LogLevel, _ msg: String, _ fields: KeyValuePairs<String, LogValue>) {
        guard isEnabled(l) else { return }
        var line: [UInt8] = []
        line.reserveCapacity(160)
        line.append(contentsOf: "{\"ts\":\"".utf8)
        line.append(contentsOf: rfc3339Now().utf8)
        line.append(contentsOf: "\",\"level\":\"".utf8)
        line.append(contentsOf: l.name.utf8)
        line.append(contentsOf: "\",\"msg\":".utf8)
        JSON.appendQuoted(msg, to: &line)
        for (k, v) in fields {
            line.append(UInt8(ascii: ","))
            JSON.appendQuoted(k, to: &line)
            line.append(UInt8(ascii: ":"))
            switch v {
            // Personal data never reaches the log: phone and ID-card numbers are masked in
            // every string field (docs/SECURITY.md); the message text is written by us.
            case .string(let s): JSON.appendQuoted(PersonalData.mask(s), to: &line)
            case .int(let i): line.append(contentsOf: String(i).utf8)
            case .double(let d): line.append(contentsOf: (d.isFinite ? String(d) : "null").utf8)
            case .bool(let b): line.append(contentsOf: (b ? "true" : "false").utf8)
            }
        }
        line.append(contentsOf: "}\n".utf8)
        let fd = sinkFD.load(ordering: .relaxed)
        line.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = write(fd, p.baseAddress! + off, p.count - off)
                if n < 0 { if errno == EINTR { continue } else { return } }  // nowhere left to report a log failure
                off += n
            }
        }
    }

    /// The current UTC time as RFC 3339 with milliseconds: 2026-11-22T02:44:45.123Z.
    public static func rfc3339Now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return rfc3339(epochMillis: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000))
    }

    public static func rfc3339(epochMillis ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return pad(tmv.tm_year + 1900, 4) + "-" + pad(tmv.tm_mon + 1, 2) + "-" + pad(tmv.tm_mday, 2) + "T"
            + pad(tmv.tm_hour, 2) + ":" + pad(tmv.tm_min, 2) + ":" + pad(tmv.tm_sec, 2) + "." + pad(Int32(ms % 1000), 3) + "Z"
    }
}
