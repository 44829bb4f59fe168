// IntakeJSON: the compact serializer (no whitespace), and `appendQuoted` for hand-built lines on
// hot paths. Output is always valid UTF-8 JSON that `JSON.parse` reads back to an equal value
// (non-finite doubles excepted: they are written as null). Value types; any thread.

extension JSON: CustomStringConvertible {
    /// Appends the compact serialization of this value to `out`.
    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .int(let v):
            JSON.appendInteger(v, to: &out)
        case .double(let d):
            // Swift's description is the shortest text that reads back to the same Double, and
            // is always valid JSON for finite values ("1.0", "1e-07", "-0.0").
            if d.isFinite { out.append(contentsOf: d.description.utf8) } else { out.append(contentsOf: "null".utf8) }
        case .string(let s):
            JSON.appendQuoted(s, to: &out)
        case .array(let items):
            out.append(0x5B)
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(0x2C) }
                item.serialize(into: &out)
            }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            for (k, (name, value)) in members.enumerated() {
                if k > 0 { out.append(0x2C) }
                JSON.appendQuoted(name, to: &out)
                out.append(0x3A)
                value.serialize(into: &out)
            }
            out.append(0x7D)
        }
    }

    /// The compact serialization as bytes.
    public var serializedBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        serialize(into: &out)
        return out
    }

    /// The compact serialization as a String.
    public var serializedString: String {
        String(decoding: serializedBytes, as: UTF8.self)
    }

    /// The compact serialization (so test failures and logs show JSON).
    public var description: String { serializedString }

    /// Appends `s` as a JSON string literal: `"` and `\` escaped, control characters as
    /// `\n` `\t` `\r` `\b` `\f` or `\u00XX`, everything else copied as UTF-8.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        var s = s  // withUTF8 is mutating; for a native string it neither copies nor allocates
        s.withUTF8 { bytes in
            var runStart = 0
            for k in 0..<bytes.count {
                let b = bytes[k]
                if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
                if runStart < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<k])) }
                runStart = k + 1
                out.append(0x5C)
                switch b {
                case 0x22, 0x5C: out.append(b)
                case 0x0A: out.append(0x6E)
                case 0x09: out.append(0x74)
                case 0x0D: out.append(0x72)
                case 0x08: out.append(0x62)
                case 0x0C: out.append(0x66)
                default:
                    // \u00XX; b < 0x20, so the high digit is 0 or 1
                    let low = b & 0xF
                    out.append(contentsOf: [0x75, 0x30, 0x30, 0x30 + (b >> 4), low < 10 ? 0x30 + low : 0x61 + low - 10])
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(0x22)
    }

    /// Appends the decimal digits of `v` without building a String.
    static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(0x2D) }
        var magnitude = v.magnitude
        if magnitude < 10 {
            out.append(0x30 + UInt8(magnitude))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits fit in 24 bytes
        withUnsafeMutableBytes(of: &digits) { buf in
            var k = buf.count
            while magnitude > 0 {
                k -= 1
                buf[k] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: buf[k...])
        }
    }
}
