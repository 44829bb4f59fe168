// WeChatChannel: why a key, a signature or an encrypted frame was refused. Each case names the
// step of the official WXBizMsgCrypt algorithm that failed (Tencent's error code in the
// comment), so an operator can tell a wrong key from a tampered message. Value type; any thread.

/// A failure of the WeChat message crypto (WXBizMsgCrypt).
public enum WeChatCryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The EncodingAESKey is not 43 base64 characters decoding to 32 bytes (-40004 IllegalAesKey).
    case invalidAESKey(String)
    /// `Encrypt` is not standard base64 (-40010 DecodeBase64_Error).
    case badBase64
    /// The ciphertext is not a non-empty multiple of 32 bytes (-40007 DecryptAES_Error).
    case badCiphertextLength(Int)
    /// The PKCS#7 (block 32) padding is not 1…32 equal bytes (-40007).
    case badPadding
    /// Fewer than 16 random + 4 length bytes remain after unpadding (-40008 IllegalBuffer).
    case frameTooShort(Int)
    /// The length field claims more bytes than the frame holds (-40008 IllegalBuffer).
    case badMessageLength(declared: Int, available: Int)
    /// The id at the end of the frame is not this account's AppID (-40005 ValidateAppid_Error).
    case receiveIdMismatch
    /// OpenSSL refused the operation (should not happen with a valid key).
    case cipher(String)

    public var description: String {
        switch self {
        case .invalidAESKey(let why): return "invalid EncodingAESKey: \(why)"
        case .badBase64: return "Encrypt is not valid base64"
        case .badCiphertextLength(let n): return "ciphertext of \(n) bytes is not a non-empty multiple of 32"
        case .badPadding: return "bad PKCS#7 padding (block 32)"
        case .frameTooShort(let n): return "decrypted frame of \(n) bytes is too short"
        case .badMessageLength(let declared, let available):
            return "message length field \(declared) exceeds the \(available) bytes available"
        case .receiveIdMismatch: return "the AppID in the decrypted frame is not this account's"
        case .cipher(let why): return "cipher failure: \(why)"
        }
    }
}
