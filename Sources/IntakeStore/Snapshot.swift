// IntakeStore: the snapshot file codec (docs/STORAGE.md, "Snapshot file") and the loading of
// the newest valid snapshot with fallback to older ones. Pure functions plus reads through the
// given FileSystem; called by recovery and the checker on their own thread.

/// A snapshot read back at recovery.
public struct SnapshotInfo: Sendable, Equatable {
    /// The last sequence number whose effect the payload includes.
    public let sequence: UInt64
    /// When the snapshot was written, Unix milliseconds.
    public let createdAtMillis: Int64
    /// The snapshot's file name (inside the data directory).
    public let file: String
    /// The broker's state, exactly as given to `writeSnapshot`.
    public let payload: [UInt8]
}

enum SnapshotCodec {
    /// The complete file content for a snapshot.
    static func encode(sequence: UInt64, createdAtMillis: Int64, payload: [UInt8]) -> [UInt8] {
        let hb = LogFormat.snapshotHeaderBytes
        var out = [UInt8](repeating: 0, count: hb + payload.count + LogFormat.snapshotTrailerBytes)
        out.withUnsafeMutableBytes { p in
            p.storeLE(LogFormat.snapshotMagic, at: 0)
            p.storeLE(LogFormat.version, at: 4)
            p.storeLE(UInt16(0), at: 6)
            p.storeLE(sequence, at: 8)
            p.storeLE(UInt64(bitPattern: createdAtMillis), at: 16)
            p.storeLE(UInt64(payload.count), at: 24)
            payload.withUnsafeBytes { src in
                if src.count > 0 { p.baseAddress!.advanced(by: hb).copyMemory(from: src.baseAddress!, byteCount: src.count) }
            }
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<(hb + payload.count)]))
            p.storeLE(crc, at: hb + payload.count)
        }
        return out
    }

    /// Decodes and checks a snapshot file's content.
    static func decode(_ bytes: [UInt8], file: String, expectedSequence: UInt64) -> Result<SnapshotInfo, HeaderProblem> {
        bytes.withUnsafeBytes { decode($0, file: file, expectedSequence: expectedSequence) }
    }

    /// Decodes and checks a snapshot file's content held in memory (mapped at recovery: the
    /// payload is then copied once, out of the page cache, with no intermediate buffer).
    static func decode(_ p: UnsafeRawBufferPointer, file: String, expectedSequence: UInt64) -> Result<SnapshotInfo, HeaderProblem> {
        let hb = LogFormat.snapshotHeaderBytes, tb = LogFormat.snapshotTrailerBytes
        guard p.count >= hb + tb else { return .failure(.init("file too short (\(p.count) bytes)")) }
        guard p.loadLE(UInt32.self, at: 0) == LogFormat.snapshotMagic else { return .failure(.init("bad snapshot magic")) }
        guard p.loadLE(UInt16.self, at: 4) == LogFormat.version else { return .failure(.init("unsupported snapshot version")) }
        let length = p.loadLE(UInt64.self, at: 24)
        guard length == UInt64(p.count - hb - tb) else {
            return .failure(.init("payload length \(length) does not match the file size \(p.count)"))
        }
        let n = Int(length)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<(hb + n)]))
        guard p.loadLE(UInt32.self, at: hb + n) == crc else { return .failure(.init("checksum mismatch")) }
        let seq = p.loadLE(UInt64.self, at: 8)
        guard seq == expectedSequence else { return .failure(.init("sequence \(seq) does not match the file name")) }
        guard LogFormat.sequences.contains(seq) else { return .failure(.init("sequence \(seq) out of range")) }
        return .success(SnapshotInfo(sequence: seq, createdAtMillis: Int64(bitPattern: p.loadLE(UInt64.self, at: 16)),
                                     file: file, payload: Array(p[hb..<(hb + n)])))
    }

    /// Snapshot sequences present in `names`, ascending.
    static func sequences(in names: [String]) -> [UInt64] {
        names.compactMap(LogFormat.parseSnapshotName).sorted()
    }

    /// The newest snapshot that checks out, plus "file: reason" for every newer one that did not.
    static func loadNewestValid(_ fs: any FileSystem, directory: String, names: [String]) throws
        -> (snapshot: SnapshotInfo?, skipped: [String])
    {
        var skipped: [String] = []
        for seq in sequences(in: names).reversed() {
            let name = LogFormat.snapshotName(sequence: seq)
            let f = try fs.open(directory + "/" + name, mode: .readOnly)
            defer { fs.close(f) }
            let mapped = try fs.mapReadOnly(f, bytes: Int(try fs.size(f)))
            switch withExtendedLifetime(mapped, { decode(mapped.bytes, file: name, expectedSequence: seq) }) {
            case .success(let s): return (s, skipped)
            case .failure(let p): skipped.append(name + ": " + p.reason)
            }
        }
        return (nil, skipped)
    }
}
