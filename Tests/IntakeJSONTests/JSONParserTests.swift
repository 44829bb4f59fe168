// The parser beyond the corpus: every error reason with its byte offset, the depth and size
// limits, the eight-bytes-at-a-time string scan at every alignment, numbers at the edges of
// Int64 and Double, Chinese text and emoji, and a seeded mutation fuzz.
import Testing
import IntakeJSON

/// The error `text` is refused with, or nil if it parses.
func parseError(_ text: String, limits: JSONLimits = .init()) -> JSONError? {
    parseError(Array(text.utf8), limits: limits)
}

func parseError(_ bytes: [UInt8], limits: JSONLimits = .init()) -> JSONError? {
    do {
        _ = try JSON.parse(bytes, limits: limits)
        return nil
    } catch {
        return error
    }
}

@Suite(.timeLimit(.minutes(5)))
struct JSONParserTests {
    // MARK: errors and offsets

    @Test func everyReasonWithItsOffset() {
        let cases: [(String, JSONError.Kind, Int)] = [
            ("", .emptyInput, 0),
            ("   ", .emptyInput, 3),
            ("[1,", .unexpectedEnd, 3),
            ("[1 2]", .unexpectedCharacter, 3),
            (#"{"k": tru}"#, .unexpectedCharacter, 9),
            ("[1,]", .trailingComma, 2),
            (#"{"a":1,}"#, .trailingComma, 6),
            (#"{"a":1 , }"#, .trailingComma, 7),
            (#"["ab\q"]"#, .invalidEscape, 4),
            (#"["\uD800x"]"#, .loneSurrogate, 2),
            (#"["x\uDC00"]"#, .loneSurrogate, 3),
            (#"["abc"#, .unterminatedString, 1),
            ("[\"a\nb\"]", .controlCharacterInString, 3),
            ("[1] x", .trailingData, 4),
            ("[01]", .invalidNumber, 1),
            ("[-]", .invalidNumber, 1),
            ("[1e999]", .numberOutOfRange, 1),
            (#"{"a":1,"a":2}"#, .duplicateKey, 7),
            // Offsets count bytes, not characters: 名字 and 王芳 are three bytes each.
            (#"{"名字":"王芳",}"#, .trailingComma, 18),
            (#"{"名字":"王芳","名字":1}"#, .duplicateKey, 19),
        ]
        for (text, kind, offset) in cases {
            #expect(parseError(text) == JSONError(kind, at: offset), "\(text)")
        }
        #expect(parseError(utf8(#"["ok", ""#) + [0xC3, 0x28] + utf8(#""]"#)) == JSONError(.invalidUTF8, at: 8))
        #expect(parseError("[[[1]]]", limits: JSONLimits(maxDepth: 2)) == JSONError(.tooDeep, at: 2))
        #expect(parseError("[1,2]", limits: JSONLimits(maxBytes: 4)) == JSONError(.tooLarge, at: 4))
    }

    @Test func everyReasonIsReachable() {
        let reached: Set<String> = [
            "", "[", "x", "[1,]", #""\x""#, #"""#, "\"\u{1}\"", #""\uDC00""#, "[[1]]", "[1]1",
            "01", "1e999", #"{"a":1,"a":1}"#,
        ].reduce(into: []) { seen, text in
            if let e = parseError(text, limits: JSONLimits(maxDepth: 1)) { seen.insert(e.reason) }
        }
        let big = parseError("[1]", limits: JSONLimits(maxBytes: 2))?.reason
        let badUTF8 = parseError([0xFF])?.reason
        #expect(reached.union([big ?? "", badUTF8 ?? ""]) == Set(JSONError.Kind.allCases.map(\.rawValue)))
    }

    @Test func descriptionNamesReasonAndByte() {
        #expect(JSONError(.invalidEscape, at: 17).description == "invalid escape at byte 17")
        #expect(parseError("[1,]")?.description == "trailing comma at byte 2")
        #expect(JSONError(.tooDeep, at: 3).reason == "too deep")
    }

    // MARK: limits

    @Test func depthLimitIsInclusive() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(parseError(ok) == nil)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(parseError(deep) == JSONError(.tooDeep, at: 64))
        let objects = String(repeating: #"{"a":"#, count: 4) + "1" + String(repeating: "}", count: 4)
        #expect(parseError(objects, limits: JSONLimits(maxDepth: 4)) == nil)
        #expect(parseError(objects, limits: JSONLimits(maxDepth: 3)) == JSONError(.tooDeep, at: 15))
        // Siblings do not add up: depth is nesting, not count.
        #expect(parseError("[[1],[2],[[3]]]", limits: JSONLimits(maxDepth: 3)) == nil)
    }

    @Test func sizeLimitIsInclusive() {
        #expect(parseError("[1,2]", limits: JSONLimits(maxBytes: 5)) == nil)
        #expect(parseError("[1,2] ", limits: JSONLimits(maxBytes: 5)) == JSONError(.tooLarge, at: 5))
        let big = "\"" + String(repeating: "x", count: 1 << 20) + "\""
        #expect(parseError(big) == JSONError(.tooLarge, at: 1 << 20))
        #expect(parseError(big, limits: JSONLimits(maxBytes: 2 << 20)) == nil)
    }

    // MARK: strings

    /// Puts a special byte at every position of strings of every length up to 40, so that the
    /// eight-byte scan meets it at every alignment and at both ends.
    @Test func stringScanAtEveryAlignment() throws {
        for n in 1...40 {
            for k in 0..<n {
                let before = String(repeating: "a", count: k), after = String(repeating: "b", count: n - k - 1)
                #expect(try JSON.parse("\"\(before)\\n\(after)\"") == .string(before + "\n" + after))
                #expect(try JSON.parse("\"\(before)é\(after)\"") == .string(before + "é" + after))
                #expect(try JSON.parse("\"\(before) \(after)\u{7F}\"") == .string(before + " " + after + "\u{7F}"))
                #expect(parseError("\"\(before)\u{1F}\(after)\"") == JSONError(.controlCharacterInString, at: 1 + k))
                #expect(parseError(utf8("\"\(before)") + [0xFF] + utf8("\(after)\"")) == JSONError(.invalidUTF8, at: 1 + k))
                #expect(parseError("\"\(before)") == JSONError(.unterminatedString, at: 0))
                #expect(try JSON.parse("[\"\(before)\",\"\(after)\"]") == .array([.string(before), .string(after)]))
            }
        }
    }

    @Test func chineseAndEmoji() throws {
        let doc = #"{"text":"您好，我想咨询一下公积金提取 🙏👍🏽","名字":"王芳","flag":"🇨🇳"}"#
        let v = try JSON.parse(doc)
        #expect(v["text"]?.stringValue == "您好，我想咨询一下公积金提取 🙏👍🏽")
        #expect(v["名字"] == "王芳")
        #expect(v["flag"]?.stringValue?.count == 1)
        #expect(v.serializedString == doc)
        #expect(try JSON.parse(#""\u4f60\u597D""#) == "你好")
    }

    @Test func surrogatePairs() throws {
        #expect(try JSON.parse(#""\ud83d\ude00""#) == "😀")
        #expect(try JSON.parse(#""\uD83D\uDE00\uD83D\uDE01x""#) == "😀😁x")
        #expect(try JSON.parse(#""\uD800\uDC00""#) == "\u{10000}")
        #expect(parseError(#""\uD83D""#) == JSONError(.loneSurrogate, at: 1))
        #expect(parseError(#""\uD83D\uD83D""#) == JSONError(.loneSurrogate, at: 1))
        #expect(parseError(#""\uDE00\uD83D""#) == JSONError(.loneSurrogate, at: 1))
        #expect(parseError(#""ab\uD83D\n""#) == JSONError(.loneSurrogate, at: 3))
        #expect(parseError(#""\uD83D\"#) == JSONError(.unterminatedString, at: 0))
        #expect(parseError(#""\uD83D\uDE0"#) == JSONError(.unterminatedString, at: 0))
    }

    @Test func utf8Boundaries() {
        let wrap = { (b: [UInt8]) in utf8("\"") + b + utf8("\"") }
        // The smallest and largest scalar of each length, and the edges around the surrogates.
        for ok: [UInt8] in [[0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
                            [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF]] {
            #expect(parseError(wrap(ok)) == nil, "\(ok)")
        }
        for bad: [UInt8] in [[0xC1, 0xBF], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF],
                             [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0xBF], [0xC2], [0xE1, 0x80], [0xF1, 0x80, 0x80]] {
            #expect(parseError(wrap(bad)) == JSONError(.invalidUTF8, at: 1), "\(bad)")
        }
        // A sequence cut off by the end of input.
        #expect(parseError(utf8("\"") + [0xE4, 0xBD]) == JSONError(.invalidUTF8, at: 1))
    }

    // MARK: numbers

    @Test func integersAndDoubles() throws {
        #expect(try JSON.parse("0") == .int(0))
        #expect(try JSON.parse("-0") == .int(0))
        #expect(try JSON.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSON.parse("-9223372036854775808") == .int(Int64.min))
        guard case .double(let big) = try JSON.parse("9223372036854775808") else { Issue.record("not a double"); return }
        #expect(big == 9223372036854775808.0)
        guard case .double = try JSON.parse("-9223372036854775809") else { Issue.record("not a double"); return }
        guard case .double(let negZero) = try JSON.parse("-0.0") else { Issue.record("not a double"); return }
        #expect(negZero == 0 && negZero.sign == .minus)
        guard case .double(let one) = try JSON.parse("1.0") else { Issue.record("1.0 is a double"); return }
        #expect(one == 1)
        guard case .double = try JSON.parse("1e2") else { Issue.record("1e2 is a double"); return }
        let exact: [(String, Double)] = [
            ("0.1", 0.1), ("-2.5", -2.5), ("3.14159", 3.14159), ("1e-7", 1e-7), ("123.456e2", 12345.6),
            ("0.000001", 0.000001), ("1.7976931348623157e308", 1.7976931348623157e308), ("5e-324", .leastNonzeroMagnitude),
            ("2.2250738585072014e-308", 2.2250738585072014e-308), ("12345678901234567890.5", 12345678901234567890.5),
            ("0.30000000000000004", 0.30000000000000004),
            ("9007199254740993.0", 9007199254740992), ("1e22", 1e22), ("1e23", 1e23), ("4.9406564584124654e-324", .leastNonzeroMagnitude),
            ("1e-400", 0), ("-1e-400", 0), ("100000000000000000000", 1e20),
        ]
        for (text, value) in exact {
            #expect(try JSON.parse(text).doubleValue == value, "\(text)")
        }
    }

    // MARK: objects

    @Test func duplicateKeysInLargeObjects() throws {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }
        let unique = "{" + members.joined(separator: ",") + "}"
        #expect(try JSON.parse(unique).objectValue?.count == 40)
        for dup in [0, 3, 15, 16, 39] {
            let text = "{" + members.joined(separator: ",") + #","k\#(dup)":0}"#
            #expect(parseError(text)?.kind == .duplicateKey, "k\(dup)")
        }
        let many = "{" + (0..<20_000).map { #""\#($0)":0"# }.joined(separator: ",") + "}"
        #expect(try JSON.parse(many).objectValue?.count == 20_000)
        // Canonically equivalent names (precomposed and decomposed é) would make a lookup by
        // name ambiguous, so they count as the same name.
        #expect(parseError("{\"\u{E9}\":1,\"e\u{301}\":2}")?.kind == .duplicateKey)
    }

    @Test func objectKeepsMemberOrder() throws {
        let v = try JSON.parse(#"{"z":1,"a":2,"m":{"y":[],"b":null}}"#)
        #expect(v.objectValue?.map(\.0) == ["z", "a", "m"])
        #expect(v["m"]?.objectValue?.map(\.0) == ["y", "b"])
        #expect(v == ["z": 1, "a": 2, "m": ["y": [], "b": nil]])
        #expect(v != ["a": 2, "z": 1, "m": ["y": [], "b": nil]])
    }

    // MARK: entry points

    @Test func everyOverloadAgrees() throws {
        let text = #" {"a":[1,"二",{"b":null}]} "#
        let bytes = Array(text.utf8)
        let expected: JSON = ["a": [1, "二", ["b": nil]]]
        #expect(try JSON.parse(text) == expected)
        #expect(try JSON.parse(bytes) == expected)
        let padded = Array("xx".utf8) + bytes + Array("yy".utf8)
        #expect(try JSON.parse(padded[2..<(padded.count - 2)]) == expected)
        let raw = try bytes.withUnsafeBytes { buf throws(JSONError) in try JSON.parse(buf) }
        #expect(raw == expected)
        // Offsets in a slice count from the slice's start.
        let bad = Array("xx[1,]".utf8)
        #expect(throws: JSONError(.trailingComma, at: 2)) { try JSON.parse(bad[2...]) }
        #expect(throws: JSONError(.emptyInput, at: 0)) { try JSON.parse(bad[0..<0]) }
    }

    // MARK: fuzz

    /// Seeded random byte edits of a realistic envelope never crash the parser, and whatever
    /// parses serializes to bytes that parse back to the same value.
    @Test func mutatedEnvelopesNeverCrash() throws {
        let seed: UInt64 = 0xC0FFEE
        var rng = SplitMix(seed: seed)
        let base = Array(#"{"channel":"wechat","account":"wx5d3c1a2b4e6f7089","channelMessageId":"m-1","citizen":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","kind":"text","text":"您好\n请问 \u0041 😀","priority":5,"skills":["general"],"attachments":[],"meta":{"n":-1.5e3,"ok":true,"x":null}}"#.utf8)
        let alphabet = Array(#"{}[]",:\-+.eE0123456789tfnu "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE4, 0xED, 0xF0, 0xFF]
        var parsed = 0
        for _ in 0..<3000 {
            var doc = base
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(doc.count))
                switch rng.next() % 3 {
                case 0: doc[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: doc.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: doc.remove(at: at)
                }
            }
            do {
                let v = try JSON.parse(doc)
                parsed += 1
                #expect(try JSON.parse(v.serializedBytes) == v, "seed \(seed)")
            } catch {
                #expect(error.offset >= 0 && error.offset <= doc.count, "seed \(seed)")
            }
        }
        #expect(parsed > 0, "seed \(seed): no mutation parsed at all")
    }
}

/// SplitMix64, for reproducible fuzzing (the seed is printed on failure).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
