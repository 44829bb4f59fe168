// IntakeStoreTests: snapshots (write, keep 2, fall back when the newest is damaged), replay
// after a snapshot, and compaction by coverage and age with a hand-moved clock. Each test
// owns its temp directory.
import Foundation
import Testing
@testable import IntakeStore

@Suite(.timeLimit(.minutes(5)))
struct SnapshotTests {
    static func fill(_ store: LogStore, _ range: ClosedRange<Int>) throws -> [Rec] {
        try range.map { i in
            let p = payload(UInt64(i), length: 40 + i % 30)
            return Rec(seq: try store.appendSync(type: 2, p).get(), type: 2, payload: p)
        }
    }

    @Test func snapshotThenReplayAfterIt() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .batch(milliseconds: 2), segmentMaxBytes: 1024))
        let all = try Self.fill(store, 1...100)
        let state = payload(42, length: 5000)
        #expect(try store.snapshotSync(upTo: 60, state).get() == 60)
        let more = try Self.fill(store, 101...120)
        store.close()

        let (reopened, report) = try LogStore.open(directory: dir.data)
        defer { reopened.close() }
        let snap = try #require(report.snapshot)
        #expect(snap.sequence == 60 && snap.payload == state && snap.file == LogFormat.snapshotName(sequence: 60))
        #expect(report.snapshotsSkipped.isEmpty)
        #expect(try reopened.records(after: snap.sequence) == Array(all[60...]) + more)
        #expect(try reopened.records(after: 0).count == 120)
        #expect(try reopened.records(after: 120).isEmpty)
    }

    @Test func keepsNewestTwoAndFallsBackWhenNewestIsDamaged() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data)
        _ = try Self.fill(store, 1...30)
        for seq in [10, 20, 30] { #expect(try store.snapshotSync(upTo: UInt64(seq), [UInt8(seq)]).get() == UInt64(seq)) }
        store.close()
        let snaps = try FileManager.default.contentsOfDirectory(atPath: dir.data).filter { $0.hasPrefix("snapshot-") }.sorted()
        #expect(snaps == [LogFormat.snapshotName(sequence: 20), LogFormat.snapshotName(sequence: 30)])

        let newest = dir.data + "/" + LogFormat.snapshotName(sequence: 30)
        var bytes = try PosixFileSystem().readWholeFile(newest)
        bytes[LogFormat.snapshotHeaderBytes] ^= 0xFF
        try writeFile(newest, bytes)
        let (back, report) = try readBack(dir.data, after: 20)
        #expect(report.snapshot?.sequence == 20 && report.snapshot?.payload == [20])
        #expect(report.snapshotsSkipped.count == 1 && report.snapshotsSkipped[0].hasPrefix(LogFormat.snapshotName(sequence: 30)))
        #expect(back.map(\.seq) == Array(21...30))
    }

    @Test func interruptedSnapshotIsRemovedAtRecovery() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data)
        _ = try Self.fill(store, 1...5)
        store.close()
        let temp = LogFormat.snapshotName(sequence: 5) + LogFormat.temporarySuffix
        try writeFile(dir.data + "/" + temp, [1, 2, 3])
        let (_, report) = try readBack(dir.data)
        #expect(report.removedFiles == [temp])
        #expect(report.snapshot == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.data + "/" + temp))
    }

    @Test func compactionDeletesExactlyCoveredOldSegments() throws {
        let dir = TempDir()
        let clock = ManualClock()
        var options = LogOptions(fsync: .always, segmentMaxBytes: 512)
        options.clock = clock.read
        let t0 = clock.millis.load(ordering: .relaxed)
        var (store, _) = try LogStore.open(directory: dir.data, options: options)
        _ = try Self.fill(store, 1...40)          // appended at t0
        clock.millis.store(t0 + 60_000, ordering: .relaxed)
        _ = try Self.fill(store, 41...80)         // appended at t0 + 60 s
        store.close()

        // Learn each segment's last sequence from the checker.
        let check = try LogChecker.check(directory: dir.data)
        let segs = check.segments
        #expect(segs.count >= 8)
        (store, _) = try LogStore.open(directory: dir.data, options: options)
        defer { store.close() }
        #expect(try store.compact(retention: .zero, now: t0 + 1_000_000).isEmpty, "no snapshot, nothing is covered")

        #expect(try store.snapshotSync(upTo: 60, [1]).get() == 60)
        #expect(try store.snapshotSync(upTo: 70, [2]).get() == 70)
        // Covered by the oldest kept snapshot (60) and older than 30 s at t0 + 70 s: only the
        // segments whose newest record was appended at t0.
        let now = t0 + 70_000
        let oldAndCovered = segs.dropLast().filter { $0.lastSequence! <= 40 }.map(\.name)
        #expect(try store.compact(retention: .seconds(30), now: now) == oldAndCovered)
        #expect(try store.compact(retention: .seconds(30), now: now).isEmpty, "idempotent")
        // Later, everything covered by 60 goes; the segment holding 61 and the active stay.
        let covered = segs.dropLast().filter { $0.lastSequence! <= 60 }.map(\.name)
        let second = try store.compact(retention: .seconds(30), now: t0 + 200_000)
        #expect(oldAndCovered + second == covered)
        #expect(try segmentFiles(dir.data) == segs.map(\.name).filter { !covered.contains($0) })
        store.close()

        let (reopened, report) = try LogStore.open(directory: dir.data, options: options)
        defer { reopened.close() }
        #expect(report.snapshot?.sequence == 70)
        #expect(try reopened.records(after: 70).map(\.seq) == Array(71...80))
    }
}
