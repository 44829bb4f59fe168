// IntakeCrypto: the only importer of COpenSSL. Hashes, HMAC, secure random bytes and a
// constant-time comparison. Stateless functions; safe from any thread.
import COpenSSL

/// Message digests computed by the system OpenSSL.
public enum Digest {
    /// SHA-1 of `bytes` (20 bytes). Used for the WebSocket handshake and WeChat signatures,
    /// both of which the protocols fix; never for anything we choose ourselves.
    public static func sha1<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        withContiguous(bytes) { p in _ = SHA1(p.baseAddress, p.count, &out) }
        return out
    }

    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        withContiguous(bytes) { p in _ = SHA256(p.baseAddress, p.count, &out) }
        return out
    }

    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256<K: Collection, M: Collection>(key: K, message: M) -> [UInt8]
    where K.Element == UInt8, M.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var outLen: UInt32 = 0
        withContiguous(key) { k in
            withContiguous(message) { m in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &out, &outLen)
            }
        }
        precondition(outLen == 32, "BUG: HMAC-SHA256 returned \(outLen) bytes")
        return out
    }

    /// Lower-case hexadecimal form of `bytes`.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Cryptographically secure random bytes (OpenSSL's RAND_bytes).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "BUG: RAND_bytes failed; the system has no entropy source")
        return out
    }

    /// An unguessable token: `count` random bytes as lower-case hex.
    public static func token(bytes count: Int = 16) -> String { Digest.hex(bytes(count)) }
}

/// Compares two byte strings in time that depends only on their lengths, so that a secret
/// cannot be recovered by timing the comparison.
public func constantTimeEquals<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    let x = Array(a), y = Array(b)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    let n = max(x.count, y.count)
    for i in 0..<n {
        let p = i < x.count ? x[i] : 0
        let q = i < y.count ? y[i] : 0
        diff |= p ^ q
    }
    return diff == 0
}

@inline(__always)
func withContiguous<C: Collection, R>(_ bytes: C, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R where C.Element == UInt8 {
    if let r = bytes.withContiguousStorageIfAvailable(body) { return r }
    return Array(bytes).withUnsafeBufferPointer(body)
}
