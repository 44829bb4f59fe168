// IntakeCore/Broker: the little-endian byte writer and bounds-checked reader behind the broker's
// record and snapshot codecs. Value types; any thread. A reader never traps on bad input: it
// throws `BrokerCodecError`, so a damaged payload is reported, not crashed on.

/// Why a record or snapshot payload could not be decoded.
public struct BrokerCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, e.g. "truncated at byte 17" or "unknown record type 42".
    public let reason: String

    /// An error with `reason`.
    public init(_ reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }
}

/// Appends little-endian integers and length-prefixed strings to a byte array.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    /// One byte.
    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    /// A u32, little-endian.
    public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A u64, little-endian.
    public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// An i64, little-endian.
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    /// A UTF-8 string: u32 length, then the bytes.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Raw bytes with a u32 length prefix.
    public mutating func blob(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }
}

/// Reads what `ByteWriter` wrote, checking every bound.
public struct ByteReader: ~Copyable {
    private let base: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    public private(set) var offset = 0

    /// A reader over `bytes`, which must stay valid while the reader is used.
    public init(_ bytes: UnsafeRawBufferPointer) { base = bytes }

    /// True when every byte was read.
    public var isAtEnd: Bool { offset == base.count }

    private mutating func take(_ n: Int) throws(BrokerCodecError) -> Int {
        guard n >= 0, base.count - offset >= n else { throw BrokerCodecError("truncated at byte \(offset) (wanted \(n) more)") }
        defer { offset += n }
        return offset
    }

    /// One byte.
    public mutating func u8() throws(BrokerCodecError) -> UInt8 { base[try take(1)] }

    /// A little-endian u32.
    public mutating func u32() throws(BrokerCodecError) -> UInt32 {
        let at = try take(4)
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    /// A little-endian u64.
    public mutating func u64() throws(BrokerCodecError) -> UInt64 {
        let at = try take(8)
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    /// A little-endian i64.
    public mutating func i64() throws(BrokerCodecError) -> Int64 { Int64(bitPattern: try u64()) }

    /// A length-prefixed UTF-8 string (invalid UTF-8 is an error, not repaired).
    public mutating func string() throws(BrokerCodecError) -> String {
        let n = Int(try u32())
        let at = try take(n)
        let slice = UnsafeRawBufferPointer(rebasing: base[at..<(at + n)]).assumingMemoryBound(to: UInt8.self)
        // Ids, queue names and most dedupe keys are ASCII, which is valid UTF-8 as it stands:
        // decode those without the generic validating initialiser, whose per-call generic
        // metadata lookups cost more than the copy when a snapshot holds a million strings.
        if Self.isASCII(slice) { return String(decoding: slice, as: UTF8.self) }
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw BrokerCodecError("invalid UTF-8 in a string at byte \(at)")
        }
        return s
    }

    /// True when every byte is below 0x80 (checked 8 bytes at a time).
    @inline(__always)
    static func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let start = b.baseAddress else { return true }
        let raw = UnsafeRawPointer(start)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= b.count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < b.count {
            high |= UInt64(b[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// A length-prefixed run of bytes, as a view into the input (valid as long as it is).
    public mutating func blob() throws(BrokerCodecError) -> UnsafeRawBufferPointer {
        let n = Int(try u32())
        let at = try take(n)
        return UnsafeRawBufferPointer(rebasing: base[at..<(at + n)])
    }
}
