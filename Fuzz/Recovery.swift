// Fuzz target `recovery`: IntakeStore's recovery, replay and offline checker over a data
// directory whose files are the fuzzer's bytes.
//
// Input: byte 0 holds flags, byte 1 picks the first segment's base sequence, byte 2 the
// snapshot's sequence and where a second segment starts; the rest is the segment content.
//   bit 0  write a valid segment header for the base over the first 32 bytes
//   bit 1  recompute every record's CRC (walking the records as the scan would), so damage
//          gets past the checksums into the bounds, sequence and cross-segment rules
//   bit 2  renumber the records' sequences from the base, so the continuity rule holds
//   bit 3  split the content into two segments
//   bit 4  add a snapshot file (valid, at a sequence chosen by byte 2)
//   bit 5  give the snapshot a bad checksum (it must be skipped, not trusted)
// The directory lives in /dev/shm (tmpfs: fsync costs nothing) and is rebuilt for each input.
//
// Invariants beyond "never crashes":
// - `LogStore.open` either throws `corrupt` (and then `LogChecker.check` reports a problem) or
//   recovers: the segments are then exactly a prefix of what was written (only the last one
//   may be cut, by exactly the bytes reported), and a log the checker calls clean loses nothing;
// - replay hands out consecutive sequences after the snapshot, ending at `lastSequence`;
// - the recovered log takes a new record at `lastSequence + 1`, and reopening it finds that
//   record and nothing to cut;
// - `intake check --repair` leaves a log with no segment problems, which then opens;
// - whatever happens, every file descriptor opened is closed again.
import Dispatch
import Foundation
import IntakeCore
import IntakeStore
import IntakeTelemetry

private let bases: [UInt64] = [1, 2, 0, 4711, 1 << 63, UInt64(Int64.max - 1), UInt64.max, UInt64(Int64.max)]
private let root = "/dev/shm/intake-fuzz-recovery-\(getpid())"
private let dir = root + "/data"
private let options: LogOptions = {
    var o = LogOptions(fsync: .always, segmentMaxBytes: 4096)
    o.preallocateBytes = 1024
    o.clock = { 1_763_776_000_000 }
    return o
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecovery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Log.level = .error  // recovery warns about every torn tail: that is the point here
    var input = FuzzInput(fuzzBytes(data, size))
    let flags = input.byte()
    let base = bases[Int(input.byte()) % bases.count]
    let choice = input.byte()
    var content = input.rest()
    guard content.count <= 1 << 16 else { return 0 }

    // Build the files.
    var files: [(name: String, bytes: [UInt8])] = []
    if flags & 1 != 0 {
        if content.count < 32 { content += [UInt8](repeating: 0, count: 32 - content.count) }
        content.replaceSubrange(0..<32, with: segmentHeader(base: base))
    }
    var records = fixRecords(&content, base: base, crc: flags & 2 != 0, sequences: flags & 4 != 0)
    if flags & 8 != 0, records.count >= 2, records[1 + Int(choice) % (records.count - 1)].sequence != base {
        // Split before record k; the second segment is named by k's sequence (unless that
        // is the first one's name: one file cannot be two segments).
        let k = 1 + Int(choice) % (records.count - 1)
        let cut = records[k].offset
        let secondBase = records[k].sequence
        var second = segmentHeader(base: secondBase) + content[cut...]
        content.removeSubrange(cut...)
        records = fixRecords(&second, base: secondBase, crc: flags & 2 != 0, sequences: flags & 4 != 0)
        files.append((segmentName(base), content))
        files.append((segmentName(secondBase), second))
    } else {
        files.append((segmentName(base), content))
    }
    if flags & 16 != 0 {
        let sequences: [UInt64] = [1, base, base &+ 1, records.last?.sequence ?? base, UInt64.max, 3, base &- 1, 0]
        let s = sequences[Int(choice >> 5)]
        files.append((snapshotName(s), snapshotFile(sequence: s, payload: Array(content.prefix(Int(choice & 31))),
                                                    badCRC: flags & 32 != 0)))
    }
    try? FileManager.default.removeItem(atPath: root)  // the previous input's directory, if any
    do {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in files {
            guard FileManager.default.createFile(atPath: dir + "/" + f.name, contents: Data(f.bytes)) else { fatalError("cannot write \(f.name)") }
        }
    } catch {
        fatalError("cannot prepare \(dir): \(error)")
    }
    let fdsBefore = openFileCount()
    exercise(files: files)
    check(openFileCount() == fdsBefore, "file descriptors leaked: \(fdsBefore) open before, \(openFileCount()) after")
    return 0
}

