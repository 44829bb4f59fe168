// IntakeStore: recovery at open, the numbered procedure of docs/STORAGE.md. Runs once, on the
// thread that calls `LogStore.open`, before the writer thread exists; it owns everything it
// touches and hands the open active segment over to the writer.
//
// Design
// - Guarantees: every record it accepts passed bounds and continuity checks, and the checksum
//   too unless it lies in a sealed segment wholly covered by the snapshot that will be loaded
//   (never replayed; `intake check` verifies those offline); the report says how many segments
//   were taken on bounds and continuity alone, and replay checksums them if asked for them; a torn
//   tail of the last segment is cut (truncate + fdatasync) and reported to the byte; any other
//   damage throws `StoreError.corrupt` naming the segment and offset, and nothing is changed.
// - Deliberately not: repairing sealed segments (that is the offline checker's job, and it
//   moves data aside instead of deleting it), or telling a bit flip in the last segment from a
//   torn write (both are cut and reported; see the doc).
import IntakeTelemetry

/// What recovery found and did, returned by `LogStore.open`.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    /// Segment files in the log after recovery.
    public var segments = 0
    /// Records in the log after recovery.
    public var records = 0
    /// Sequence of the oldest record in the log, nil if there is none.
    public var firstSequence: UInt64?
    /// Sequence of the newest good record (0 if none and no snapshot).
    public var lastSequence: UInt64 = 0
    /// Bytes cut from the tail (a torn write), 0 if the log was clean.
    public var truncatedBytes: Int64 = 0
    /// The segment whose tail was cut.
    public var truncatedSegment: String?
    /// Why the tail was cut (the first problem found there).
    public var truncationReason: String?
    /// Files recovery removed: interrupted snapshots (`.snap.tmp`) and a segment whose creation
    /// was interrupted before its first record.
    public var removedFiles: [String] = []
    /// Sealed segments wholly covered by the snapshot, whose records recovery checked for bounds
    /// and continuity but not checksums (they are not replayed; `intake check` verifies them).
    public var segmentsNotChecksummed = 0
    /// The newest valid snapshot, if any.
    public var snapshot: SnapshotInfo?
    /// Newer snapshots that failed their checks, as "file: reason".
    public var snapshotsSkipped: [String] = []
    /// How long recovery took.
    public var duration: Duration = .zero

    /// One line for the start-up log.
    public var description: String {
        var s = "segments=\(segments) records=\(records) lastSequence=\(lastSequence) truncatedBytes=\(truncatedBytes)"
        if let t = truncatedSegment { s += " truncatedSegment=\(t)" }
        if let snap = snapshot { s += " snapshot=\(snap.file)" }
        if !snapshotsSkipped.isEmpty { s += " snapshotsSkipped=\(snapshotsSkipped.count)" }
        if segmentsNotChecksummed > 0 { s += " segmentsNotChecksummed=\(segmentsNotChecksummed)" }
        return s + " duration=\(duration)"
    }
}

/// One segment as the store's catalog knows it.
struct SegmentInfo: Sendable, Equatable {
    var name: String
    var base: UInt64
    /// Nil while the segment has no record.
    var lastSequence: UInt64?
    var lastAppendedAtMillis: Int64?
    /// Bytes of good data (header included).
    var bytes: Int64
    /// False when recovery skipped the records' checksums (a sealed segment wholly covered by
    /// the snapshot): replay then checks them if it reads the segment.
    var checksummed = true
}

/// The state recovery hands to the store.
struct RecoveredLog {
    var report: RecoveryReport
    /// Every segment, oldest first; the last one is where appends go (if any).
    var segments: [SegmentInfo]
    /// The last segment, open for writing, positioned by `segments.last.bytes`.
    var activeFile: OpenFile?
    var nextSequence: UInt64
    /// Sequences of the snapshot files present, ascending.
    var snapshotSequences: [UInt64]
    var snapshotBytes: Int64
}

