// WeChatChannel: the SHA-1 signatures of the callback protocol, `signature` (token, timestamp,
// nonce) and `msg_signature` (the same plus the Encrypt text). Stateless; any thread.
import IntakeCrypto

/// `lowercase_hex(SHA1(concat(sort_bytewise(parts))))`, as the official SDKs compute it.
///
/// The sort is byte-wise on the UTF-8 forms (`"1409735669" < "999"`, `"Zz" < "aa"`), not
/// numeric and not Swift's String ordering (which compares Unicode canonical forms), and the
/// hex is lower case (`%02x`): both are classic sources of signatures that never match.
public enum WeChatSignature {
    /// The signature over `parts` (token, timestamp, nonce[, encrypt]).
    public static func compute(_ parts: [String]) -> String {
        let sorted = parts.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var joined: [UInt8] = []
        joined.reserveCapacity(sorted.reduce(0) { $0 + $1.count })
        for p in sorted { joined.append(contentsOf: p) }
        return Digest.hex(Digest.sha1(joined))
    }

    /// The plain `signature` of a request: over token, timestamp and nonce.
    public static func plain(token: String, timestamp: String, nonce: String) -> String {
        compute([token, timestamp, nonce])
    }

    /// The `msg_signature` of a request or reply: over token, timestamp, nonce and the
    /// `Encrypt` text exactly as it appears in the XML (after XML unescaping).
    public static func message(token: String, timestamp: String, nonce: String, encrypt: String) -> String {
        compute([token, timestamp, nonce, encrypt])
    }

    /// True if `provided` equals the signature over `parts`. The comparison takes time that
    /// depends only on the lengths, so a forger learns nothing from timing it.
    public static func verify(_ provided: String, parts: [String]) -> Bool {
        constantTimeEquals(Array(provided.utf8), Array(compute(parts).utf8))
    }
}
