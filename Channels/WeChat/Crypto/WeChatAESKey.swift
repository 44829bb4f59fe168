// WeChatChannel: the AES key of an account, from the 43-character EncodingAESKey set in the
// WeChat console. Immutable value; any thread. Its description never shows the key.
import IntakeCrypto

/// The 32-byte AES-256 key derived from an EncodingAESKey, and the IV WeChat uses with it.
///
/// `key = base64decode(EncodingAESKey + "=")`, `iv = key[0..<16]` (Tencent's samples and
/// every SDK). The decoding is deliberately lenient about the discarded low bits of the 43rd
/// character: console-generated keys are random alphanumerics, so about three in four of them
/// are not canonical base64 (the official sample key ends in `G`), and strict decoders reject
/// them (binarywang/WxJava#1454).
public struct WeChatAESKey: Sendable, Equatable, CustomStringConvertible {
    /// Characters in an EncodingAESKey.
    public static let encodedLength = 43

    /// The 32 key bytes.
    public let bytes: [UInt8]

    /// The CBC initialisation vector: the first 16 key bytes.
    public var iv: [UInt8] { Array(bytes[0..<16]) }

    /// Derives the key; throws `invalidAESKey` unless `encodingAESKey` is 43 characters of the
    /// base64 alphabet (the console uses only letters and digits).
    public init(encodingAESKey: String) throws(WeChatCryptoError) {
        let utf8 = Array(encodingAESKey.utf8)
        guard utf8.count == Self.encodedLength else {
            throw .invalidAESKey("must be \(Self.encodedLength) characters, got \(encodingAESKey.count)")
        }
        for c in utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                continue
            default:
                throw .invalidAESKey("must contain only letters and digits")
            }
        }
        // Exactly one "=" makes 44 characters: a decoder that requires length % 4 == 0 accepts it.
        guard let key = Base64.decode(encodingAESKey + "="), key.count == 32 else {
            throw .invalidAESKey("does not decode to 32 bytes")
        }
        bytes = key
    }

    /// A key from its 32 raw bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "BUG: an AES-256 key has 32 bytes, got \(bytes.count)")
        self.bytes = bytes
    }

    /// A fresh random EncodingAESKey (43 letters and digits), as the console would make one.
    public static func randomEncodingAESKey() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var out: [UInt8] = []
        while out.count < encodedLength {
            // Rejection sampling keeps the choice uniform: 248 = 4 × 62.
            for b in SecureRandom.bytes(64) where b < 248 && out.count < encodedLength {
                out.append(alphabet[Int(b) % alphabet.count])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Never the key itself, so it cannot leak into logs.
    public var description: String { "WeChatAESKey(<redacted>)" }
}
