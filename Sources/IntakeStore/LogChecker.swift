// IntakeStore: the offline checker behind `intake check --data-dir DIR [--repair]`, in the
// spirit of redis-check-aof. Runs on the caller's thread while it holds the directory's LOCK,
// so it never races a live store.
//
// Design
// - Check: the same header, bounds, checksum and continuity checks as recovery, but it keeps
//   going and reports every segment and snapshot.
// - Repair: cut the log back to the last good record before the first problem. Nothing is
//   deleted: the damaged tail is copied and later segments are moved into `corrupt-<UTC>/`.
import IntakeCore
import IntakeTelemetry

/// What `LogChecker.check` found and did.
public struct CheckReport: Sendable, CustomStringConvertible {
    /// One segment file.
    public struct Segment: Sendable {
        /// File name.
        public var name: String
        /// File size in bytes.
        public var bytes: Int64
        /// Good records before the first problem.
        public var records: Int
        /// First and last good sequence numbers (nil if no good record).
        public var firstSequence: UInt64?
        /// Last good sequence number.
        public var lastSequence: UInt64?
        /// Problems, each with its offset.
        public var problems: [String]
    }

    /// One snapshot file.
    public struct Snapshot: Sendable {
        /// File name.
        public var name: String
        /// Nil if the snapshot checks out.
        public var problem: String?
    }

    /// Every segment, oldest first.
    public var segments: [Segment] = []
    /// Every snapshot, oldest first.
    public var snapshots: [Snapshot] = []
    /// Problems not tied to one segment (the log and the snapshots do not meet).
    public var problems: [String] = []
    /// Where the log was (or, without repair, would be) cut: segment and offset.
    public var cut: (segment: String, offset: Int64)?
    /// The folder damaged data was moved into, when repaired.
    public var movedTo: String?
    /// What was moved into that folder.
    public var movedFiles: [String] = []

    /// True if nothing is wrong.
    public var isClean: Bool { problems.isEmpty && segments.allSatisfy { $0.problems.isEmpty } && snapshots.allSatisfy { $0.problem == nil } }

    /// A multi-line report for the operator.
    public var description: String {
        var out = ""
        for s in segments {
            let range = s.firstSequence.map { "\($0)...\(s.lastSequence ?? $0)" } ?? "-"
            out += "segment \(s.name): \(s.bytes) bytes, \(s.records) records, sequences \(range)"
            out += s.problems.isEmpty ? ", ok\n" : "\n" + s.problems.map { "  problem: " + $0 + "\n" }.joined()
        }
        for s in snapshots { out += "snapshot \(s.name): " + (s.problem ?? "ok") + "\n" }
        for p in problems { out += "problem: \(p)\n" }
        if let c = cut {
            if let dir = movedTo {
                out += "repaired: cut \(c.segment) at offset \(c.offset); moved to \(dir): \(movedFiles.joined(separator: ", "))\n"
            } else {
                out += "run with --repair to cut the log at \(c.segment) offset \(c.offset) (data is moved aside, not deleted)\n"
            }
        }
        return out + (isClean ? "log is clean\n" : "")
    }
}

