// IntakeJSON: the strict RFC 8259 parser. One recursive-descent pass over raw bytes: strings
// are scanned eight bytes at a time and built straight from the input (validated once, by the
// standard library, only when not ASCII); numbers are read without building text on the common
// path. Value types; any thread.
//
// Design: strict by default. Everything RFC 8259 forbids is refused (and a few things it merely
// allows: duplicate member names, invalid UTF-8, lone surrogates), each with a stable reason and
// the byte offset. Not resumable: NDJSON framing finds the line first, then this parses it whole.

extension JSON {
    /// Parses one JSON document (RFC 8259) from `bytes`, allowing whitespace around the value.
    ///
    /// Numbers without fraction or exponent that fit in Int64 become `.int`, all others
    /// `.double`. Member names are compared as Swift Strings (canonical equivalence, as
    /// `subscript(key:)` compares them), so a lookup can never be ambiguous.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .init()) throws(JSONError) -> JSON {
        if bytes.count > limits.maxBytes { throw JSONError(.tooLarge, at: limits.maxBytes) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw JSONError(.emptyInput, at: 0) }
        // Reading the bytes as UInt8 is sound for any initialized memory; the caller's buffer
        // outlives the parse.
        var parser = JSONParser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, maxDepth: limits.maxDepth)
        return try parser.parseDocument()
    }

    /// Parses one JSON document from `bytes`. See `parse(_:limits:)` on a raw buffer.
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .init()) throws(JSONError) -> JSON {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try parse(raw, limits: limits) } }
        return try result.get()
    }

    /// Parses one JSON document from `bytes`. See `parse(_:limits:)` on a raw buffer.
    public static func parse(_ bytes: ArraySlice<UInt8>, limits: JSONLimits = .init()) throws(JSONError) -> JSON {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try parse(raw, limits: limits) } }
        return try result.get()
    }

    /// Parses one JSON document from the UTF-8 of `text`. See `parse(_:limits:)` on a raw buffer.
    public static func parse(_ text: String, limits: JSONLimits = .init()) throws(JSONError) -> JSON {
        var text = text
        let result = text.withUTF8 { buf in Result { () throws(JSONError) in try parse(UnsafeRawBufferPointer(buf), limits: limits) } }
        return try result.get()
    }
}

// ASCII bytes the grammar names.
private let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, slash: UInt8 = 0x2F
private let comma: UInt8 = 0x2C, colon: UInt8 = 0x3A, minus: UInt8 = 0x2D, plus: UInt8 = 0x2B
private let dot: UInt8 = 0x2E, zero: UInt8 = 0x30, nine: UInt8 = 0x39
private let openBracket: UInt8 = 0x5B, closeBracket: UInt8 = 0x5D
private let openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D

/// The state of one parse: the input, the read position and the current depth.
struct JSONParser {
    private let p: UnsafePointer<UInt8>
    private let end: Int
    private let maxDepth: Int
    private var i = 0
    private var depth = 0
    /// Reused for every string with escapes, so a document allocates it at most once.
    private var scratch: [UInt8] = []

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        p = base
        end = count
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSON {
        skipWhitespace()
        if i == end { throw JSONError(.emptyInput, at: i) }
        let value = try parseValue()
        skipWhitespace()
        if i != end { throw JSONError(.trailingData, at: i) }
        return value
    }

