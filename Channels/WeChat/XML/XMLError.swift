// WeChatChannel: why the XML reader refused a document, with the byte offset where it stopped.
// Value type; any thread.

/// A refusal of `XML.parse`: what went wrong and at which byte offset (of the document after
/// line-end normalisation, which only ever shortens it).
public struct XMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The document is larger than `Limits.maxBytes`.
        case tooLarge(limit: Int)
        /// Elements are nested deeper than `Limits.maxDepth`.
        case tooDeep(limit: Int)
        /// More elements than `Limits.maxElements`.
        case tooManyElements(limit: Int)
        /// A name longer than `Limits.maxNameBytes`, or more attributes than `Limits.maxAttributes`.
        case tooLong(String)
        /// The bytes are not UTF-8.
        case invalidUTF8
        /// A character XML 1.0 does not allow (a control character, U+FFFE, U+FFFF, or such a
        /// character reference).
        case invalidCharacter(UInt32)
        /// A `<!DOCTYPE`: refused, because DTDs bring entity expansion and external entities (XXE).
        case doctypeNotAllowed
        /// Another markup declaration (`<!ENTITY`, `<!ELEMENT` …).
        case declarationNotAllowed
        /// A processing instruction other than the XML declaration at the very start.
        case processingInstructionNotAllowed
        /// An entity reference other than the five predefined ones.
        case undefinedEntity(String)
        /// A malformed `&…;` reference.
        case badReference
        /// An XML declaration naming an encoding other than UTF-8.
        case unsupportedEncoding(String)
        /// A malformed XML declaration.
        case badDeclaration
        /// A malformed comment (`--` inside it).
        case badComment
        /// The document has no root element.
        case noRootElement
        /// Text before the root element.
        case textOutsideRoot
        /// Anything but whitespace and comments after the root element.
        case trailingContent
        /// The document ended inside markup or before the root element closed.
        case truncated
        /// An end tag that does not close the open element.
        case mismatchedTag(expected: String, found: String)
        /// `]]>` in character data outside a CDATA section.
        case cdataEndInText
        /// The same attribute twice on one element.
        case duplicateAttribute(String)
        /// Any other syntax error; the text says what was expected.
        case malformed(String)
    }

    /// What went wrong.
    public let kind: Kind
    /// Where, in bytes from the start of the document.
    public let offset: Int

    /// An error of `kind` at `offset`.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .tooLarge(let limit): what = "document larger than \(limit) bytes"
        case .tooDeep(let limit): what = "elements nested deeper than \(limit)"
        case .tooManyElements(let limit): what = "more than \(limit) elements"
        case .tooLong(let which): what = "\(which) over the limit"
        case .invalidUTF8: what = "not valid UTF-8"
        case .invalidCharacter(let c): what = "character U+\(String(c, radix: 16, uppercase: true)) is not allowed in XML"
        case .doctypeNotAllowed: what = "DOCTYPE is not allowed"
        case .declarationNotAllowed: what = "markup declarations (<!ENTITY …>) are not allowed"
        case .processingInstructionNotAllowed: what = "processing instructions are not allowed"
        case .undefinedEntity(let name): what = "undefined entity &\(name);"
        case .badReference: what = "malformed character or entity reference"
        case .unsupportedEncoding(let enc): what = "encoding \(enc) is not supported (only UTF-8)"
        case .badDeclaration: what = "malformed XML declaration"
        case .badComment: what = "malformed comment"
        case .noRootElement: what = "no root element"
        case .textOutsideRoot: what = "text outside the root element"
        case .trailingContent: what = "content after the root element"
        case .truncated: what = "document ends early"
        case .mismatchedTag(let expected, let found): what = "</\(found)> does not close <\(expected)>"
        case .cdataEndInText: what = "']]>' outside a CDATA section"
        case .duplicateAttribute(let name): what = "attribute \(name) given twice"
        case .malformed(let expected): what = "expected \(expected)"
        }
        return "\(what) at byte \(offset)"
    }
}
