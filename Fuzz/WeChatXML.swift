// Fuzz target `wechat-xml`: the WeChat adapter's safe XML reader (`XML.parse`), the message
// decoder and normalisation on top of it, and the CDATA writer replies use.
//
// Input: the document (with WeChat's limits when byte 0 is odd, the defaults otherwise; the
// whole input is the document either way).
// Invariants beyond "never crashes":
// - a tree that parses, written back with escapes (the harness's own writer), parses to the
//   same tree; error offsets lie within the input;
// - a message that decodes and normalises gives an Envelope that `Envelope.decodeIngest`
//   accepts unchanged (WeChatMessage+Envelope.swift promises the broker may store it without
//   another check), with a channelMessageId that is the same on a second decode;
// - `XMLWriter.appendCDATA` of any text reads back as that text, minus the characters XML
//   cannot carry, with line ends normalised as every XML reader does.
import IntakeCore
import IntakeJSON
import WeChatChannel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeChatXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let limits = bytes.first.map { $0 & 1 == 1 } == true ? WeChatMessage.xmlLimits : XML.Limits()
    checkCDATA(bytes)
    let root: XML.Element
    do {
        root = try XML.parse(bytes, limits: limits)
    } catch {
        check(error.offset >= 0 && error.offset <= max(bytes.count, limits.maxBytes), "error offset \(error.offset) of \(bytes.count) bytes")
        return 0
    }
    let written = write(root)
    do {
        let again = try XML.parse(written, limits: XML.Limits(maxBytes: 1 << 24, maxDepth: limits.maxDepth,
                                                              maxElements: limits.maxElements, maxNameBytes: limits.maxNameBytes))
        check(again == root, "tree changed after writing it back: \(show(written, limit: 300))")
    } catch {
        fatalError("FUZZ INVARIANT: written-back tree does not parse (\(error)): \(show(written, limit: 300))")
    }

    guard let message = try? WeChatMessage.decode(root) else { return 0 }
    check(message.channelMessageId == (try? WeChatMessage.decode(root))?.channelMessageId, "channelMessageId not stable")
    guard let envelope = try? message.envelope(appId: "wx5d3c1a2b4e6f7089", accountName: "main") else { return 0 }
    do {
        let back = try Envelope.decodeIngest(envelope.toJSON())
        check(back == envelope, "decodeIngest changed the normalised envelope")
    } catch {
        fatalError("FUZZ INVARIANT: the normalised envelope is refused by decodeIngest: \(error)")
    }
    return 0
}

/// Elements with their text escaped (so CR, `<`, `&` and `]]>` survive), text before children.
private func write(_ e: XML.Element) -> [UInt8] {
    var out: [UInt8] = []
    func emit(_ e: XML.Element) {
        out += Array("<\(e.name)>".utf8)
        for b in e.text.utf8 {
            switch b {
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case 0x0D: out += Array("&#13;".utf8)
            default: out.append(b)
            }
        }
        for c in e.children { emit(c) }
        out += Array("</\(e.name)>".utf8)
    }
    emit(e)
    return out
}

/// The reply writer's CDATA: whatever text it is given must read back, minus what XML cannot
/// carry (C0 controls but tab, LF and CR; U+FFFE; U+FFFF), with CR LF and CR as LF.
private func checkCDATA(_ bytes: [UInt8]) {
    let text = String(decoding: bytes.prefix(512), as: UTF8.self)
    let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter {
        ($0.value >= 0x20 || $0.value == 0x09 || $0.value == 0x0A || $0.value == 0x0D) && $0.value != 0xFFFE && $0.value != 0xFFFF
    }))
    // (appendCDATA drops these characters before splitting "]]>": once the other way round,
    // "]]\u{1}>" became a "]]>" that ended the section early — regression test in XMLTests.)
    var doc = Array("<a>".utf8)
    XMLWriter.appendCDATA(text, to: &doc)
    doc += Array("</a>".utf8)
    let parsed: XML.Element
    do {
        parsed = try XML.parse(doc)
    } catch {
        fatalError("FUZZ INVARIANT: appendCDATA output does not parse (\(error)): \(show(doc))")
    }
    let expected = kept.replacingOccurrences("\r\n", "\n").replacingOccurrences("\r", "\n")
    check(parsed.text == expected, "appendCDATA round trip: \(show(Array(parsed.text.utf8))) vs \(show(Array(expected.utf8)))")
}

private extension String {
    /// Byte-wise replacement (no Foundation): "\r\n" is one Character in Swift, so work on UTF-8.
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        let t = Array(target.utf8), r = Array(replacement.utf8), s = Array(utf8)
        var out: [UInt8] = []
        var i = 0
        while i < s.count {
            if i + t.count <= s.count && Array(s[i..<(i + t.count)]) == t {
                out += r
                i += t.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
