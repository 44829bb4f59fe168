// IntakeStoreTests: recovery from torn and damaged logs. The log is cut at every byte of its
// last record, bits are flipped at seeded random positions, a sealed segment is damaged and
// then repaired with the checker. Each test owns its temp directory.
import Foundation
import IntakeTestSupport
import Testing
@testable import IntakeStore

@Suite(.timeLimit(.minutes(5)))
struct RecoveryTests {
    /// Writes `count` records (payload lengths vary) and returns them.
    static func build(_ dir: String, count: Int, segmentMaxBytes: Int = LogFormat.defaultSegmentMaxBytes, seed: UInt64 = 1) throws -> [Rec] {
        let (store, _) = try LogStore.open(directory: dir, options: LogOptions(fsync: .always, segmentMaxBytes: segmentMaxBytes))
        defer { store.close() }
        var out: [Rec] = []
        for i in 0..<count {
            let p = payload(seed &+ UInt64(i), length: 1 + (i * 29) % 90)
            let seq = try store.appendSync(type: UInt8(1 + i % 9), p).get()
            out.append(Rec(seq: seq, type: UInt8(1 + i % 9), payload: p))
        }
        return out
    }

    @Test func cutAtEveryByteOfTheLastRecordRecoversTheExactPrefix() throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 12)
        let seg = dir.data + "/" + LogFormat.segmentName(base: 1)
        let full = try PosixFileSystem().readWholeFile(seg)
        let lastSize = LogFormat.recordHeaderBytes + originals.last!.payload.count
        let lastOffset = full.count - lastSize
        for kept in 0..<lastSize {
            try writeFile(seg, Array(full[0..<(lastOffset + kept)]))
            let (store, report) = try LogStore.open(directory: dir.data)
            let back = try store.records()
            #expect(back == Array(originals.dropLast()), "cut keeping \(kept) bytes of the last record")
            #expect(report.truncatedBytes == Int64(kept), "kept \(kept)")
            #expect(report.truncatedSegment == (kept > 0 ? LogFormat.segmentName(base: 1) : nil))
            #expect(report.lastSequence == 11)
            // The cut is durable and the sequence number is given out again.
            #expect(try store.appendSync(originals.last!.payload).get() == 12)
            store.close()
            #expect(try readBack(dir.data).records == originals.dropLast() + [Rec(seq: 12, type: 1, payload: originals.last!.payload)])
        }
    }

    @Test func zeroFilledTailIsPreallocatedSpaceNotATornWrite() throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 5)
        let seg = dir.data + "/" + LogFormat.segmentName(base: 1)
        let data = try PosixFileSystem().readWholeFile(seg)
        try writeFile(seg, data + [UInt8](repeating: 0, count: 4096))
        let (store, report) = try LogStore.open(directory: dir.data)
        #expect(try store.records() == originals)
        #expect(report.truncatedBytes == 0 && report.truncatedSegment == nil)
        // Appends overwrite the zeros; a clean close cuts what is left of them.
        let extra = payload(99, length: 40)
        #expect(try store.appendSync(type: 2, extra).get() == 6)
        store.close()
        #expect(try PosixFileSystem().readWholeFile(seg).count == data.count + LogFormat.recordHeaderBytes + 40)
        #expect(try readBack(dir.data).records == originals + [Rec(seq: 6, type: 2, payload: extra)])
    }

    @Test func aNonZeroByteInAZeroTailIsATornWrite() throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 5)
        let seg = dir.data + "/" + LogFormat.segmentName(base: 1)
        var tail = [UInt8](repeating: 0, count: 4096)
        tail[2001] = 0x5A  // a torn write landed past a hole
        try writeFile(seg, try PosixFileSystem().readWholeFile(seg) + tail)
        let (back, report) = try readBack(dir.data)
        #expect(back == originals)
        #expect(report.truncatedBytes == 4096)
    }

    @Test func theActiveSegmentIsPreallocatedAndACrashImageRecovers() throws {
        let dir = TempDir()
        let crash = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data)
        var originals: [Rec] = []
        for i in 0..<50 {
            let p = payload(UInt64(i), length: 100 + i)
            originals.append(Rec(seq: try store.appendSync(type: 3, p).get(), type: 3, payload: p))
        }
        // A copy of the files while the store runs: what a kill -9 leaves.
        let seg = LogFormat.segmentName(base: 1)
        let image = try PosixFileSystem().readWholeFile(dir.data + "/" + seg)
        store.close()
        let dataBytes = LogFormat.segmentHeaderBytes + originals.reduce(0) { $0 + LogFormat.recordHeaderBytes + $1.payload.count }
        #expect(image.count == LogFormat.defaultPreallocateBytes, "zero-filled ahead of \(dataBytes) data bytes")
        #expect(image[dataBytes...].allSatisfy { $0 == 0 })
        try FileManager.default.createDirectory(atPath: crash.data, withIntermediateDirectories: true)
        try writeFile(crash.data + "/" + seg, image)
        let (back, report) = try readBack(crash.data)
        #expect(back == originals)
        #expect(report.truncatedBytes == 0, "free space is not a torn tail")
        #expect(try PosixFileSystem().readWholeFile(dir.data + "/" + seg).count == dataBytes, "a clean close cuts the zeros")
    }

    @Test func preallocationOffAppendsPlainly() throws {
        let dir = TempDir()
        var options = LogOptions(fsync: .always)
        options.preallocateBytes = 0
        let (store, _) = try LogStore.open(directory: dir.data, options: options)
        _ = try store.appendSync(type: 1, payload(1, length: 10)).get()
        let size = try PosixFileSystem().readWholeFile(dir.data + "/" + LogFormat.segmentName(base: 1)).count
        store.close()
        #expect(size == LogFormat.segmentHeaderBytes + LogFormat.recordHeaderBytes + 10)
    }

    @Test func interruptedRolloverIsRemoved() throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 20, segmentMaxBytes: 400)
        let segs = try segmentFiles(dir.data)
        #expect(segs.count >= 3)
        let next = LogFormat.segmentName(base: originals.last!.seq + 1)
        try writeFile(dir.data + "/" + next, Array(SegmentHeader(base: originals.last!.seq + 1, createdAtMillis: 0).encoded()[0..<10]))
        let (store, report) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .always, segmentMaxBytes: 400))
        #expect(report.removedFiles == [next])
        #expect(report.truncatedBytes == 10)
        #expect(try store.records() == originals)
        #expect(try store.appendSync([1]).get() == originals.last!.seq + 1)
        store.close()
        #expect(try readBack(dir.data).records.count == originals.count + 1)
    }

    /// Flips one byte at a seeded random position of a multi-segment log; recovery must give
    /// back exactly the original records, a reported prefix, or a corrupt error; a flip in a
    /// sealed segment must be a corrupt error.
    @Test(arguments: [UInt64(11), 12, 13])
    func flippedBytesNeverYieldACorruptedRecord(seed: UInt64) throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 40, segmentMaxBytes: 512, seed: seed)
        let files = try snapshotFiles(dir.data)
        let segs = files.keys.filter { LogFormat.parseSegmentName($0) != nil }.sorted()
        #expect(segs.count >= 4)
        var rng = SeededRandom(seed: seed)
        var outcomes = (corrupt: 0, truncated: 0)
        for trial in 0..<60 {
            try restoreFiles(files, into: dir.data)
            let name = segs[Int.random(in: 0..<segs.count, using: &rng)]
            var bytes = files[name]!
            let pos = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[pos] ^= UInt8.random(in: 1...255, using: &rng)
            try writeFile(dir.data + "/" + name, bytes)
            let where_ = "seed \(seed) trial \(trial): \(name) byte \(pos)"
            do {
                let (back, report) = try readBack(dir.data)
                #expect(name == segs.last, "a flip in a sealed segment must stop recovery (\(where_))")
                #expect(report.truncatedBytes > 0, "\(where_)")
                #expect(back.count < originals.count && back == Array(originals.prefix(back.count)), "\(where_)")
                outcomes.truncated += 1
            } catch let e as StoreError {
                guard case .corrupt(let seg, let off, _) = e else { Issue.record("\(where_): \(e)"); continue }
                #expect(seg == name, "\(where_)")
                #expect(off <= Int64(pos), "reported offset \(off) is at or before the flip (\(where_))")
                outcomes.corrupt += 1
            }
        }
        #expect(outcomes.corrupt > 0 && outcomes.truncated >= 0)
    }

    @Test func badRecordInSealedSegmentStopsStartUpAndCheckerRepairs() throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 30, segmentMaxBytes: 512)
        let segs = try segmentFiles(dir.data)
        #expect(segs.count >= 4)
        let victim = segs[1]
        let base = LogFormat.parseSegmentName(victim)!
        var bytes = try PosixFileSystem().readWholeFile(dir.data + "/" + victim)
        // Damage the payload of the segment's second record.
        let firstLen = originals.first { $0.seq == base }!.payload.count
        let secondOffset = LogFormat.segmentHeaderBytes + LogFormat.recordHeaderBytes + firstLen
        bytes[secondOffset + LogFormat.recordHeaderBytes] ^= 0x10
        try writeFile(dir.data + "/" + victim, bytes)

        #expect {
            try LogStore.open(directory: dir.data)
        } throws: { e in
            guard case StoreError.corrupt(let seg, let off, let why) = e else { return false }
            return seg == victim && off == Int64(secondOffset) && why.contains("checksum")
        }

        let check = try LogChecker.check(directory: dir.data)
        #expect(!check.isClean)
        #expect(check.cut?.segment == victim && check.cut?.offset == Int64(secondOffset))
        #expect(check.movedTo == nil)
        #expect(check.description.contains("--repair"))
        #expect(try segmentFiles(dir.data) == segs, "check without repair changes nothing")

        let repaired = try LogChecker.check(directory: dir.data, repair: true)
        let folder = try #require(repaired.movedTo)
        #expect(repaired.movedFiles == ["\(victim).from-\(secondOffset)"] + segs[2...])
        let moved = try FileManager.default.contentsOfDirectory(atPath: dir.data + "/" + folder).sorted()
        #expect(moved == repaired.movedFiles.sorted())
        let (back, report) = try readBack(dir.data)
        #expect(back == Array(originals.prefix(Int(base))))
        #expect(report.truncatedBytes == 0)
        #expect(try LogChecker.check(directory: dir.data).isClean)
    }

    @Test func sequenceGapBetweenSegmentsIsCorrupt() throws {
        let dir = TempDir()
        _ = try Self.build(dir.data, count: 30, segmentMaxBytes: 512)
        let segs = try segmentFiles(dir.data)
        try FileManager.default.removeItem(atPath: dir.data + "/" + segs[1])
        #expect {
            try LogStore.open(directory: dir.data)
        } throws: { e in
            if case StoreError.corrupt(let seg, 0, _) = e { return seg == segs[2] } else { return false }
        }
    }

    /// Recovery skips the checksums of sealed segments wholly covered by the snapshot (never
    /// replayed), and only those: damage there does not stop start-up (the checker finds it,
    /// and replay asked for those records checksums them), damage in a record that is replayed
    /// still does, and a torn tail is still cut.
    @Test func snapshotCoveredSegmentsSkipOnlyTheirChecksums() throws {
        let dir = TempDir()
        let originals = try Self.build(dir.data, count: 40, segmentMaxBytes: 512)
        let segs = try segmentFiles(dir.data)
        #expect(segs.count >= 5)
        // A snapshot exactly at the end of segs[1]: segs[0] and segs[1] are wholly covered.
        let s = LogFormat.parseSegmentName(segs[2])! - 1
        do {
            let (store, _) = try LogStore.open(directory: dir.data)
            _ = try store.snapshotSync(upTo: s, [1, 2, 3]).get()
            store.close()
        }
        let pristine = try snapshotFiles(dir.data)
        /// Flips one payload byte of the second record of `segment`; returns that record's offset.
        func damageSecondRecord(_ segment: String) throws -> Int64 {
            let base = LogFormat.parseSegmentName(segment)!
            var bytes = try PosixFileSystem().readWholeFile(dir.data + "/" + segment)
            let firstLen = originals.first { $0.seq == base }!.payload.count
            let second = LogFormat.segmentHeaderBytes + LogFormat.recordHeaderBytes + firstLen
            bytes[second + LogFormat.recordHeaderBytes] ^= 0x10
            try writeFile(dir.data + "/" + segment, bytes)
            return Int64(second)
        }

        // Clean: the covered segments are reported, replay after S gives exactly the rest.
        var (back, report) = try readBack(dir.data, after: s)
        #expect(report.snapshot?.sequence == s)
        #expect(report.segmentsNotChecksummed == 2)
        #expect(back == originals.filter { $0.seq > s })
        #expect(report.lastSequence == originals.last!.seq)

        // Damage inside a covered segment: start-up goes on and replays the same records…
        let hidden = try damageSecondRecord(segs[0])
        (back, report) = try readBack(dir.data, after: s)
        #expect(back == originals.filter { $0.seq > s })
        #expect(report.segmentsNotChecksummed == 2)
        // …replay asked for the covered records checksums them and refuses the damage…
        #expect {
            try readBack(dir.data, after: 0)
        } throws: { e in
            guard case StoreError.corrupt(let seg, let off, let why) = e else { return false }
            return seg == segs[0] && off == hidden && why.contains("checksum")
        }
        // …and the offline checker reports it.
        let check = try LogChecker.check(directory: dir.data)
        #expect(check.cut?.segment == segs[0] && check.cut?.offset == hidden)

        // Damage in the first segment that is replayed: a hard error at open, as before.
        try restoreFiles(pristine, into: dir.data)
        let replayed = try damageSecondRecord(segs[2])
        #expect {
            try LogStore.open(directory: dir.data)
        } throws: { e in
            guard case StoreError.corrupt(let seg, let off, let why) = e else { return false }
            return seg == segs[2] && off == replayed && why.contains("checksum")
        }

        // A torn tail of the last segment is still cut, to the byte.
        try restoreFiles(pristine, into: dir.data)
        let lastSeg = dir.data + "/" + segs.last!
        let full = try PosixFileSystem().readWholeFile(lastSeg)
        let lastSize = LogFormat.recordHeaderBytes + originals.last!.payload.count
        try writeFile(lastSeg, Array(full[0..<(full.count - lastSize + 5)]))
        (back, report) = try readBack(dir.data, after: s)
        #expect(report.truncatedBytes == 5)
        #expect(report.truncatedSegment == segs.last!)
        #expect(report.segmentsNotChecksummed == 2)
        #expect(back == originals.filter { $0.seq > s }.dropLast())

        // A flipped bit in the last segment's last record (a checksum failure) is cut too.
        try restoreFiles(pristine, into: dir.data)
        var flipped = full
        flipped[flipped.count - 1] ^= 0x01
        try writeFile(lastSeg, flipped)
        (back, report) = try readBack(dir.data, after: s)
        #expect(report.truncatedBytes == Int64(lastSize))
        #expect(report.truncationReason?.contains("checksum") == true)
        #expect(back == originals.filter { $0.seq > s }.dropLast())
    }
}