/// The offline checker and repairer.
public enum LogChecker {
    /// Checks the log in `directory`; with `repair`, cuts it back to the last good record before
    /// the first problem, moving everything after it into `corrupt-<UTC timestamp>/`.
    /// Throws `.locked` if a live store holds the directory.
    public static func check(directory dir: String, repair: Bool = false, fileSystem fs: any FileSystem = PosixFileSystem(),
                             now: EpochMillis = LogOptions.wallClockMillis()) throws -> CheckReport {
        let lock = try fs.open(dir + "/" + LogFormat.lockFileName, mode: .create)
        defer { fs.close(lock) }
        guard try fs.tryLock(lock) else { throw StoreError.locked(directory: dir) }
        let names = try fs.listDirectory(dir)
        var report = CheckReport()

        var newestValid: UInt64?
        for seq in SnapshotCodec.sequences(in: names) {
            let name = LogFormat.snapshotName(sequence: seq)
            switch SnapshotCodec.decode(try fs.readWholeFile(dir + "/" + name), file: name, expectedSequence: seq) {
            case .success: report.snapshots.append(.init(name: name, problem: nil)); newestValid = seq
            case .failure(let p): report.snapshots.append(.init(name: name, problem: p.reason))
            }
        }

        let bases = names.compactMap(LogFormat.parseSegmentName).sorted()
        var buffer: [UInt8] = []
        var sizes: [Int64] = []
        var prevEnd: UInt64?
        for (i, base) in bases.enumerated() {
            let name = LogFormat.segmentName(base: base)
            let file = try fs.open(dir + "/" + name, mode: .readOnly)
            defer { fs.close(file) }
            let size = try SegmentScan.load(fs, file, into: &buffer)
            sizes.append(Int64(size))
            var seg = CheckReport.Segment(name: name, bytes: Int64(size), records: 0, problems: [])
            func note(_ offset: Int, _ why: String) {
                seg.problems.append("offset \(offset): \(why)")
                if report.cut == nil { report.cut = (name, Int64(offset)) }
            }
            buffer.withUnsafeBytes { all in
                let bytes = UnsafeRawBufferPointer(rebasing: all[0..<size])
                switch SegmentHeader.decode(bytes) {
                case .failure(let p): note(0, p.reason); return
                case .success(let h) where h.base != base: note(0, "header base \(h.base) does not match the file name"); return
                case .success where !LogFormat.sequences.contains(base): note(8, "base sequence \(base) out of range"); return
                case .success: break
                }
                // Wrapping: a base out of range (0) was reported above and must not trap here.
                if let prevEnd, base != prevEnd &+ 1 { note(0, "segment starts at \(base) but the previous one ends at \(prevEnd)") }
                let scan = SegmentScan.scan(bytes, base: base)
                seg.records = scan.records
                seg.firstSequence = scan.firstSequence
                seg.lastSequence = scan.lastSequence
                if let p = scan.problem {
                    let tail = i == bases.count - 1 && p.kind == .torn ? " (torn tail: recovery would cut \(size - p.offset) bytes)" : ""
                    note(p.offset, p.reason + tail)
                } else if scan.records == 0 && i < bases.count - 1 {
                    note(LogFormat.segmentHeaderBytes, "sealed segment has no records")
                }
            }
            prevEnd = seg.lastSequence ?? (base &- 1)
            report.segments.append(seg)
        }

        if let s = newestValid {
            if let first = bases.first, first > s + 1 { report.problems.append("log starts at \(first) but the newest valid snapshot covers only up to \(s)") }
            if (prevEnd ?? 0) < s { report.problems.append("log ends at \(prevEnd ?? 0) before the newest valid snapshot at \(s)") }
        }

        if repair, let cut = report.cut, let index = report.segments.firstIndex(where: { $0.name == cut.segment }) {
            try moveAside(fs: fs, directory: dir, report: &report, index: index, offset: cut.offset, size: sizes[index], now: now)
        }
        return report
    }

    private static func moveAside(fs: any FileSystem, directory dir: String, report: inout CheckReport,
                                  index: Int, offset: Int64, size: Int64, now: EpochMillis) throws {
        let stamp = String(Log.rfc3339(epochMillis: now).prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
        let folderName = LogFormat.corruptFolderPrefix + stamp
        let folder = dir + "/" + folderName
        try fs.makeDirectory(folder)
        let seg = report.segments[index]
        if offset <= Int64(LogFormat.segmentHeaderBytes) {
            try fs.rename(dir + "/" + seg.name, to: folder + "/" + seg.name)
            report.movedFiles.append(seg.name)
        } else {
            let file = try fs.open(dir + "/" + seg.name, mode: .readWrite)
            defer { fs.close(file) }
            var tail = [UInt8](repeating: 0, count: Int(size - offset))
            let got = try tail.withUnsafeMutableBytes { try fs.readFully(file, into: $0, at: offset) }
            let copyName = seg.name + ".from-\(offset)"
            let copy = try fs.open(folder + "/" + copyName, mode: .createTruncate)
            defer { fs.close(copy) }
            try tail.withUnsafeBytes { try fs.writeAll(copy, UnsafeRawBufferPointer(rebasing: $0[0..<got]), at: 0) }
            try fs.fsync(copy)
            try fs.fsyncDirectory(folder)
            // Only once the copy is durable is the original cut.
            try fs.truncate(file, to: offset)
            try fs.fdatasync(file)
            report.movedFiles.append(copyName)
        }
        for later in report.segments[(index + 1)...] {
            try fs.rename(dir + "/" + later.name, to: folder + "/" + later.name)
            report.movedFiles.append(later.name)
        }
        try fs.fsyncDirectory(folder)
        try fs.fsyncDirectory(dir)
        report.movedTo = folderName
        Log.warning("store check: log cut back", ["segment": .string(seg.name), "offset": .int(Int(offset)), "movedTo": .string(folderName)])
    }
}
