// WeChatChannel: the XML reader behind `XML.parse`. One value per document, used by one thread.
//
// Design: the HTTP layer has already framed and bounded the body, so the reader works on the
// whole document rather than being resumable. It first checks the limits, UTF-8 and the
// characters XML allows, and normalises line ends; then one forward pass with an explicit
// stack (no recursion, so hostile nesting cannot exhaust the thread's stack; depth is limited
// anyway). It refuses, rather than skips, everything that could make a document mean more
// than it says: DOCTYPE and other declarations, processing instructions, undefined entities.

struct XMLReader {
    private let b: [UInt8]
    private var i = 0
    private let limits: XML.Limits
    private var elementCount = 0

    /// An element whose end tag has not been read yet.
    private struct Open {
        var name: String
        var text: [UInt8] = []
        var children: [XML.Element] = []
    }

    init(_ bytes: [UInt8], limits: XML.Limits) throws(XMLError) {
        guard bytes.count <= limits.maxBytes else { throw XMLError(.tooLarge(limit: limits.maxBytes), at: limits.maxBytes) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw XMLError(.invalidUTF8, at: 0) }
        var sawCR = false
        for (k, c) in bytes.enumerated() {
            if c < 0x20 {
                if c == 0x0D { sawCR = true } else if c != 0x09 && c != 0x0A { throw XMLError(.invalidCharacter(UInt32(c)), at: k) }
            } else if c == 0xBF, k >= 2, bytes[k - 2] == 0xEF, bytes[k - 1] == 0xBF {
                // EF BF BE / EF BF BF would be U+FFFE / U+FFFF, which are not XML characters.
                throw XMLError(.invalidCharacter(0xFFFF), at: k - 2)
            } else if c == 0xBE, k >= 2, bytes[k - 2] == 0xEF, bytes[k - 1] == 0xBF {
                throw XMLError(.invalidCharacter(0xFFFE), at: k - 2)
            }
        }
        // XML 1.0 §2.11: CR LF and a lone CR become LF before parsing (CDATA included).
        if sawCR {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var k = 0
            while k < bytes.count {
                if bytes[k] == 0x0D {
                    out.append(0x0A)
                    if k + 1 < bytes.count && bytes[k + 1] == 0x0A { k += 1 }
                } else {
                    out.append(bytes[k])
                }
                k += 1
            }
            b = out
        } else {
            b = bytes
        }
        self.limits = limits
    }

    // MARK: document

