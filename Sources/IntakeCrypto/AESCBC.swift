// IntakeCrypto: AES in CBC mode with OpenSSL's padding switched off, for protocols that pad
// themselves (WeChat's WXBizMsgCrypt pads to 32-byte blocks, not AES's 16). Stateless
// functions; safe from any thread (each call has its own EVP context).
import COpenSSL

/// Why a cipher operation was refused.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key is not 16, 24 or 32 bytes long.
    case badKeyLength(Int)
    /// The IV is not 16 bytes long.
    case badIVLength(Int)
    /// The input is not a whole number of 16-byte AES blocks (padding is the caller's job).
    case notBlockAligned(Int)
    /// OpenSSL refused the operation; the text is its error queue.
    case openSSL(String)

    public var description: String {
        switch self {
        case .badKeyLength(let n): return "AES key must be 16, 24 or 32 bytes, got \(n)"
        case .badIVLength(let n): return "AES-CBC IV must be 16 bytes, got \(n)"
        case .notBlockAligned(let n): return "AES-CBC input must be a multiple of 16 bytes, got \(n)"
        case .openSSL(let why): return "OpenSSL: \(why)"
        }
    }
}

/// AES-CBC (128, 192 or 256 by key length) without cipher-level padding: the input must be a
/// whole number of blocks and the output has exactly its length.
///
/// OpenSSL's EVP interface pads with PKCS#7 over 16-byte blocks unless told otherwise; a
/// protocol with its own padding would then get an extra block on encrypt and "bad decrypt"
/// on roughly half of all messages on decrypt. Here padding is always off.
public enum AESCBC {
    /// AES's block size in bytes.
    public static let blockBytes = 16

    /// Encrypts `plaintext` (a multiple of 16 bytes) under `key` with `iv`.
    public static func encrypt(key: [UInt8], iv: [UInt8], plaintext: [UInt8]) throws(CryptoError) -> [UInt8] {
        try run(encrypt: true, key: key, iv: iv, input: plaintext)
    }

    /// Decrypts `ciphertext` (a multiple of 16 bytes) under `key` with `iv`; no padding is
    /// checked or removed.
    public static func decrypt(key: [UInt8], iv: [UInt8], ciphertext: [UInt8]) throws(CryptoError) -> [UInt8] {
        try run(encrypt: false, key: key, iv: iv, input: ciphertext)
    }

    private static func run(encrypt: Bool, key: [UInt8], iv: [UInt8], input: [UInt8]) throws(CryptoError) -> [UInt8] {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_cbc()
        case 24: cipher = EVP_aes_192_cbc()
        case 32: cipher = EVP_aes_256_cbc()
        default: throw .badKeyLength(key.count)
        }
        guard iv.count == blockBytes else { throw .badIVLength(iv.count) }
        // Int32.max bounds what EVP_CipherUpdate takes in one call; our inputs are far smaller.
        guard input.count % blockBytes == 0, input.count <= Int(Int32.max) - blockBytes else {
            throw .notBlockAligned(input.count)
        }
        if input.isEmpty { return [] }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .openSSL(lastError()) }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_CipherInit_ex(ctx, cipher, nil, key, iv, encrypt ? 1 : 0) == 1,
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else {
            throw .openSSL(lastError())
        }
        // One spare block: OpenSSL documents that update may write up to inl + block_size - 1.
        var out = [UInt8](repeating: 0, count: input.count + blockBytes)
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o -> Bool in
            guard EVP_CipherUpdate(ctx, o.baseAddress, &written, input, Int32(input.count)) == 1 else { return false }
            return EVP_CipherFinal_ex(ctx, o.baseAddress! + Int(written), &finalWritten) == 1
        }
        guard ok else { throw .openSSL(lastError()) }
        let total = Int(written) + Int(finalWritten)
        precondition(total == input.count, "BUG: AES-CBC without padding returned \(total) bytes for \(input.count)")
        out.removeLast(out.count - total)
        return out
    }

    /// OpenSSL's queued errors as text, clearing the queue (it is per thread).
    private static func lastError() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            parts.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "unknown error" : parts.joined(separator: "; ")
    }
}
