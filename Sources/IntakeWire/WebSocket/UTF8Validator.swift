// Incremental UTF-8 validation for WebSocket text messages, which may arrive split across
// frames and reads: a code point may straddle any boundary, but an invalid prefix must fail at
// once. Value type owned by the decoder that uses it (one connection, one loop thread).

/// Checks bytes against Unicode's table of well-formed UTF-8 (Table 3-7 of the standard),
/// piece by piece. Overlong forms, surrogates (U+D800-U+DFFF) and anything above U+10FFFF
/// are refused. ASCII runs are checked 8 bytes at a time.
///
/// State is three bytes: how many continuation bytes are still owed, and the range the next
/// one must fall in (only the first continuation byte after E0, ED, F0 and F4 is narrower
/// than 80-BF).
public struct UTF8Validator: Sendable {
    private var owed: UInt8 = 0
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF
    private var failed = false

    /// A validator at the start of a text.
    public init() {}

    /// True when the bytes so far are valid and end on a code point boundary, so the text may
    /// end here.
    public var isComplete: Bool { !failed && owed == 0 }

    /// True once any invalid byte has been seen; stays true until `reset()`.
    public var hasFailed: Bool { failed }

    /// Forgets everything, ready for a new text.
    public mutating func reset() { self = UTF8Validator() }

    /// Whether `bytes` as a whole is valid UTF-8.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var v = UTF8Validator()
        return v.validate(bytes) && v.isComplete
    }

    /// Whether `bytes` as a whole is valid UTF-8.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isValid($0) }
    }

    /// Consumes the next piece of the text. Returns false as soon as the bytes so far cannot
    /// be a prefix of valid UTF-8 (and from then on). A piece may end inside a code point;
    /// check `isComplete` at the end of the text.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        guard let p = bytes.baseAddress else { return true }
        let n = bytes.count
        var i = 0
        // Finish a code point begun in an earlier piece.
        while owed > 0 {
            guard i < n else { return true }
            let b = p.load(fromByteOffset: i, as: UInt8.self)
            guard b >= low && b <= high else { failed = true; return false }
            owed &-= 1; low = 0x80; high = 0xBF; i &+= 1
        }
        while i < n {
            // ASCII fast path: eight bytes with no high bit set are eight code points.
            while i &+ 8 <= n && p.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i &+= 8
            }
            guard i < n else { break }
            let lead = p.load(fromByteOffset: i, as: UInt8.self)
            if lead < 0x80 { i &+= 1; continue }
            let length: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lo = 0xA0          // no overlong 3-byte forms
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; hi = 0x9F          // no surrogates D800-DFFF
            case 0xF0: length = 4; lo = 0x90          // no overlong 4-byte forms
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; hi = 0x8F          // nothing above U+10FFFF
            default: failed = true; return false     // 80-C1 (stray or overlong 2-byte), F5-FF
            }
            // Check the continuation bytes that are present; owe the rest to the next piece.
            var j = 1
            while j < length {
                guard i &+ j < n else {
                    owed = UInt8(length &- j); low = lo; high = hi
                    return true
                }
                let b = p.load(fromByteOffset: i &+ j, as: UInt8.self)
                guard b >= lo && b <= hi else { failed = true; return false }
                lo = 0x80; hi = 0xBF; j &+= 1
            }
            i &+= length
        }
        return true
    }
}
