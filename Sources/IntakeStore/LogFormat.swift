// IntakeStore: the on-disk format of docs/STORAGE.md as constants, plus the little-endian
// codecs of the segment header and the record header. Pure functions on caller-owned memory;
// any thread.

/// The constants of the log's on-disk format (docs/STORAGE.md, "Byte layout").
public enum LogFormat {
    /// Format version written in segment and snapshot headers.
    public static let version: UInt16 = 1
    /// "ILOG" read as a little-endian UInt32: the first 4 bytes of every segment.
    public static let segmentMagic: UInt32 = 0x474F_4C49
    /// "ISNP" read as a little-endian UInt32: the first 4 bytes of every snapshot.
    public static let snapshotMagic: UInt32 = 0x504E_5349
    /// Size of the segment header.
    public static let segmentHeaderBytes = 32
    /// Size of a record header (CRC, length, type, flags, reserved, sequence, appended-at).
    public static let recordHeaderBytes = 28
    /// Offset in the record header where the CRC's coverage starts.
    public static let recordCRCStart = 4
    /// Largest payload of one record.
    public static let maxRecordBytes = 16 << 20
    /// Record type 0 is never valid, so zero-filled space never parses as a record.
    public static let invalidType: UInt8 = 0
    /// Size of the snapshot header; a 4-byte CRC trailer follows the payload.
    public static let snapshotHeaderBytes = 32
    /// Size of the snapshot trailer (CRC32C of header and payload).
    public static let snapshotTrailerBytes = 4
    /// Default size at which the active segment is sealed and a new one started.
    public static let defaultSegmentMaxBytes = 64 << 20
    /// How far ahead of the data the active segment is zero-filled (LogOptions.preallocateBytes).
    public static let defaultPreallocateBytes = 1 << 20
    /// Digits of the zero-padded sequence numbers in file names (UInt64.max has 20).
    public static let nameDigits = 20
    /// Suffix of segment files.
    public static let segmentSuffix = ".log"
    /// Prefix of snapshot files.
    public static let snapshotPrefix = "snapshot-"
    /// Suffix of snapshot files.
    public static let snapshotSuffix = ".snap"
    /// Suffix of a snapshot still being written.
    public static let temporarySuffix = ".tmp"
    /// The file that is flock(2)ed by the owning process.
    public static let lockFileName = "LOCK"
    /// Prefix of the folders the checker moves damaged data into.
    public static let corruptFolderPrefix = "corrupt-"

    /// Sequence numbers a log may hold: 1 up to 2^63 - 2, so that every sequence and the one
    /// after it fit an Int64 (log lines, JSON, metrics). 0 means "before the first record". A
    /// file name, header, record or snapshot outside this range is corruption: no writer gets
    /// anywhere near 2^63 records.
    public static let sequences: ClosedRange<UInt64> = 1...UInt64(Int64.max - 1)

    /// `00000000000000000001.log` for base sequence 1.
    public static func segmentName(base: UInt64) -> String { padded(base) + segmentSuffix }

    /// The base sequence in a segment file name, or nil if it is not one.
    public static func parseSegmentName(_ name: String) -> UInt64? { parse(name, prefix: "", suffix: segmentSuffix) }

    /// `snapshot-00000000000000004000.snap` for sequence 4000.
    public static func snapshotName(sequence: UInt64) -> String { snapshotPrefix + padded(sequence) + snapshotSuffix }

    /// The sequence in a snapshot file name, or nil if it is not one.
    public static func parseSnapshotName(_ name: String) -> UInt64? { parse(name, prefix: snapshotPrefix, suffix: snapshotSuffix) }

    static func padded(_ v: UInt64) -> String {
        let s = String(v)
        return String(repeating: "0", count: nameDigits - s.count) + s
    }

    static func parse(_ name: String, prefix: String, suffix: String) -> UInt64? {
        let u = Array(name.utf8)
        let p = prefix.utf8.count, s = suffix.utf8.count
        guard u.count == p + nameDigits + s, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        var v: UInt64 = 0
        for c in u[p..<(p + nameDigits)] {
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}

/// The 32-byte header at the start of every segment.
struct SegmentHeader: Equatable {
    var base: UInt64
    var createdAtMillis: Int64

    func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: LogFormat.segmentHeaderBytes)
        b.withUnsafeMutableBytes { p in
            p.storeLE(LogFormat.segmentMagic, at: 0)
            p.storeLE(LogFormat.version, at: 4)
            p.storeLE(UInt16(0), at: 6)
            p.storeLE(base, at: 8)
            p.storeLE(UInt64(bitPattern: createdAtMillis), at: 16)
            p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[0..<24])), at: 24)
        }
        return b
    }

    /// Decodes and checks a header; the error string says what is wrong.
    static func decode(_ p: UnsafeRawBufferPointer) -> Result<SegmentHeader, HeaderProblem> {
        guard p.count >= LogFormat.segmentHeaderBytes else { return .failure(.init("segment header incomplete (\(p.count) bytes)")) }
        guard p.loadLE(UInt32.self, at: 0) == LogFormat.segmentMagic else { return .failure(.init("bad segment magic")) }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<24]))
        guard p.loadLE(UInt32.self, at: 24) == crc else { return .failure(.init("segment header checksum mismatch")) }
        // The reserved word is outside the CRC, so it must be checked on its own.
        guard p.loadLE(UInt32.self, at: 28) == 0 else { return .failure(.init("reserved segment header bytes are not zero")) }
        let v = p.loadLE(UInt16.self, at: 4)
        guard v == LogFormat.version else { return .failure(.init("unsupported segment version \(v)")) }
        return .success(SegmentHeader(base: p.loadLE(UInt64.self, at: 8),
                                      createdAtMillis: Int64(bitPattern: p.loadLE(UInt64.self, at: 16))))
    }
}

/// Why a header did not decode.
struct HeaderProblem: Error { var reason: String; init(_ r: String) { reason = r } }

/// Record encoding: appends complete records to a reusable buffer.
enum RecordCodec {
    /// Appends one record (header and payload) to `out` and fills in its CRC.
    static func append(type: UInt8, flags: UInt8 = 0, sequence: UInt64, appendedAtMillis: Int64,
                        payload: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let start = out.count
        let total = LogFormat.recordHeaderBytes + payload.count
        out.append(contentsOf: repeatElement(0, count: LogFormat.recordHeaderBytes))
        out.append(contentsOf: payload)
        out.withUnsafeMutableBytes { all in
            let p = UnsafeMutableRawBufferPointer(rebasing: all[start..<(start + total)])
            p.storeLE(UInt32(payload.count), at: 4)
            p.storeLE(type, at: 8)
            p.storeLE(flags, at: 9)
            p.storeLE(UInt16(0), at: 10)
            p.storeLE(sequence, at: 12)
            p.storeLE(UInt64(bitPattern: appendedAtMillis), at: 20)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[LogFormat.recordCRCStart...]))
            p.storeLE(crc, at: 0)
        }
    }

    /// One record as bytes (tests and tools).
    static func encode(type: UInt8, flags: UInt8 = 0, sequence: UInt64, appendedAtMillis: Int64, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        payload.withUnsafeBytes { append(type: type, flags: flags, sequence: sequence, appendedAtMillis: appendedAtMillis, payload: $0, to: &out) }
        return out
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLE<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        precondition(offset + MemoryLayout<T>.size <= count, "BUG: store past buffer end")
        storeBytes(of: v.littleEndian, toByteOffset: offset, as: T.self)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset + MemoryLayout<T>.size <= count, "BUG: load past buffer end")
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