private func openFileCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
}

private func exercise(files: [(name: String, bytes: [UInt8])]) {
    let checked: CheckReport
    do {
        checked = try LogChecker.check(directory: dir, now: 1_763_776_000_000)
    } catch {
        fatalError("FUZZ INVARIANT: the checker threw instead of reporting: \(error)")
    }
    let opened: (LogStore, RecoveryReport)
    do {
        opened = try LogStore.open(directory: dir, options: options)
    } catch let e as StoreError {
        guard case .corrupt = e else { fatalError("FUZZ INVARIANT: open failed with \(e), not corrupt") }
        check(!checked.isClean, "open says \(e) but the checker found the log clean:\n\(checked)")
        repairThenOpen()
        return
    } catch {
        fatalError("FUZZ INVARIANT: open threw a non-store error \(error)")
    }
    let (store, report) = opened

    // What is left of each segment is a prefix of what was written; only the cut is missing.
    var cut: Int64 = 0
    for f in files where f.name.hasSuffix(".log") {
        // A removed last segment (an interrupted rollover) may be replaced by a fresh one.
        guard !report.removedFiles.contains(f.name), let now = FileManager.default.contents(atPath: dir + "/" + f.name) else {
            check(report.removedFiles.contains(f.name), "segment \(f.name) vanished without being reported")
            cut += Int64(f.bytes.count)
            continue
        }
        let bytes = [UInt8](now)
        check(bytes.count <= f.bytes.count, "segment \(f.name) grew at open")
        let kept = min(bytes.count, f.bytes.count)
        check(Array(bytes[..<kept]) == Array(f.bytes[..<kept]), "segment \(f.name) changed at open")
        cut += Int64(f.bytes.count - kept)
    }
    check(cut == report.truncatedBytes, "cut \(cut) bytes but reported \(report.truncatedBytes)")
    if checked.isClean { check(report.truncatedBytes == 0, "a log the checker calls clean lost \(report.truncatedBytes) bytes") }

    // Replay: consecutive sequences after the snapshot, up to lastSequence.
    let after = report.snapshot?.sequence ?? 0
    var previous: UInt64?
    do {
        try store.replay(after: after) { r in
            check(r.sequence > after, "replay handed out \(r.sequence) at or below the snapshot's \(after)")
            if let p = previous { check(r.sequence == p &+ 1, "replay jumped from \(p) to \(r.sequence)") }
            previous = r.sequence
        }
    } catch {
        fatalError("FUZZ INVARIANT: replay of a freshly recovered log failed: \(error)")
    }
    if let last = previous { check(last == report.lastSequence, "replay ended at \(last), lastSequence \(report.lastSequence)") }

    // The recovered log takes a record at lastSequence + 1, and a reopen finds it.
    let appended = append(store, payload: [0x2A, 0x2A])
    store.close()
    guard case .success(let seq) = appended else {
        // A log whose sequences are exhausted may refuse; nothing else may.
        check(report.lastSequence == LogFormat.sequences.upperBound, "append after recovery failed: \(appended)")
        return
    }
    check(seq == report.lastSequence &+ 1, "append after recovery got \(seq), expected \(report.lastSequence &+ 1)")
    do {
        let (again, second) = try LogStore.open(directory: dir, options: options)
        defer { again.close() }
        check(second.truncatedBytes == 0, "reopen after a clean close cut \(second.truncatedBytes) bytes: \(second.truncationReason ?? "")")
        check(second.lastSequence == seq, "reopen ends at \(second.lastSequence), appended \(seq)")
        var last: (UInt64, [UInt8])?
        try again.replay(after: min(seq &- 1, second.snapshot?.sequence ?? 0)) { last = ($0.sequence, $0.payloadBytes) }
        check(last?.0 == seq && last?.1 == [0x2A, 0x2A], "the appended record did not come back")
    } catch {
        fatalError("FUZZ INVARIANT: reopen after append failed: \(error)")
    }
}

