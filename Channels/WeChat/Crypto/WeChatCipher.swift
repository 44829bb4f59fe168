// WeChatChannel: the encrypted frame of safe and compatible mode (WXBizMsgCrypt), exactly as
// Tencent's samples and wechatpy build it. Immutable value; any thread.
//
// Design: the frame is
//
//     random[16] ‖ uint32_be(len(msg)) ‖ msg ‖ appid ‖ pad
//
// padded with PKCS#7 over 32-byte blocks (the key size, not AES's 16), then AES-256-CBC with
// IV = key[0..<16] and OpenSSL's own padding off, then standard base64. Decryption checks each
// step before the next (PROTOCOL-NOTES §3.6): length a multiple of 32, pad 1…32 with all pad
// bytes equal, at least 20 bytes left, the length field within the frame *before* slicing (a
// wrong key yields a random length), and the AppID at the end. The frame has no MAC: only
// `msg_signature`, which needs the secret token, protects it; so the caller verifies that
// signature first, and the plaintext must still be parsed as XML with care.
import IntakeCrypto

/// Encrypts and decrypts WeChat message frames for one account.
public struct WeChatCipher: Sendable {
    /// The PKCS#7 block size WeChat pads to (the AES-256 key size).
    public static let padBlockBytes = 32
    /// Bytes of random prefix in a frame.
    public static let randomBytes = 16

    /// The account's key.
    public let key: WeChatAESKey
    /// The id at the end of every frame: the Official Account's AppID (a WeCom CorpID or
    /// SuiteID would go here for those variants of the protocol).
    public let receiveId: String

    /// A cipher for `receiveId` under `key`.
    public init(key: WeChatAESKey, receiveId: String) {
        self.key = key
        self.receiveId = receiveId
    }

    /// `Encrypt` for `message` (UTF-8 bytes) with a fresh random prefix.
    public func encrypt(_ message: [UInt8]) -> String {
        encrypt(message, random: SecureRandom.bytes(Self.randomBytes))
    }

    /// `Encrypt` for `message` with the given 16-byte prefix: a test seam, so that output can
    /// be compared byte for byte with another implementation fed the same bytes.
    public func encrypt(_ message: [UInt8], random: [UInt8]) -> String {
        precondition(random.count == Self.randomBytes, "BUG: the random prefix has 16 bytes")
        precondition(message.count <= Int(UInt32.max), "BUG: a WeChat message is far below 4 GiB")
        let id = Array(receiveId.utf8)
        var frame: [UInt8] = []
        frame.reserveCapacity(Self.randomBytes + 4 + message.count + id.count + Self.padBlockBytes)
        frame.append(contentsOf: random)
        let n = UInt32(message.count)  // bytes, not characters: counting characters breaks Chinese
        frame.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
        frame.append(contentsOf: message)
        frame.append(contentsOf: id)
        // Always pad, 1…32 bytes: an already aligned frame gets a whole block of 0x20.
        let pad = Self.padBlockBytes - frame.count % Self.padBlockBytes
        frame.append(contentsOf: repeatElement(UInt8(pad), count: pad))
        let ciphertext: [UInt8]
        do {
            ciphertext = try AESCBC.encrypt(key: key.bytes, iv: key.iv, plaintext: frame)
        } catch {
            // The key is 32 bytes and the frame block-aligned by construction.
            preconditionFailure("BUG: AES-CBC refused a well-formed frame: \(error)")
        }
        return Base64.encode(ciphertext)
    }

    /// The message bytes inside `encrypt` (the `Encrypt` text), after every check of the
    /// official algorithm. Never traps on hostile input.
    public func decrypt(_ encrypt: String) throws(WeChatCryptoError) -> [UInt8] {
        guard let ciphertext = Base64.decode(encrypt) else { throw .badBase64 }
        // Tencent's own decryptor refuses anything else; WeChat always pads to 32.
        guard ciphertext.count >= Self.padBlockBytes, ciphertext.count % Self.padBlockBytes == 0 else {
            throw .badCiphertextLength(ciphertext.count)
        }
        let frame: [UInt8]
        do {
            frame = try AESCBC.decrypt(key: key.bytes, iv: key.iv, ciphertext: ciphertext)
        } catch {
            throw .cipher("\(error)")
        }
        // No padding oracle to defend here: the ciphertext reached us only with a valid
        // msg_signature, which an attacker cannot make without the token. The check is still
        // written without an early exit.
        let pad = Int(frame[frame.count - 1])
        guard pad >= 1, pad <= Self.padBlockBytes else { throw .badPadding }
        var diff: UInt8 = 0
        for b in frame[(frame.count - pad)...] { diff |= b ^ UInt8(pad) }
        guard diff == 0 else { throw .badPadding }
        let body = frame.count - pad
        guard body > Self.randomBytes + 4 else { throw .frameTooShort(body) }
        let declared = Int(frame[16]) << 24 | Int(frame[17]) << 16 | Int(frame[18]) << 8 | Int(frame[19])
        let available = body - 20
        guard declared <= available else { throw .badMessageLength(declared: declared, available: available) }
        let idStart = 20 + declared
        guard constantTimeEquals(frame[idStart..<body], Array(receiveId.utf8)) else { throw .receiveIdMismatch }
        return Array(frame[20..<idStart])
    }
}
