// Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, 8 bytes at a time. Shared by the
// decoder (unmasking a client's frames) and the encoder (masking a client's frames).
// Stateless; the caller tracks the key phase across pieces of one payload.
import IntakeCrypto

/// Masking and unmasking of frame payloads. The same XOR does both.
public enum WebSocketMask {
    /// A fresh masking key for one client frame. RFC 6455 §5.3 requires keys the server
    /// cannot predict, so they come from the system's cryptographic generator.
    public static func randomKey() -> UInt32 {
        SecureRandom.bytes(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// XORs `count` bytes from `source` into `destination` with `key`, starting at byte
    /// `phase` (0...3) of the key, and returns the phase for the byte that follows.
    ///
    /// `key` holds the four key bytes in wire order, most significant byte first.
    /// `source` and `destination` may be the same pointer (unmask in place) but must not
    /// otherwise overlap.
    @inlinable
    @discardableResult
    public static func apply(key: UInt32, phase: Int, count: Int,
                             from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer) -> Int {
        // The key repeated and rotated by `phase`, laid out in memory order so that one native
        // 8-byte load XOR this word masks eight payload bytes whatever the host byte order.
        let rotated = phase == 0 ? key : (key << (8 * UInt32(phase))) | (key >> (32 - 8 * UInt32(phase)))
        let word32 = UInt32(bigEndian: rotated)
        let word = UInt64(word32) | UInt64(word32) << 32
        var i = 0
        // Unaligned loads and stores are fine on every platform Swift supports; payloads start
        // at arbitrary offsets inside receive buffers.
        while i &+ 32 <= count {
            let a = source.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ word
            let b = source.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self) ^ word
            let c = source.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self) ^ word
            let d = source.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self) ^ word
            destination.storeBytes(of: a, toByteOffset: i, as: UInt64.self)
            destination.storeBytes(of: b, toByteOffset: i &+ 8, as: UInt64.self)
            destination.storeBytes(of: c, toByteOffset: i &+ 16, as: UInt64.self)
            destination.storeBytes(of: d, toByteOffset: i &+ 24, as: UInt64.self)
            i &+= 32
        }
        while i &+ 8 <= count {
            let a = source.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ word
            destination.storeBytes(of: a, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        // Fewer than 8 bytes left: byte by byte, each with its own key byte.
        var k = rotated
        while i < count {
            let b = source.load(fromByteOffset: i, as: UInt8.self) ^ UInt8(truncatingIfNeeded: k >> 24)
            destination.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
            k = (k << 8) | (k >> 24)
            i &+= 1
        }
        return (phase &+ count) & 3
    }

    /// Masks or unmasks `bytes` in place, starting at key byte `phase`; returns the next phase.
    @inlinable
    @discardableResult
    public static func apply(key: UInt32, phase: Int = 0, to bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return phase }
        return apply(key: key, phase: phase, count: bytes.count, from: UnsafeRawPointer(base), to: base)
    }
}