/// `intake check --repair`, then the log has no segment problems left and opens.
private func repairThenOpen() {
    do {
        let repaired = try LogChecker.check(directory: dir, repair: true, now: 1_763_776_000_000)
        let after = try LogChecker.check(directory: dir, now: 1_763_776_000_000)
        check(after.segments.allSatisfy { $0.problems.isEmpty }, "segment problems left after repair:\n\(repaired)\n\(after)")
        if after.problems.isEmpty {
            let (store, _) = try LogStore.open(directory: dir, options: options)
            store.close()
        }
    } catch {
        fatalError("FUZZ INVARIANT: repair, re-check or open after repair failed: \(error)")
    }
}

private func append(_ store: LogStore, payload: [UInt8]) -> Result<UInt64, StoreError> {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox()
    store.append(type: 1, payload: payload) { box.value = $0; done.signal() }
    done.wait()
    return box.value ?? .failure(.closed)
}

private final class ResultBox: @unchecked Sendable { var value: Result<UInt64, StoreError>? }

// MARK: building files (docs/STORAGE.md "Byte layout")

private func segmentName(_ base: UInt64) -> String {
    let digits = String(base)
    return String(repeating: "0", count: 20 - digits.count) + digits + ".log"
}

private func snapshotName(_ s: UInt64) -> String {
    let digits = String(s)
    return "snapshot-" + String(repeating: "0", count: 20 - digits.count) + digits + ".snap"
}

private func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

private func segmentHeader(base: UInt64) -> [UInt8] {
    var h = le(UInt32(0x474F_4C49)) + le(UInt16(1)) + le(UInt16(0)) + le(base) + le(Int64(1_763_776_000_000))
    h += le(CRC32C.checksum(h))
    return h + le(UInt32(0))
}

private func snapshotFile(sequence: UInt64, payload: [UInt8], badCRC: Bool) -> [UInt8] {
    var f = le(UInt32(0x504E_5349)) + le(UInt16(1)) + le(UInt16(0)) + le(sequence) + le(Int64(1_763_776_000_000))
    f += le(UInt64(payload.count)) + payload
    return f + le(CRC32C.checksum(f) ^ (badCRC ? 1 : 0))
}

/// Walks the records of a segment as far as their lengths allow, optionally renumbering them
/// from `base` and recomputing their CRCs; returns where each starts and its sequence.
private func fixRecords(_ s: inout [UInt8], base: UInt64, crc: Bool, sequences: Bool) -> [(offset: Int, sequence: UInt64)] {
    var out: [(Int, UInt64)] = []
    var off = 32
    var expected = base
    while off + 28 <= s.count {
        let length = Int(s[(off + 4)..<(off + 8)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
        guard length <= s.count - off - 28 else { break }
        if sequences { s.replaceSubrange((off + 12)..<(off + 20), with: le(expected)) }
        if crc {
            let sum = s[(off + 4)..<(off + 28 + length)].withUnsafeBytes { CRC32C.checksum($0) }
            s.replaceSubrange(off..<(off + 4), with: le(sum))
        }
        let seq = s[(off + 12)..<(off + 20)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        out.append((off, seq))
        expected = seq &+ 1
        off += 28 + length
    }
    return out
}
