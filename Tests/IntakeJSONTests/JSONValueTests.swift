// The value side of IntakeJSON: the compact serializer and appendQuoted, round trips through
// the parser, the typed accessors and the literal conformances.
import Testing
import IntakeJSON

@Suite(.timeLimit(.minutes(5)))
struct JSONValueTests {
    // MARK: serializer

    @Test func compactOutput() {
        let v: JSON = ["a": 1, "b": [true, false, nil], "c": 1.5, "d": "x\"y\\z\n\u{1}", "e": [:], "f": []]
        #expect(v.serializedString == #"{"a":1,"b":[true,false,null],"c":1.5,"d":"x\"y\\z\n\u0001","e":{},"f":[]}"#)
        #expect(JSON.int(Int64.min).serializedString == "-9223372036854775808")
        #expect(JSON.int(Int64.max).serializedString == "9223372036854775807")
        #expect(JSON.int(0).serializedString == "0")
        #expect(JSON.int(-7).serializedString == "-7")
        #expect(JSON.double(1).serializedString == "1.0")
        #expect(JSON.double(0.1).serializedString == "0.1")
        #expect(JSON.double(-0.0).serializedString == "-0.0")
        #expect(JSON.double(1e21).serializedString == "1e+21")
        #expect(JSON.double(.nan).serializedString == "null")
        #expect(JSON.double(.infinity).serializedString == "null")
        #expect(JSON.double(-.infinity).serializedString == "null")
        #expect(JSON.null.description == "null")
    }

    @Test func everyControlCharacterIsEscaped() {
        let named: [UInt8: String] = [0x08: #"\b"#, 0x09: #"\t"#, 0x0A: #"\n"#, 0x0C: #"\f"#, 0x0D: #"\r"#]
        for b in UInt8(0)..<0x20 {
            let s = String(decoding: [b], as: UTF8.self)
            let hex = String(b, radix: 16)
            let expected = named[b] ?? #"\u00"# + (hex.count == 1 ? "0" + hex : hex)
            #expect(JSON.string(s).serializedString == "\"\(expected)\"", "byte \(b)")
        }
        #expect(JSON.string("\u{7F}/").serializedString == "\"\u{7F}/\"")
    }

    @Test func unicodeStaysUTF8() {
        var out: [UInt8] = []
        JSON.appendQuoted("王芳 😀 é\u{2028}", to: &out)
        #expect(out == Array("\"王芳 😀 é\u{2028}\"".utf8))
        out.removeAll()
        JSON.appendQuoted("", to: &out)
        #expect(out == Array(#""""#.utf8))
        out = Array("x=".utf8)
        JSON.appendQuoted("a\"b", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"x="a\"b""#)
    }

    @Test func serializeAppends() {
        var out = Array("{\"line\":".utf8)
        JSON.array([1, "two"]).serialize(into: &out)
        out.append(0x7D)
        #expect(String(decoding: out, as: UTF8.self) == #"{"line":[1,"two"]}"#)
        #expect(JSON.bool(true).serializedBytes == Array("true".utf8))
    }

    // MARK: round trips

    @Test func valuesRoundTrip() throws {
        let controls = String(decoding: Array(UInt8(0)..<0x20), as: UTF8.self)
        let values: [JSON] = [
            nil, true, false, 0, -1, .int(Int64.min), .int(Int64.max),
            0.1, -2.5, 1e300, -1e-300, .double(.leastNonzeroMagnitude), .double(.greatestFiniteMagnitude),
            .double(123456789.123), 1.0, .double(9007199254740992),
            "", "plain", .string(controls), "\"\\/", "您好，世界", "👍🏽🇨🇳\u{10FFFF}", "a\u{0}b",
            [], [:], [[[]]], ["k": ["n": [1, 2.5, "3", nil, true]]],
            ["名字": "王芳", "emoji": "😀", "": ""],
        ]
        for v in values {
            let bytes = v.serializedBytes
            #expect(try JSON.parse(bytes) == v, "\(v)")
            #expect(try JSON.parse(bytes).serializedBytes == bytes, "\(v)")
        }
        let negZero = try JSON.parse(JSON.double(-0.0).serializedBytes).doubleValue
        #expect(negZero?.sign == .minus)
    }

    @Test func documentsRoundTripToCompactForm() throws {
        let cases: [(String, String)] = [
            (#" { "a" : [ 1 , 2 ] , "b" : { } } "#, #"{"a":[1,2],"b":{}}"#),
            (#"["\u00e9\u4F60\ud83d\ude00\/"]"#, #"["é你😀/"]"#),
            (#"[1E2, 1e-2, -0, 10.50]"#, #"[100.0,0.01,0,10.5]"#),
            (#"{"x":"\u001f\u007f"}"#, "{\"x\":\"\\u001f\u{7F}\"}"),
        ]
        for (input, compact) in cases {
            #expect(try JSON.parse(input).serializedString == compact, "\(input)")
        }
    }

    // MARK: accessors

    @Test func accessors() throws {
        let v = try JSON.parse(#"{"s":"x","i":42,"d":2.5,"di":3.0,"big":1e19,"b":true,"n":null,"a":[10,20],"o":{"k":"v"}}"#)
        #expect(v["s"]?.stringValue == "x")
        #expect(v["i"]?.intValue == 42)
        #expect(v["i"]?.doubleValue == 42)
        #expect(v["d"]?.doubleValue == 2.5)
        #expect(v["d"]?.intValue == nil)
        #expect(v["di"]?.intValue == 3)
        #expect(v["big"]?.intValue == nil)
        #expect(v["b"]?.boolValue == true)
        #expect(v["n"]?.isNull == true)
        #expect(v["s"]?.isNull == false)
        #expect(v["a"]?[1] == 20)
        #expect(v["a"]?[2] == nil)
        #expect(v["a"]?[-1] == nil)
        #expect(v["a"]?.arrayValue?.count == 2)
        #expect(v["o"]?["k"] == "v")
        #expect(v["o"]?.objectValue?.first?.0 == "k")
        #expect(v["missing"] == nil)
        // Wrong types answer nil, never a conversion.
        #expect(v["s"]?.intValue == nil)
        #expect(v["i"]?.stringValue == nil)
        #expect(v["b"]?.intValue == nil)
        #expect(v["n"]?.boolValue == nil)
        #expect(v["a"]?["k"] == nil)
        #expect(v["o"]?[0] == nil)
        #expect(v.arrayValue == nil)
        #expect(JSON.string("x").objectValue == nil)
        #expect(JSON.double(-9.223372036854775808e18).intValue == Int64.min)
        #expect(JSON.double(.nan).intValue == nil)
    }

    // MARK: literals

    @Test func literals() {
        let v: JSON = ["s": "x", "i": 1, "d": 1.5, "b": false, "n": nil, "a": [1, "2"], "o": ["k": [:]]]
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["s", "i", "d", "b", "n", "a", "o"])
        #expect(members[0].1 == .string("x"))
        #expect(members[1].1 == .int(1))
        #expect(members[2].1 == .double(1.5))
        #expect(members[3].1 == .bool(false))
        #expect(members[4].1 == .null)
        #expect(members[5].1 == .array([.int(1), .string("2")]))
        #expect(members[6].1 == .object([("k", .object([]))]))
    }

    @Test func equality() {
        #expect(JSON.int(2) == JSON.double(2.0))
        #expect(JSON.int(2) != JSON.string("2"))
        #expect(JSON.object([("a", 1), ("b", 2)]) != JSON.object([("b", 2), ("a", 1)]))
        #expect(JSON.array([1]) != JSON.array([1, 1]))
    }
}
