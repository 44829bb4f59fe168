// WeChatChannel: builds the flat XML documents WeChat expects (passive replies and the
// encrypted envelope). A value built and read by one thread.

/// Appends elements to an XML document, string values in CDATA as every WeChat SDK writes them.
///
/// CDATA cannot contain `]]>`, so that sequence is split across two sections
/// (`]]]]><![CDATA[>`), which a reader joins back. Characters XML 1.0 cannot carry at all (C0
/// controls other than tab, LF and CR; U+FFFE; U+FFFF) are dropped: there is no escape for
/// them, and a reply containing one would not parse at WeChat's end.
public struct XMLWriter: Sendable {
    /// The document so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty document.
    public init() {}

    /// `<name>`.
    public mutating func open(_ name: String) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ">"))
    }

    /// `</name>`.
    public mutating func close(_ name: String) {
        bytes.append(contentsOf: "</".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ">"))
    }

    /// `<name><![CDATA[value]]></name>`.
    public mutating func cdataElement(_ name: String, _ value: String) {
        open(name)
        Self.appendCDATA(value, to: &bytes)
        close(name)
    }

    /// `<name>value</name>` for an integer (CreateTime, ArticleCount, TimeStamp).
    public mutating func integerElement(_ name: String, _ value: Int64) {
        open(name)
        bytes.append(contentsOf: String(value).utf8)
        close(name)
    }

    /// Raw bytes (a newline between elements, as wechatpy writes the envelope).
    public mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends `<![CDATA[value]]>`, splitting `]]>` and dropping characters XML cannot carry.
    public static func appendCDATA(_ value: String, to out: inout [UInt8]) {
        out.append(contentsOf: "<![CDATA[".utf8)
        // First drop what XML cannot carry, then split "]]>" in what is left: the other order
        // let "]]\u{1}>" become a literal "]]>" that ended the section early (found by fuzzing).
        let all = Array(value.utf8)
        var v: [UInt8] = []
        v.reserveCapacity(all.count)
        var k = 0
        while k < all.count {
            let c = all[k]
            if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { k += 1; continue }
            if c == 0xEF, k + 2 < all.count, all[k + 1] == 0xBF, all[k + 2] == 0xBE || all[k + 2] == 0xBF { k += 3; continue }
            v.append(c)
            k += 1
        }
        k = 0
        while k < v.count {
            if v[k] == UInt8(ascii: "]"), k + 2 < v.count, v[k + 1] == UInt8(ascii: "]"), v[k + 2] == UInt8(ascii: ">") {
                out.append(contentsOf: "]]]]><![CDATA[>".utf8)
                k += 3
                continue
            }
            out.append(v[k])
            k += 1
        }
        out.append(contentsOf: "]]>".utf8)
    }
}
