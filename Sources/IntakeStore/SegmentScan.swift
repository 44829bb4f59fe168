// IntakeStore: reading records back. `SegmentScan.scan` walks the records of one segment held
// in memory, bounds first, then checksum (unless told the checksums need no checking), then
// sequence continuity, and stops at the first problem. Used by recovery, replay and the
// checker. Pure; the caller owns the buffer.

/// One record as read back by `LogStore.replay`. The payload points into the reader's buffer
/// and is valid only during the callback; copy it (`payloadBytes`) to keep it.
public struct RecordView {
    /// The record's sequence number.
    public let sequence: UInt64
    /// The record type given to `append` (never 0).
    public let type: UInt8
    /// The record flags (currently always 0).
    public let flags: UInt8
    /// Wall time when the writer wrote the record, in Unix milliseconds.
    public let appendedAtMillis: Int64
    /// The payload, valid only during the callback.
    public let payload: UnsafeRawBufferPointer
    /// A copy of the payload.
    public var payloadBytes: [UInt8] { Array(payload) }
}

/// What stopped a scan.
struct ScanProblem: Equatable {
    enum Kind: Equatable {
        /// Bounds or checksum: what a torn write looks like.
        case torn
        /// A well-formed record with the wrong sequence number: never a torn write.
        case continuity
    }
    var offset: Int
    var kind: Kind
    var reason: String
}

/// The outcome of scanning one segment.
struct ScanResult {
    var records = 0
    var firstSequence: UInt64?
    var lastSequence: UInt64?
    var lastAppendedAtMillis: Int64?
    /// Offset just past the last good record (the segment header size if there is none).
    var validEnd = LogFormat.segmentHeaderBytes
    var problem: ScanProblem?
    /// Zero bytes after the last good record: space the writer preallocated (docs/STORAGE.md,
    /// "Preallocation"), not a torn write. Never a problem: a record never starts with a zero
    /// type byte, and an all-zero tail holds no data.
    var zeroTail = 0
}

enum SegmentScan {
    /// Scans the records of a segment whose whole content is `bytes` (header included),
    /// expecting the first record to carry `base`. `visit` sees every good record in order.
    /// With `checksums: false` only bounds and continuity are checked: recovery does that for a
    /// sealed segment wholly covered by the snapshot (docs/STORAGE.md, "Recovery", step 6).
    static func scan(_ bytes: UnsafeRawBufferPointer, base: UInt64, checksums: Bool = true) -> ScanResult {
        scan(bytes, base: base, checksums: checksums, visit: { _ in })
    }

    /// As `scan(_:base:)`, handing every good record to `visit` in order.
    static func scan(_ bytes: UnsafeRawBufferPointer, base: UInt64, checksums: Bool = true,
                     visit: (RecordView) throws -> Void) rethrows -> ScanResult {
        var r = ScanResult()
        var off = LogFormat.segmentHeaderBytes
        var expected = base
        let h = LogFormat.recordHeaderBytes
        while off < bytes.count {
            let remaining = bytes.count - off
            guard remaining >= h else {
                r.problem = ScanProblem(offset: off, kind: .torn, reason: "partial record header (\(remaining) of \(h) bytes)")
                break
            }
            let length = Int(bytes.loadLE(UInt32.self, at: off + 4))
            guard length <= LogFormat.maxRecordBytes else {
                r.problem = ScanProblem(offset: off, kind: .torn, reason: "record length \(length) exceeds the limit")
                break
            }
            guard length <= remaining - h else {
                r.problem = ScanProblem(offset: off, kind: .torn,
                                        reason: "record of \(length) bytes runs past the end of the file (\(remaining - h) left)")
                break
            }
            let type = bytes[off + 8]
            guard type != LogFormat.invalidType else {
                r.problem = ScanProblem(offset: off, kind: .torn, reason: "record type 0 (zero-filled or torn)")
                break
            }
            guard bytes.loadLE(UInt16.self, at: off + 10) == 0 else {
                r.problem = ScanProblem(offset: off, kind: .torn, reason: "reserved header bytes are not zero")
                break
            }
            if checksums {
                let covered = UnsafeRawBufferPointer(rebasing: bytes[(off + LogFormat.recordCRCStart)..<(off + h + length)])
                let stored = bytes.loadLE(UInt32.self, at: off)
                let computed = CRC32C.checksum(covered)
                guard stored == computed else {
                    r.problem = ScanProblem(offset: off, kind: .torn, reason: "checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
                    break
                }
            }
            let seq = bytes.loadLE(UInt64.self, at: off + 12)
            guard LogFormat.sequences.contains(seq) else {
                r.problem = ScanProblem(offset: off, kind: .continuity, reason: "sequence \(seq) out of range")
                break
            }
            guard seq == expected else {
                r.problem = ScanProblem(offset: off, kind: .continuity, reason: "sequence \(seq) where \(expected) was expected")
                break
            }
            let at = Int64(bitPattern: bytes.loadLE(UInt64.self, at: off + 20))
            try visit(RecordView(sequence: seq, type: type, flags: bytes[off + 9], appendedAtMillis: at,
                                 payload: UnsafeRawBufferPointer(rebasing: bytes[(off + h)..<(off + h + length)])))
            if r.firstSequence == nil { r.firstSequence = seq }
            r.lastSequence = seq
            r.lastAppendedAtMillis = at
            r.records += 1
            expected = seq &+ 1
            off += h + length
            r.validEnd = off
        }
        if let p = r.problem, p.kind == .torn, p.offset == r.validEnd, Self.isZero(bytes, from: p.offset) {
            r.zeroTail = bytes.count - p.offset
            r.problem = nil
        }
        return r
    }

    /// True when every byte of `bytes` from `offset` on is zero.
    static func isZero(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Bool {
        var i = offset
        let n = bytes.count
        while i < n && (i & 7) != 0 { if bytes[i] != 0 { return false }; i += 1 }
        while i + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < n { if bytes[i] != 0 { return false }; i += 1 }
        return true
    }

    /// Reads a whole file into `buffer` (grown as needed, never shrunk) and returns its size.
    static func load(_ fs: any FileSystem, _ file: OpenFile, into buffer: inout [UInt8]) throws -> Int {
        let size = Int(try fs.size(file))
        if buffer.count < size { buffer = [UInt8](repeating: 0, count: size) }
        let got = try buffer.withUnsafeMutableBytes { try fs.readFully(file, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<size]), at: 0) }
        return got
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}
