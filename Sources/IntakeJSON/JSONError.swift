// IntakeJSON: why a document was refused (`JSONError`) and the bounds a parse runs under
// (`JSONLimits`). Value types; any thread.

/// The bounds one parse runs under. Both are checked before any value is built: the size up
/// front, the depth on every `[` and `{`.
public struct JSONLimits: Sendable, Equatable {
    /// The deepest nesting of arrays and objects accepted; a top-level `[]` is depth 1.
    /// The parser recurses once per level, so keep this at most a few thousand.
    public var maxDepth: Int
    /// The largest document accepted, in bytes.
    public var maxBytes: Int

    /// Limits for one parse; the defaults suit one protocol message (64 levels, 1 MiB).
    public init(maxDepth: Int = 64, maxBytes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }
}

/// Why a JSON document was refused, and where: `kind.rawValue` is a short stable reason
/// ("invalid escape"), `offset` the byte at which the problem was found.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The closed set of reasons. The raw values are stable and may be shown to clients.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The input held nothing but whitespace.
        case emptyInput = "empty input"
        /// The input ended inside a value.
        case unexpectedEnd = "unexpected end of input"
        /// A byte that cannot start or continue a value here.
        case unexpectedCharacter = "unexpected character"
        /// A `,` directly before `]` or `}`; `offset` is the comma.
        case trailingComma = "trailing comma"
        /// A `\` not followed by one of `"\/bfnrt` or by `u` and four hex digits; `offset` is the `\`.
        case invalidEscape = "invalid escape"
        /// A byte sequence that is not well-formed UTF-8; `offset` is its first byte.
        case invalidUTF8 = "invalid UTF-8"
        /// A string without its closing quote; `offset` is the opening quote.
        case unterminatedString = "unterminated string"
        /// A raw byte below 0x20 inside a string.
        case controlCharacterInString = "control character in string"
        /// A `\u` escape of a UTF-16 surrogate that is not part of a high-low pair; `offset` is the `\`.
        case loneSurrogate = "lone surrogate"
        /// Nesting deeper than `JSONLimits.maxDepth`; `offset` is the bracket that went too deep.
        case tooDeep = "too deep"
        /// A document longer than `JSONLimits.maxBytes`; `offset` is `maxBytes`.
        case tooLarge = "too large"
        /// Non-whitespace after the top-level value.
        case trailingData = "trailing data"
        /// A number outside the RFC 8259 grammar (leading zeros, `+1`, `.5`, `1.`, …); `offset` is its first byte.
        case invalidNumber = "invalid number"
        /// A number too large in magnitude for a Double (it would become infinity).
        case numberOutOfRange = "number out of range"
        /// A member name written twice in one object; `offset` is the second occurrence's quote.
        case duplicateKey = "duplicate key"
    }

    /// What went wrong.
    public let kind: Kind
    /// The zero-based byte offset in the input at which it was found.
    public let offset: Int

    /// An error of `kind` found at byte `offset`.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// The short stable reason, e.g. "trailing comma".
    public var reason: String { kind.rawValue }

    /// "invalid escape at byte 17".
    public var description: String { "\(kind.rawValue) at byte \(offset)" }
}
