// Output helpers without Foundation: fixed-point numbers and a one-line JSON object builder.
// Every benchmark ends with exactly one JSON line built here, so scripts can parse the last line.
// Pure values; any thread.
import Glibc

/// Fixed-point formatting of `value` with `digits` decimals ("nan" and "inf" spelled out).
func fixed(_ value: Double, _ digits: Int = 1) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = UInt64(scaled / scale)
    let frac = UInt64(scaled - Double(whole) * scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
    if digits > 0 {
        var f = String(frac)
        while f.count < digits { f = "0" + f }
        text += "." + f
    }
    return text
}

/// Builds one flat JSON object in insertion order. Numbers that are NaN become `null`.
struct JSONLine {
    private var parts: [String] = []

    init() {}

    mutating func add(_ key: String, _ value: String) { parts.append("\"\(key)\":\"\(Self.escape(value))\"") }
    mutating func add(_ key: String, _ value: Int) { parts.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: UInt64) { parts.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: Bool) { parts.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: Double, digits: Int = 1) {
        parts.append("\"\(key)\":" + (value.isFinite ? fixed(value, digits) : "null"))
    }
    mutating func add(_ key: String, _ value: Double?, digits: Int = 1) { add(key, value ?? .nan, digits: digits) }
    /// Inserts already-encoded JSON (an array or object) under `key`.
    mutating func addRaw(_ key: String, _ json: String) { parts.append("\"\(key)\":\(json)") }

    var text: String { "{" + parts.joined(separator: ",") + "}" }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 {
                    let hex = String(ch.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out
    }
}

/// Writes one line to stdout with a single write(2): unbuffered, so progress shows up in pipes
/// and the final JSON line is never held in a stdio buffer.
func say(_ line: String) { writeLine(line, to: 1) }

/// Writes a line to stderr (usage errors and diagnostics that must not pollute the last stdout line).
func printError(_ line: String) { writeLine(line, to: 2) }

private func writeLine(_ line: String, to fd: Int32) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }  // stdout closed: nothing sensible left to do with the line
            offset += n
        }
    }
}
