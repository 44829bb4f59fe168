// HTTPBytes: byte classes of RFC 9110/9112 (token, field value, request-target), ASCII
// case-insensitive comparison, and percent-decoding. Stateless functions, any thread.

enum ASCII {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B
    static let percent: UInt8 = 0x25
    static let question: UInt8 = 0x3F
    static let slash: UInt8 = 0x2F
    static let plus: UInt8 = 0x2B
    static let equals: UInt8 = 0x3D
    static let ampersand: UInt8 = 0x26
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
// "~" / DIGIT / ALPHA (RFC 9110 §5.6.2), as two 64-bit masks so the hot loop has no table
// load and no bounds check. `HTTPBytesTests` checks the masks against that list.
private let tokenMaskLow: UInt64 = 0x03FF_6CFA_0000_0000
private let tokenMaskHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

/// True when `c` may appear in a token (method, header name, transfer coding).
@inline(__always)
func isTokenByte(_ c: UInt8) -> Bool {
    if c < 64 { return (tokenMaskLow >> UInt64(c)) & 1 == 1 }
    if c < 128 { return (tokenMaskHigh >> UInt64(c - 64)) & 1 == 1 }
    return false
}

/// True when `c` may appear in a field value: VCHAR, SP, HTAB and obs-text (RFC 9110 §5.5).
@inline(__always)
func isFieldValueByte(_ c: UInt8) -> Bool {
    c >= 0x20 ? c != 0x7F : c == ASCII.tab
}

/// True when `c` may appear in a request-target: visible ASCII (RFC 3986 characters, and the
/// few unreserved-by-practice ones such as `"` and `{`; never space, CTL, DEL or non-ASCII).
@inline(__always)
func isTargetByte(_ c: UInt8) -> Bool {
    c > 0x20 && c < 0x7F
}

/// True when one of the eight bytes of `w` may be below 0x20 or be 0x7F (exact when false:
/// the bit tricks of "Bit Twiddling Hacks", hasless and haszero, give no false negatives).
@inline(__always)
func wordMayHoldControlByte(_ w: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highBits: UInt64 = 0x8080_8080_8080_8080
    let below20 = (w &- ones &* 0x20) & ~w & highBits
    let del = w ^ (ones &* 0x7F)
    let isDEL = (del &- ones) & ~del & highBits
    return (below20 | isDEL) != 0
}

@inline(__always)
func isOWS(_ c: UInt8) -> Bool { c == ASCII.space || c == ASCII.tab }

@inline(__always)
func asciiLower(_ c: UInt8) -> UInt8 {
    (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
}

/// ASCII case-insensitive equality of `bytes` with `lowercased` (which must be lower-case).
@inline(__always)
func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
    guard bytes.count == lowercased.utf8CodeUnitCount else { return false }
    let l = lowercased.utf8Start
    for i in 0..<bytes.count where asciiLower(bytes[i]) != l[i] { return false }
    return true
}

/// ASCII case-insensitive equality of two byte sequences.
func equalsIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where asciiLower(a[i]) != asciiLower(b[i]) { return false }
    return true
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
}

/// Appends raw bytes with one memcpy (appending an `UnsafeRawBufferPointer` as a generic
/// sequence goes byte by byte).
@inline(__always)
func appendBytes(_ source: UnsafeRawBufferPointer, to array: inout [UInt8]) {
    source.withMemoryRebound(to: UInt8.self) { array.append(contentsOf: $0) }
}

/// A new array holding a copy of `source`, made with one memcpy.
@inline(__always)
func copyBytes(_ source: UnsafeRawBufferPointer) -> [UInt8] {
    source.withMemoryRebound(to: UInt8.self) { Array($0) }
}

/// Why percent-decoding failed.
enum PercentDecodingFailure: Error {
    case badEscape, nul, invalidUTF8
}

/// Decodes `%XX` escapes (and `+` as space when `plusIsSpace`) in `bytes`. Strict: a bad
/// escape, a NUL or invalid UTF-8 in the result is a failure.
func percentDecodeStrict(_ bytes: UnsafeRawBufferPointer, plusIsSpace: Bool = false)
    throws(PercentDecodingFailure) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
        var c = bytes[i]
        if c == ASCII.percent {
            guard i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) else {
                throw .badEscape
            }
            c = h << 4 | l
            i += 3
        } else {
            if plusIsSpace && c == ASCII.plus { c = ASCII.space }
            i += 1
        }
        if c == 0 { throw .nul }
        out.append(c)
    }
    guard let s = String(validating: out, as: UTF8.self) else { throw .invalidUTF8 }
    return s
}

/// Decodes `%XX` escapes and `+` as space, leniently: a bad escape stays as written and
/// invalid UTF-8 becomes U+FFFD. For query strings, where refusing the request is too harsh.
func percentDecodeLenient(_ bytes: Substring.UTF8View, plusIsSpace: Bool) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count)
    var i = bytes.startIndex
    while i < bytes.endIndex {
        let c = bytes[i]
        if c == ASCII.percent {
            let h1 = bytes.index(after: i)
            if h1 < bytes.endIndex {
                let h2 = bytes.index(after: h1)
                if h2 < bytes.endIndex, let h = hexValue(bytes[h1]), let l = hexValue(bytes[h2]) {
                    out.append(h << 4 | l)
                    i = bytes.index(after: h2)
                    continue
                }
            }
            out.append(c)
        } else if plusIsSpace && c == ASCII.plus {
            out.append(ASCII.space)
        } else {
            out.append(c)
        }
        i = bytes.index(after: i)
    }
    return String(decoding: out, as: UTF8.self)
}