enum Recovery {
    static func run(directory dir: String, fs: any FileSystem) throws -> RecoveredLog {
        let clock = ContinuousClock()
        let started = clock.now
        var report = RecoveryReport()

        // Step 2: interrupted snapshots.
        var names = try fs.listDirectory(dir)
        for n in names where n.hasPrefix(LogFormat.snapshotPrefix) && n.hasSuffix(LogFormat.snapshotSuffix + LogFormat.temporarySuffix) {
            try fs.unlink(dir + "/" + n)
            report.removedFiles.append(n)
        }
        names.removeAll { report.removedFiles.contains($0) }

        // Step 3: newest valid snapshot.
        let (snapshot, skipped) = try SnapshotCodec.loadNewestValid(fs, directory: dir, names: names)
        report.snapshot = snapshot
        report.snapshotsSkipped = skipped
        for s in skipped { Log.warning("store: snapshot skipped", ["snapshot": .string(s)]) }
        let snapshotSequences = SnapshotCodec.sequences(in: names)
        var snapshotBytes: Int64 = 0
        for seq in snapshotSequences {
            let f = try fs.open(dir + "/" + LogFormat.snapshotName(sequence: seq), mode: .readOnly)
            defer { fs.close(f) }
            snapshotBytes += try fs.size(f)
        }

        // Step 4: segments by base sequence.
        let bases = names.compactMap(LogFormat.parseSegmentName).sorted()
        var segments: [SegmentInfo] = []
        var activeFile: OpenFile?
        var changed = false
        for (i, base) in bases.enumerated() {
            let isLast = i == bases.count - 1
            // A sealed segment whose records all lie at or below the snapshot's sequence (the
            // next segment starts at most one past it) is never replayed: its records are
            // checked for bounds and continuity, which give its last sequence and time, but
            // their checksums are left to `intake check`. If the segments do not meet (step 8)
            // that is reported as corruption below all the same.
            let covered = !isLast && snapshot.map { bases[i + 1] <= $0.sequence &+ 1 } ?? false
            let name = LogFormat.segmentName(base: base)
            let path = dir + "/" + name
            let file = try fs.open(path, mode: isLast ? .readWrite : .readOnly)
            var keepOpen = false
            defer { if !keepOpen { fs.close(file) } }
            let mapped = try fs.mapReadOnly(file, bytes: Int(try fs.size(file)))
            let size = mapped.bytes.count
            let info: SegmentInfo? = try {
                let bytes = mapped.bytes
                // Step 5: the header.
                switch SegmentHeader.decode(bytes) {
                case .failure(let p):
                    if isLast && size <= LogFormat.segmentHeaderBytes {
                        return nil
                    }
                    throw StoreError.corrupt(segment: name, offset: 0, reason: p.reason)
                case .success(let h) where h.base != base:
                    throw StoreError.corrupt(segment: name, offset: 8, reason: "header base \(h.base) does not match the file name")
                case .success where !LogFormat.sequences.contains(base):
                    throw StoreError.corrupt(segment: name, offset: 8, reason: "base sequence \(base) out of range")
                case .success:
                    break
                }
                // Step 8: continuity across segments.
                if let prev = segments.last {
                    let prevLast = prev.lastSequence ?? (prev.base - 1)
                    guard base == prevLast + 1 else {
                        throw StoreError.corrupt(segment: name, offset: 0,
                                                 reason: "segment starts at \(base) but \(prev.name) ends at \(prevLast)")
                    }
                }
                // Steps 6 and 7: records.
                let scan = SegmentScan.scan(bytes, base: base, checksums: !covered)
                if let p = scan.problem {
                    guard isLast, p.kind == .torn else {
                        throw StoreError.corrupt(segment: name, offset: Int64(p.offset), reason: p.reason)
                    }
                    report.truncatedBytes = Int64(size - p.offset)
                    report.truncatedSegment = name
                    report.truncationReason = "at offset \(p.offset): \(p.reason)"
                }
                if !isLast && scan.records == 0 {
                    throw StoreError.corrupt(segment: name, offset: Int64(LogFormat.segmentHeaderBytes), reason: "sealed segment has no records")
                }
                return SegmentInfo(name: name, base: base, lastSequence: scan.lastSequence,
                                   lastAppendedAtMillis: scan.lastAppendedAtMillis, bytes: Int64(scan.validEnd),
                                   checksummed: !covered)
            }()
            withExtendedLifetime(mapped) {}
            if covered { report.segmentsNotChecksummed += 1 }
            guard let info else {
                // A rollover interrupted before the header was complete: nothing was ever in it.
                // (Unlinking an open file is fine; the deferred close releases it.)
                try fs.unlink(path)
                report.removedFiles.append(name)
                report.truncatedBytes = Int64(size)
                report.truncatedSegment = name
                report.truncationReason = "incomplete segment header"
                changed = true
                break
            }
            if isLast {
                if report.truncatedBytes > 0 {
                    try fs.truncate(file, to: info.bytes)
                    try fs.fdatasync(file)
                }
                activeFile = file
                keepOpen = true
            }
            if report.records == 0, info.lastSequence != nil { report.firstSequence = info.base }
            report.records += Int(info.lastSequence.map { $0 - info.base + 1 } ?? 0)
            segments.append(info)
        }
        // The active segment is open from here on: if recovery still fails, close it.
        var handedOver = false
        defer { if !handedOver, let f = activeFile { fs.close(f) } }
        if changed { try fs.fsyncDirectory(dir) }

        // Step 9: the snapshot and the log must meet.
        let logEnd: UInt64 = segments.last.map { $0.lastSequence ?? ($0.base - 1) } ?? 0
        if let s = snapshot {
            if let first = segments.first, first.base > s.sequence + 1 {
                throw StoreError.corrupt(segment: first.name, offset: 0,
                                         reason: "log starts at \(first.base) but snapshot \(s.file) covers only up to \(s.sequence)")
            }
            if logEnd < s.sequence {
                throw StoreError.corrupt(segment: segments.last?.name ?? "(no segments)", offset: segments.last?.bytes ?? 0,
                                         reason: "log ends at \(logEnd) before snapshot \(s.file) at \(s.sequence)")
            }
        }

        // Step 10.
        report.segments = segments.count
        report.lastSequence = logEnd
        report.duration = clock.now - started
        if report.truncatedBytes > 0 {
            Log.warning("store: torn tail cut at recovery", [
                "segment": .string(report.truncatedSegment ?? ""), "bytesCut": .int(Int(report.truncatedBytes)),
                "lastGoodSequence": .int(Int(logEnd)), "reason": .string(report.truncationReason ?? ""),
            ])
        }
        handedOver = true
        return RecoveredLog(report: report, segments: segments, activeFile: activeFile, nextSequence: logEnd + 1,
                            snapshotSequences: snapshotSequences, snapshotBytes: snapshotBytes)
    }
}