    // MARK: values

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < end {
            let b = p[i]
            // space, \t, \n, \r: the only whitespace RFC 8259 allows.
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSON {
        guard i < end else { throw JSONError(.unexpectedEnd, at: i) }
        switch p[i] {
        case quote: return .string(try parseString())
        case openBrace: return try parseObject()
        case openBracket: return try parseArray()
        case minus, zero...nine: return try parseNumber()
        case 0x74: try expectLiteral("true"); return .bool(true)
        case 0x66: try expectLiteral("false"); return .bool(false)
        case 0x6E: try expectLiteral("null"); return .null
        case plus, dot: throw JSONError(.invalidNumber, at: i)
        default: throw unexpected(at: i)
        }
    }

    /// The error for an unexpected byte: invalid UTF-8 if it starts no valid sequence, else
    /// an unexpected character.
    private func unexpected(at offset: Int) -> JSONError {
        if p[offset] >= 0x80 && utf8SequenceLength(at: offset) == 0 { return JSONError(.invalidUTF8, at: offset) }
        return JSONError(.unexpectedCharacter, at: offset)
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONError) {
        let w = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount {
            guard i < end else { throw JSONError(.unexpectedEnd, at: i) }
            guard p[i] == w[k] else { throw unexpected(at: i) }
            i += 1
        }
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        if depth > maxDepth { throw JSONError(.tooDeep, at: i) }
        i += 1
    }

    private mutating func parseArray() throws(JSONError) -> JSON {
        try enter()
        skipWhitespace()
        if i < end && p[i] == closeBracket {
            i += 1
            depth -= 1
            return .array([])
        }
        var items: [JSON] = []
        items.reserveCapacity(4)
        while true {
            items.append(try parseValue())
            skipWhitespace()
            guard i < end else { throw JSONError(.unexpectedEnd, at: i) }
            let b = p[i]
            if b == comma {
                let commaAt = i
                i += 1
                skipWhitespace()
                if i < end && p[i] == closeBracket { throw JSONError(.trailingComma, at: commaAt) }
            } else if b == closeBracket {
                i += 1
                depth -= 1
                return .array(items)
            } else {
                throw unexpected(at: i)
            }
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSON {
        try enter()
        skipWhitespace()
        if i < end && p[i] == closeBrace {
            i += 1
            depth -= 1
            return .object([])
        }
        var members: [(String, JSON)] = []
        members.reserveCapacity(8)
        // Duplicate names: a linear scan for small objects (the common case), a set beyond that
        // so a hostile object with many members stays linear in time.
        var seen: Set<String> = []
        while true {
            guard i < end else { throw JSONError(.unexpectedEnd, at: i) }
            guard p[i] == quote else { throw unexpected(at: i) }
            let keyAt = i
            let key = try parseString()
            if members.count < 16 {
                for m in members where m.0 == key { throw JSONError(.duplicateKey, at: keyAt) }
            } else {
                if seen.isEmpty { seen = Set(members.map { $0.0 }) }
                if !seen.insert(key).inserted { throw JSONError(.duplicateKey, at: keyAt) }
            }
            skipWhitespace()
            guard i < end else { throw JSONError(.unexpectedEnd, at: i) }
            guard p[i] == colon else { throw unexpected(at: i) }
            i += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard i < end else { throw JSONError(.unexpectedEnd, at: i) }
            let b = p[i]
            if b == comma {
                let commaAt = i
                i += 1
                skipWhitespace()
                if i < end && p[i] == closeBrace { throw JSONError(.trailingComma, at: commaAt) }
            } else if b == closeBrace {
                i += 1
                depth -= 1
                return .object(members)
            } else {
                throw unexpected(at: i)
            }
        }
    }

    // MARK: strings

    /// Reads a string starting at its opening quote. The fast path scans eight bytes at a
    /// time for a quote, a backslash or a control byte, remembers whether it passed any
    /// non-ASCII byte, and builds the String straight from the input: ASCII needs no check,
    /// anything else is validated once by the standard library while it is copied (the
    /// offending byte is located only when that fails).
    private mutating func parseString() throws(JSONError) -> String {
        let open = i
        i += 1
        let start = i
        var highBits: UInt64 = 0
        while true {
            while i &+ 8 <= end {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let m = attentionMask(w)
                if m != 0 {
                    // The lowest flagged byte is a real hit: jump straight to it.
                    let skip = m.trailingZeroBitCount &>> 3
                    highBits |= w & ((1 &<< UInt64(skip &* 8)) &- 1)
                    i &+= skip
                    break
                }
                highBits |= w
                i &+= 8
            }
            guard i < end else {
                try checkUTF8(from: start, to: i, highBits: highBits)
                throw JSONError(.unterminatedString, at: open)
            }
            let b = p[i]
            if b == quote {
                let bytes = UnsafeBufferPointer(start: p + start, count: i - start)
                let s: String
                if highBits & 0x8080_8080_8080_8080 == 0 {
                    s = String(decoding: bytes, as: UTF8.self)
                } else if let valid = String(validating: bytes, as: UTF8.self) {
                    s = valid
                } else {
                    throw JSONError(.invalidUTF8, at: firstInvalidUTF8(from: start, to: i))
                }
                i += 1
                return s
            }
            if b == backslash {
                // The escaped path validates as it copies, so check what the fast path passed.
                try checkUTF8(from: start, to: i, highBits: highBits)
                return try parseEscapedString(open: open, start: start)
            }
            if b < 0x20 {
                // An earlier invalid UTF-8 byte is reported first, as a single pass would.
                try checkUTF8(from: start, to: i, highBits: highBits)
                throw JSONError(.controlCharacterInString, at: i)
            }
            highBits |= UInt64(b)
            i += 1
        }
    }

    /// Throws `invalidUTF8` at the first ill-formed sequence in `from..<to`, if the bytes
    /// passed there (`highBits`, or-ed together) were not all ASCII.
    private func checkUTF8(from: Int, to: Int, highBits: UInt64) throws(JSONError) {
        guard highBits & 0x8080_8080_8080_8080 != 0 else { return }
        let bad = firstInvalidUTF8(from: from, to: to)
        if bad < to { throw JSONError(.invalidUTF8, at: bad) }
    }

    /// The offset of the first byte in `from..<to` that starts no well-formed UTF-8 sequence
    /// within that range, or `to` if there is none.
    private func firstInvalidUTF8(from: Int, to: Int) -> Int {
        var k = from
        while k < to {
            if p[k] < 0x80 {
                k += 1
                continue
            }
            let n = utf8SequenceLength(at: k)
            if n == 0 || k + n > to { return k }
            k += n
        }
        return to
    }

    /// The high bit of each byte of `w` (read little-endian) that is `"`, `\\` or below 0x20.
    /// Borrows run only upwards, from a byte that is a real hit, so the lowest flagged byte is
    /// always a real one (higher ones may be false positives); bytes above 0x7F never flag.
    @inline(__always)
    private func attentionMask(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let q = w ^ (ones &* UInt64(quote))
        let bs = w ^ (ones &* UInt64(backslash))
        let hasQuote = (q &- ones) & ~q
        let hasBackslash = (bs &- ones) & ~bs
        let hasControl = (w &- ones &* 0x20) & ~w
        return (hasQuote | hasBackslash | hasControl) & 0x8080_8080_8080_8080
    }

    /// The slow path, from the first backslash: copies into `scratch` and decodes escapes.
    private mutating func parseEscapedString(open: Int, start: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: p + start, count: i - start))
        while i < end {
            let b = p[i]
            if b == quote {
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b == backslash {
                try decodeEscape(open: open)
            } else if b < 0x20 {
                throw JSONError(.controlCharacterInString, at: i)
            } else if b < 0x80 {
                scratch.append(b)
                i += 1
            } else {
                let n = utf8SequenceLength(at: i)
                if n == 0 { throw JSONError(.invalidUTF8, at: i) }
                scratch.append(contentsOf: UnsafeBufferPointer(start: p + i, count: n))
                i += n
            }
        }
        throw JSONError(.unterminatedString, at: open)
    }

    /// Decodes the escape at `i` (a backslash) into `scratch`; `open` is the string's opening quote.
    private mutating func decodeEscape(open: Int) throws(JSONError) {
        let at = i
        guard i + 1 < end else { throw JSONError(.unterminatedString, at: open) }
        let e = p[i + 1]
        let plain: UInt8
        switch e {
        case quote, backslash, slash: plain = e
        case 0x62: plain = 0x08  // b
        case 0x66: plain = 0x0C  // f
        case 0x6E: plain = 0x0A  // n
        case 0x72: plain = 0x0D  // r
        case 0x74: plain = 0x09  // t
        case 0x75:  // u
            let unit = try hex4(escapeAt: at, open: open)
            i = at + 6
            var scalar = UInt32(unit)
            if unit >= 0xDC00 && unit <= 0xDFFF { throw JSONError(.loneSurrogate, at: at) }
            if unit >= 0xD800 && unit <= 0xDBFF {
                if i < end && p[i] != backslash { throw JSONError(.loneSurrogate, at: at) }
                guard i + 1 < end else { throw JSONError(.unterminatedString, at: open) }
                guard p[i + 1] == 0x75 else { throw JSONError(.loneSurrogate, at: at) }
                let low = try hex4(escapeAt: i, open: open)
                guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONError(.loneSurrogate, at: at) }
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                i += 6
            }
            appendUTF8(scalar)
            return
        default:
            throw JSONError(.invalidEscape, at: at)
        }
        scratch.append(plain)
        i += 2
    }

    /// The four hex digits after the `\u` at `at`; `open` is the string's opening quote.
    private func hex4(escapeAt at: Int, open: Int) throws(JSONError) -> UInt16 {
        var v: UInt16 = 0
        for k in 2..<6 {
            guard at + k < end else { throw JSONError(.unterminatedString, at: open) }
            let c = p[at + k]
            let d: UInt8
            switch c {
            case zero...nine: d = c - zero
            case 0x61...0x66: d = c - 0x61 + 10
            case 0x41...0x46: d = c - 0x41 + 10
            default: throw JSONError(.invalidEscape, at: at)
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }

    private mutating func appendUTF8(_ s: UInt32) {
        if s < 0x80 {
            scratch.append(UInt8(s))
        } else if s < 0x800 {
            scratch.append(UInt8(0xC0 | s >> 6))
            scratch.append(UInt8(0x80 | s & 0x3F))
        } else if s < 0x10000 {
            scratch.append(UInt8(0xE0 | s >> 12))
            scratch.append(UInt8(0x80 | (s >> 6) & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | s >> 18))
            scratch.append(UInt8(0x80 | (s >> 12) & 0x3F))
            scratch.append(UInt8(0x80 | (s >> 6) & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        }
    }

    /// The length (2–4) of the well-formed UTF-8 sequence starting at the non-ASCII byte at
    /// `k`, or 0 if it is ill-formed (Unicode table 3-7: no overlongs, no surrogates, nothing
    /// above U+10FFFF, no truncation).
    private func utf8SequenceLength(at k: Int) -> Int {
        let b0 = p[k]
        @inline(__always) func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            j < end && p[j] >= lo && p[j] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            return cont(k + 1) ? 2 : 0
        case 0xE0:
            return cont(k + 1, 0xA0) && cont(k + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(k + 1) && cont(k + 2) ? 3 : 0
        case 0xED:
            return cont(k + 1, 0x80, 0x9F) && cont(k + 2) ? 3 : 0
        case 0xF0:
            return cont(k + 1, 0x90) && cont(k + 2) && cont(k + 3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(k + 1) && cont(k + 2) && cont(k + 3) ? 4 : 0
        case 0xF4:
            return cont(k + 1, 0x80, 0x8F) && cont(k + 2) && cont(k + 3) ? 4 : 0
        default:
            return 0
        }
    }

    // MARK: numbers

    /// Reads `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Integers that fit in Int64
    /// are built directly; decimals whose significant digits fit in 53 bits, scaled by at most
    /// 10^22, take one exact IEEE operation (Clinger's fast path); the rest go to the standard
    /// library's correctly rounded conversion.
    private mutating func parseNumber() throws(JSONError) -> JSON {
        let start = i
        let negative = p[i] == minus
        if negative { i += 1 }
        guard i < end, p[i] >= zero && p[i] <= nine else { throw JSONError(.invalidNumber, at: start) }

        // Significant digits (leading zeros skipped) folded into `mantissa`; at most 19 fit.
        var mantissa: UInt64 = 0
        var digits = 0
        var exact = true
        var fractionDigits = 0
        var isInteger = true

        if p[i] == zero {
            i += 1
            if i < end && p[i] >= zero && p[i] <= nine { throw JSONError(.invalidNumber, at: start) }
        } else {
            while i < end && p[i] >= zero && p[i] <= nine {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(p[i] - zero)
                    digits += 1
                } else {
                    exact = false
                }
                i += 1
            }
        }
        let integerEnd = i
        if i < end && p[i] == dot {
            isInteger = false
            i += 1
            guard i < end, p[i] >= zero && p[i] <= nine else { throw JSONError(.invalidNumber, at: start) }
            while i < end && p[i] >= zero && p[i] <= nine {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(p[i] - zero)
                    if mantissa != 0 { digits += 1 }
                    fractionDigits += 1
                } else {
                    exact = false
                }
                i += 1
            }
        }
        var exponent = 0
        if i < end && (p[i] == 0x65 || p[i] == 0x45) {
            isInteger = false
            i += 1
            var expNegative = false
            if i < end && (p[i] == plus || p[i] == minus) {
                expNegative = p[i] == minus
                i += 1
            }
            guard i < end, p[i] >= zero && p[i] <= nine else { throw JSONError(.invalidNumber, at: start) }
            while i < end && p[i] >= zero && p[i] <= nine {
                // Saturate: anything this large is out of range or zero either way.
                if exponent < 100_000 { exponent = exponent * 10 + Int(p[i] - zero) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }

        if isInteger && integerEnd - start <= 20 {
            if let v = integerValue(from: start, to: integerEnd) { return .int(v) }
        }
        let scale = exponent - fractionDigits
        if exact && mantissa < (1 << 53) && scale >= -22 && scale <= 22 {
            var d = Double(mantissa)
            d = scale < 0 ? d / powersOfTen[-scale] : d * powersOfTen[scale]
            return .double(negative ? -d : d)
        }
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw JSONError(.numberOutOfRange, at: start) }
        return .double(d)
    }

    /// The integer written in `start..<stop` (sign included) if it fits in Int64.
    private func integerValue(from start: Int, to stop: Int) -> Int64? {
        var k = start
        let negative = p[k] == minus
        if negative { k += 1 }
        var magnitude: UInt64 = 0
        while k < stop {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(p[k] - zero))
            if o1 || o2 { return nil }
            magnitude = s
            k += 1
        }
        if negative {
            if magnitude <= UInt64(Int64.max) { return -Int64(magnitude) }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}

/// 10^0 … 10^22, every one exactly representable as a Double.
private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]
