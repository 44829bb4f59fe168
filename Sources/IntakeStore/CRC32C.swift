// IntakeStore: CRC32C (Castagnoli, reflected polynomial 0x82F63B78). On x86_64 CPUs with
// SSE4.2 (checked once at first use) the `crc32` instruction does the work, in C
// (CIntakeLinux/crc32c.c); elsewhere a table-driven slicing-by-8 in Swift, which gives the same
// results. The tables and the CPU check are `let` globals, initialised thread-safely; the
// functions are pure and callable from any thread.
import CIntakeLinux

/// CRC32C as used by iSCSI (RFC 3720), ext4 and the log's records and snapshots.
///
/// `CRC32C.checksum(bytes)` gives the finished CRC. To checksum pieces, start from `seed`,
/// feed each piece with `update`, and apply `finish`.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// The running value before any byte has been fed (the initial value, already inverted).
    public static let seed: UInt32 = 0xFFFF_FFFF

    /// 8 tables of 256 entries laid out one after another (table k at k * 256). A raw pointer
    /// allocated once and never freed, so the hot loop pays no array retain or bounds check.
    nonisolated(unsafe) private static let tables: UnsafePointer<UInt32> = {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        t.initialize(repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return UnsafePointer(t)
    }()

    /// True when `update` uses the CPU's CRC32C instruction (SSE4.2) rather than the tables.
    public static let usesHardware: Bool = cil_crc32c_hw_available() != 0

    /// The finished CRC32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        finish(update(seed, bytes))
    }

    /// The finished CRC32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Turns a running value into the CRC (the final xor).
    @inline(__always)
    public static func finish(_ running: UInt32) -> UInt32 { running ^ 0xFFFF_FFFF }

    /// Feeds `bytes` into a running value started at `seed`.
    public static func update(_ running: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return running }
        if usesHardware { return cil_crc32c_hw_update(running, p, bytes.count) }
        return softwareUpdate(running, bytes)
    }

    /// `update` with the tables only, whatever the CPU (tests compare both paths).
    public static func softwareUpdate(_ running: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return running }
        var n = bytes.count
        var crc = running
        let t = tables
        // Byte at a time until 8-byte alignment, so the wide loads below are aligned.
        while n > 0 && Int(bitPattern: p) & 7 != 0 {
            crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
            p += 1
            n -= 1
        }
        while n >= 8 {
            let word = UInt64(littleEndian: p.load(as: UInt64.self))
            let lo = UInt32(truncatingIfNeeded: word) ^ crc
            let hi = UInt32(truncatingIfNeeded: word >> 32)
            crc = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
            p += 8
            n -= 8
        }
        while n > 0 {
            crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
            p += 1
            n -= 1
        }
        return crc
    }
}
