// The XML reader and writer: WeChat's shapes (CDATA, split CDATA, bare numbers, indentation,
// CRLF), references, and everything hostile (DOCTYPE and entity tricks, processing
// instructions, deep nesting, truncation at every byte, oversized input, byte flips).
import Testing
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatXMLTests {
    static let sample = """
        <?xml version="1.0" encoding="UTF-8"?>
        <xml>
          <ToUserName><![CDATA[gh_12345hotline]]></ToUserName>
          <FromUserName><![CDATA[oHot5t0aB1cD2eF3gH4iJ5kL6mN7]]></FromUserName>
          <CreateTime>1700000000</CreateTime>
          <MsgType><![CDATA[text]]></MsgType>
          <Content><![CDATA[a<b>&c]]]]><![CDATA[>d]]> &amp; &lt;&#x4F60;&#22909;&gt;</Content>
          <MsgId>7341234567890123456</MsgId>
          <!-- a comment -->
          <Unknown attr="1" other='&quot;'><Nested>ignored</Nested></Unknown>
          <Empty/>
        </xml>
        """

    @Test func readsWeChatShapes() throws {
        let root = try XML.parse(Self.sample)
        #expect(root.name == "xml")
        #expect(root.childText("ToUserName") == "gh_12345hotline")
        #expect(root.childText("CreateTime") == "1700000000")
        #expect(root.childText("Content") == "a<b>&c]]>d & <你好>")
        #expect(root.childText("MsgId") == "7341234567890123456")
        #expect(root.child("Unknown")?.childText("Nested") == "ignored")
        #expect(root.childText("Empty") == "")
        #expect(root.children.count == 8)
        let message = try WeChatMessage.decode(root)
        #expect(message.body == .text(content: "a<b>&c]]>d & <你好>"))
        #expect(message.field("Unknown") == nil)
    }

    /// Found by fuzzing (Fuzz/README.md, wechat-xml-cdata-split): dropping a control character
    /// between "]]" and ">" must not leave a literal "]]>" that ends the CDATA section early.
    @Test func cdataSplitAfterDroppingControlCharacters() throws {
        for text in ["]]\u{1}><x/>", "a]]\u{1F}>b", "]\u{2}]>", "]]\u{FFFE}>z"] {
            var doc = Array("<xml><Content>".utf8)
            XMLWriter.appendCDATA(text, to: &doc)
            doc += Array("</Content></xml>".utf8)
            let root = try XML.parse(doc)
            let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0xFFFE }))
            #expect(root.childText("Content") == kept, "\(text.debugDescription)")
            #expect(root.children.count == 1, "no markup injected")
        }
    }

    @Test func lineEndsAreNormalised() throws {
        let root = try XML.parse("<xml>\r\n<a><![CDATA[1\r\n2\r3]]></a><b>x&#13;y</b></xml>")
        #expect(root.childText("a") == "1\n2\n3")
        #expect(root.childText("b") == "x\ry")  // a character reference is not normalised
        #expect(root.text == "\n")
    }

    @Test func byteOrderMarkAndDeclarations() throws {
        #expect(try XML.parse([0xEF, 0xBB, 0xBF] + Array("<xml/>".utf8)).name == "xml")
        #expect(try XML.parse("<?xml version='1.0' standalone='yes'?><xml/>").name == "xml")
        #expect(try XML.parse("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<xml/>").name == "xml")
        #expect(kind("<?xml version=\"1.0\" encoding=\"GBK\"?><xml/>") == .unsupportedEncoding("GBK"))
        #expect(kind("<?xml encoding=\"UTF-8\"?><xml/>") == .badDeclaration)
        #expect(kind("<?xml version=\"1.0\" bogus=\"1\"?><xml/>") == .badDeclaration)
        #expect(kind(" <?xml version=\"1.0\"?><xml/>") == .processingInstructionNotAllowed)
    }

    @Test func dtdsAndEntitiesAreRefused() {
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><xml><a>&lol2;</a></xml>
            """
        #expect(kind(laughs) == .doctypeNotAllowed)
        let xxe = #"<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>"#
        #expect(kind(xxe) == .doctypeNotAllowed)
        #expect(kind("<xml><!DOCTYPE x></xml>") == .doctypeNotAllowed)
        #expect(kind("<xml><!ENTITY x \"y\"></xml>") == .declarationNotAllowed)
        #expect(kind("<!ELEMENT xml ANY><xml/>") == .declarationNotAllowed)
        #expect(kind("<xml><a>&xxe;</a></xml>") == .undefinedEntity("xxe"))
        #expect(kind("<xml><a>&nbsp;</a></xml>") == .undefinedEntity("nbsp"))
        #expect(kind("<xml><a>& b</a></xml>") == .badReference)
        #expect(kind("<xml><a>&amp</a></xml>") == .badReference)
        #expect(kind("<xml><a>&#0;</a></xml>") == .invalidCharacter(0))
        #expect(kind("<xml><a>&#xD800;</a></xml>") == .invalidCharacter(0xD800))
        #expect(kind("<xml><a>&#x110000;</a></xml>") == .invalidCharacter(0x110000))
        #expect(kind("<xml><a>&#xZZ;</a></xml>") == .badReference)
        #expect(kind("<xml a=\"&ent;\"/>") == .undefinedEntity("ent"))
    }

    @Test func processingInstructionsAreRefused() {
        #expect(kind("<?xml-stylesheet href=\"x\"?><xml/>") == .processingInstructionNotAllowed)
        #expect(kind("<xml><?php echo 1; ?></xml>") == .processingInstructionNotAllowed)
        #expect(kind("<xml/><?pi?>") == .processingInstructionNotAllowed)
    }

    @Test func structureErrors() {
        #expect(kind("") == .noRootElement)
        #expect(kind("   ") == .noRootElement)
        #expect(kind("hello<xml/>") == .textOutsideRoot)
        #expect(kind("<![CDATA[x]]><xml/>") == .textOutsideRoot)
        #expect(kind("<xml/><xml/>") == .trailingContent)
        #expect(kind("<xml/>tail") == .trailingContent)
        #expect(kind("<xml><a></b></xml>") == .mismatchedTag(expected: "a", found: "b"))
        #expect(kind("<yml><a/></xml>") == .mismatchedTag(expected: "yml", found: "xml"))
        #expect(kind("<xml>a]]>b</xml>") == .cdataEndInText)
        #expect(kind("<xml a=\"1\" a=\"2\"/>") == .duplicateAttribute("a"))
        #expect(kind("<xml a=1/>") == .malformed("a quoted attribute value"))
        #expect(kind("<xml><!-- a -- b --></xml>") == .badComment)
        #expect(kind("<1xml/>") == .malformed("a name"))
        #expect(kind("<xml><a b=\"<\"/></xml>") == .malformed("no '<' in an attribute value"))
        #expect(kind("<xml>\u{1}</xml>") == .invalidCharacter(1))
        #expect(kind([0x3C, 0x78, 0x3E, 0xFF, 0x3C, 0x2F, 0x78, 0x3E]) == .invalidUTF8)
        #expect(kind("<xml>\u{FFFE}</xml>") == .invalidCharacter(0xFFFE))
    }

    @Test func limits() throws {
        let deep = String(repeating: "<a>", count: 17) + String(repeating: "</a>", count: 17)
        #expect(kind(deep) == .tooDeep(limit: 16))
        let ok = String(repeating: "<a>", count: 16) + String(repeating: "</a>", count: 16)
        #expect(try XML.parse(ok).name == "a")
        // Far deeper than any stack would allow with a recursive reader: refused at the limit.
        let hostile = String(repeating: "<a>", count: 200_000)
        #expect(kind(hostile) == .tooDeep(limit: 16))
        #expect(kind(hostile, XML.Limits(maxBytes: 1 << 20, maxDepth: 1 << 30, maxElements: 1 << 30)) == .truncated)
        let many = "<xml>" + String(repeating: "<a/>", count: 4096) + "</xml>"
        #expect(kind(many) == .tooManyElements(limit: 4096))
        let big = "<xml>" + String(repeating: "x", count: 1 << 20) + "</xml>"
        #expect(kind(big) == .tooLarge(limit: 1 << 20))
        #expect(kind("<xml/>", XML.Limits(maxBytes: 5)) == .tooLarge(limit: 5))
        #expect(kind("<" + String(repeating: "n", count: 129) + "/>") == .tooLong("name"))
        let attrs = "<xml " + (0..<17).map { "a\($0)=\"\"" }.joined(separator: " ") + "/>"
        #expect(kind(attrs) == .tooLong("attribute count"))
    }

    @Test func everyTruncationIsRefused() {
        let doc = Array(Self.sample.utf8)
        for n in 0..<doc.count {
            // A cut inside a multi-byte character is invalid UTF-8; every other cut is an
            // unfinished document. Either way: an error, never a partial tree.
            #expect(throws: XMLError.self, "cut at \(n)") { try XML.parse(Array(doc[0..<n])) }
        }
    }

    @Test func byteFlipsNeverTrap() {
        var rng = SplitMix(seed: 0x5eed_1234)
        let doc = Array(Self.sample.utf8)
        for _ in 0..<3000 {
            var d = doc
            for _ in 0..<Int(rng.next() % 4 + 1) {
                d[Int(rng.next() % UInt64(d.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            _ = try? XML.parse(d)  // refused or read; the test is that nothing traps
        }
    }

    @Test func writerEscapesCDATAAndDropsWhatXMLCannotCarry() throws {
        for text in ["plain", "]]>", "a]]>b]]>c", "]]]]>", "]]", "x]", "中文 ✅ 👨‍👩‍👧", "tab\tnl\n", "bell\u{7}null\u{0}", "\u{FFFE}\u{FFFF}ok"] {
            var w = XMLWriter()
            w.open("xml")
            w.cdataElement("C", text)
            w.close("xml")
            let read = try XML.parse(w.bytes).childText("C")
            let expected = String(text.unicodeScalars.filter {
                $0.value >= 0x20 && $0.value != 0xFFFE && $0.value != 0xFFFF || $0 == "\t" || $0 == "\n"
            }.map(Character.init))
            #expect(read == expected, "\(text.debugDescription)")
        }
        var w = XMLWriter()
        w.cdataElement("C", "x]]>y")
        #expect(String(decoding: w.bytes, as: UTF8.self) == "<C><![CDATA[x]]]]><![CDATA[>y]]></C>")
    }

    func kind(_ s: String, _ limits: XML.Limits = XML.Limits()) -> XMLError.Kind? {
        kind(Array(s.utf8), limits)
    }

    func kind(_ b: [UInt8], _ limits: XML.Limits = XML.Limits()) -> XMLError.Kind? {
        do {
            _ = try XML.parse(b, limits: limits)
            return nil
        } catch {
            return error.kind
        }
    }
}

/// A small seeded generator, so a failing case can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