    mutating func document() throws(XMLError) -> XML.Element {
        if starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }  // a UTF-8 byte-order mark
        if starts(with: Array("<?xml".utf8)), i + 5 < b.count, b[i + 5] == UInt8(ascii: "?") || isSpace(b[i + 5]) {
            try declaration()
        }
        try misc()
        guard i < b.count else { throw fail(.noRootElement) }
        guard b[i] == UInt8(ascii: "<") else { throw fail(.textOutsideRoot) }
        let root = try rootElement()
        try misc()
        guard i == b.count else { throw fail(.trailingContent) }
        return root
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`: version required, encoding
    /// only UTF-8.
    private mutating func declaration() throws(XMLError) {
        let start = i
        i += 5
        var seen: [String] = []
        while true {
            let hadSpace = skipSpace()
            guard i < b.count else { throw XMLError(.truncated, at: i) }
            if starts(with: Array("?>".utf8)) { i += 2; break }
            guard hadSpace else { throw XMLError(.badDeclaration, at: i) }
            let name = try self.name()
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "=") else { throw XMLError(.badDeclaration, at: i) }
            i += 1
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else { throw XMLError(.badDeclaration, at: i) }
            let quote = b[i]
            let valueStart = i + 1
            guard let end = b[valueStart...].firstIndex(of: quote) else { throw XMLError(.truncated, at: i) }
            let value = String(decoding: b[valueStart..<end], as: UTF8.self)
            i = end + 1
            let expected = ["version", "encoding", "standalone"]
            guard let order = expected.firstIndex(of: name), !seen.contains(name),
                  seen.allSatisfy({ expected.firstIndex(of: $0)! < order }),
                  name == "version" || seen.contains("version") else {
                throw XMLError(.badDeclaration, at: start)
            }
            seen.append(name)
            if name == "encoding" {
                let lower = value.lowercased()
                guard lower == "utf-8" || lower == "utf8" else { throw XMLError(.unsupportedEncoding(value), at: valueStart) }
            }
        }
        guard seen.contains("version") else { throw XMLError(.badDeclaration, at: start) }
    }

    /// Whitespace and comments between the top-level parts; everything else that starts with
    /// `<!` or `<?` is refused here.
    private mutating func misc() throws(XMLError) {
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "<") else { return }
            if starts(with: Array("<!--".utf8)) {
                try comment()
            } else if starts(with: Array("<![CDATA[".utf8)) {
                throw fail(.textOutsideRoot)
            } else {
                try refuseDeclarations()
                return
            }
        }
    }

    /// Throws for `<!DOCTYPE`, any other `<!…` (comments and CDATA are handled before), and `<?…`.
    private func refuseDeclarations() throws(XMLError) {
        if starts(with: Array("<!DOCTYPE".utf8)) { throw fail(.doctypeNotAllowed) }
        if starts(with: Array("<!".utf8)) { throw fail(.declarationNotAllowed) }
        if starts(with: Array("<?".utf8)) { throw fail(.processingInstructionNotAllowed) }
    }

    // MARK: elements

    private mutating func rootElement() throws(XMLError) -> XML.Element {
        var stack: [Open] = []
        switch try startTag(depth: 1) {
        case .closed(let e): return e
        case .open(let o): stack.append(o)
        }
        while true {
            guard i < b.count else { throw fail(.truncated) }
            if b[i] != UInt8(ascii: "<") {
                try text(into: &stack[stack.count - 1].text)
                continue
            }
            if starts(with: Array("</".utf8)) {
                let e = try endTag(stack.removeLast())
                if stack.isEmpty { return e }
                stack[stack.count - 1].children.append(e)
            } else if starts(with: Array("<!--".utf8)) {
                try comment()
            } else if starts(with: Array("<![CDATA[".utf8)) {
                try cdata(into: &stack[stack.count - 1].text)
            } else {
                try refuseDeclarations()
                switch try startTag(depth: stack.count + 1) {
                case .closed(let e): stack[stack.count - 1].children.append(e)
                case .open(let o): stack.append(o)
                }
            }
        }
    }

    private enum StartTag {
        case open(Open)
        case closed(XML.Element)
    }

    /// `<name attr="v" …>` or `<name …/>`; attributes are checked and dropped.
    private mutating func startTag(depth: Int) throws(XMLError) -> StartTag {
        guard depth <= limits.maxDepth else { throw fail(.tooDeep(limit: limits.maxDepth)) }
        elementCount += 1
        guard elementCount <= limits.maxElements else { throw fail(.tooManyElements(limit: limits.maxElements)) }
        i += 1
        let name = try self.name()
        var attributes: [String] = []
        while true {
            let hadSpace = skipSpace()
            guard i < b.count else { throw fail(.truncated) }
            if b[i] == UInt8(ascii: ">") {
                i += 1
                return .open(Open(name: name))
            }
            if starts(with: Array("/>".utf8)) {
                i += 2
                return .closed(XML.Element(name: name))
            }
            guard hadSpace else { throw fail(.malformed("'>', '/>' or whitespace before an attribute")) }
            let attrStart = i
            let attr = try self.name()
            guard !attributes.contains(attr) else { throw XMLError(.duplicateAttribute(attr), at: attrStart) }
            attributes.append(attr)
            guard attributes.count <= limits.maxAttributes else { throw XMLError(.tooLong("attribute count"), at: attrStart) }
            skipSpace()
            guard i < b.count else { throw fail(.truncated) }
            guard b[i] == UInt8(ascii: "=") else { throw fail(.malformed("'=' after attribute \(attr)")) }
            i += 1
            skipSpace()
            guard i < b.count else { throw fail(.truncated) }
            let quote = b[i]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw fail(.malformed("a quoted attribute value")) }
            i += 1
            var discarded: [UInt8] = []
            while true {
                guard i < b.count else { throw fail(.truncated) }
                let c = b[i]
                if c == quote { i += 1; break }
                if c == UInt8(ascii: "<") { throw fail(.malformed("no '<' in an attribute value")) }
                if c == UInt8(ascii: "&") { try reference(into: &discarded); discarded.removeAll(keepingCapacity: true); continue }
                i += 1
            }
        }
    }

    /// `</name>` closing `open`.
    private mutating func endTag(_ open: Open) throws(XMLError) -> XML.Element {
        let start = i
        i += 2
        let name = try self.name()
        skipSpace()
        guard i < b.count else { throw fail(.truncated) }
        guard b[i] == UInt8(ascii: ">") else { throw fail(.malformed("'>' to end </\(name)")) }
        guard name == open.name else { throw XMLError(.mismatchedTag(expected: open.name, found: name), at: start) }
        i += 1
        // The input is valid UTF-8 and every cut is at an ASCII delimiter, so this never repairs.
        return XML.Element(name: name, text: String(decoding: open.text, as: UTF8.self), children: open.children)
    }

    /// A name: a letter, `_`, `:` or any non-ASCII character, then also digits, `-` and `.`.
    private mutating func name() throws(XMLError) -> String {
        let start = i
        guard i < b.count else { throw fail(.truncated) }
        guard isNameStart(b[i]) else { throw fail(.malformed("a name")) }
        i += 1
        while i < b.count, isNameStart(b[i]) || isDigit(b[i]) || b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: ".") {
            i += 1
        }
        guard i - start <= limits.maxNameBytes else { throw XMLError(.tooLong("name"), at: start) }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    // MARK: character data

    /// Character data up to the next `<`, with references resolved.
    private mutating func text(into out: inout [UInt8]) throws(XMLError) {
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "<") { return }
            if c == UInt8(ascii: "&") { try reference(into: &out); continue }
            if c == UInt8(ascii: "]"), starts(with: Array("]]>".utf8)) { throw fail(.cdataEndInText) }
            out.append(c)
            i += 1
        }
    }

    /// `<![CDATA[ … ]]>`: the bytes between, as they are.
    private mutating func cdata(into out: inout [UInt8]) throws(XMLError) {
        let start = i
        i += 9
        guard let end = find(Array("]]>".utf8), from: i) else { throw XMLError(.truncated, at: start) }
        out.append(contentsOf: b[i..<end])
        i = end + 3
    }

    /// `<!-- … -->`, with no `--` inside.
    private mutating func comment() throws(XMLError) {
        let start = i
        i += 4
        guard let dashes = find(Array("--".utf8), from: i) else { throw XMLError(.truncated, at: start) }
        guard dashes + 2 < b.count else { throw XMLError(.truncated, at: start) }
        guard b[dashes + 2] == UInt8(ascii: ">") else { throw XMLError(.badComment, at: dashes) }
        i = dashes + 3
    }

    /// `&lt;` `&gt;` `&amp;` `&apos;` `&quot;` `&#N;` `&#xH;`, appended as UTF-8.
    private mutating func reference(into out: inout [UInt8]) throws(XMLError) {
        let start = i
        i += 1
        guard let semi = b[i..<min(b.count, i + 12)].firstIndex(of: UInt8(ascii: ";")) else {
            throw XMLError(.badReference, at: start)
        }
        let body = b[i..<semi]
        i = semi + 1
        if body.first == UInt8(ascii: "#") {
            var digits = body.dropFirst()
            let hex = digits.first == UInt8(ascii: "x")
            if hex { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.count <= 8 else { throw XMLError(.badReference, at: start) }
            var v: UInt32 = 0
            for d in digits {
                let n: UInt32
                if isDigit(d) { n = UInt32(d - 48) }
                else if hex, (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(d | 0x20) { n = UInt32((d | 0x20) - 87) }
                else { throw XMLError(.badReference, at: start) }
                v = v * (hex ? 16 : 10) + n
            }
            // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
            let allowed = v == 0x9 || v == 0xA || v == 0xD || (0x20...0xD7FF).contains(v)
                || (0xE000...0xFFFD).contains(v) || (0x10000...0x10FFFF).contains(v)
            guard allowed, let scalar = Unicode.Scalar(v) else { throw XMLError(.invalidCharacter(v), at: start) }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
            return
        }
        switch String(decoding: body, as: UTF8.self) {
        case "lt": out.append(UInt8(ascii: "<"))
        case "gt": out.append(UInt8(ascii: ">"))
        case "amp": out.append(UInt8(ascii: "&"))
        case "apos": out.append(UInt8(ascii: "'"))
        case "quot": out.append(UInt8(ascii: "\""))
        case let name:
            guard let first = body.first, isNameStart(first) else { throw XMLError(.badReference, at: start) }
            throw XMLError(.undefinedEntity(name), at: start)
        }
    }

    // MARK: bytes

    private func fail(_ kind: XMLError.Kind) -> XMLError { XMLError(kind, at: i) }

    private func starts(with prefix: [UInt8]) -> Bool {
        guard i + prefix.count <= b.count else { return false }
        for k in 0..<prefix.count where b[i + k] != prefix[k] { return false }
        return true
    }

    private func find(_ needle: [UInt8], from: Int) -> Int? {
        var k = from
        while k + needle.count <= b.count {
            if b[k] == needle[0] {
                var match = true
                for j in 1..<needle.count where b[k + j] != needle[j] { match = false; break }
                if match { return k }
            }
            k += 1
        }
        return nil
    }

    @discardableResult
    private mutating func skipSpace() -> Bool {
        let start = i
        while i < b.count, isSpace(b[i]) { i += 1 }
        return i > start
    }

    private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private func isNameStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c >= 0x80
    }
}
