// Regression tests for what the fuzz target `recovery` found in IntakeStore (Ops/scripts/fuzz,
// Fuzz/README.md): one named test per crash. The fuzzer's input is quoted with what the
// harness (Fuzz/Recovery.swift) made of it, and the test builds those files itself. Each test
// owns its temp directory.
import Foundation
import Synchronization
import Testing
@testable import IntakeStore

@Suite(.timeLimit(.minutes(1)))
struct StoreFuzzRegressionTests {
    static func segmentPath(_ dir: String, _ base: UInt64) -> String { dir + "/" + LogFormat.segmentName(base: base) }

    static func header(_ base: UInt64) -> [UInt8] { SegmentHeader(base: base, createdAtMillis: 1_763_776_000_000).encoded() }

    static func record(_ seq: UInt64, _ payload: [UInt8] = [1, 2, 3]) -> [UInt8] {
        RecordCodec.encode(type: 1, sequence: seq, appendedAtMillis: 1_763_776_000_000, payload: payload)
    }

    /// fuzz recovery, crash 1: input `0a 0a` (recompute CRCs, split; base choice 2 = 0, no
    /// content): an empty file named 00000000000000000000.log. `intake check` trapped
    /// (arithmetic overflow computing "the sequence before base 0"). Sequence 0 is now out of
    /// the range a log may hold: reported, never computed with.
    @Test func segmentWithBaseZeroIsReportedNotTrappedOn() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.data, withIntermediateDirectories: true)
        try writeFile(Self.segmentPath(dir.data, 0), [])
        let report = try LogChecker.check(directory: dir.data)
        #expect(!report.isClean)
        // Recovery treats an empty last segment as an interrupted rollover: removed, fresh start.
        let (store, recovered) = try LogStore.open(directory: dir.data)
        #expect(recovered.removedFiles == [LogFormat.segmentName(base: 0)])
        #expect(try store.appendSync([7]).get() == 1)
        store.close()

        // With a valid header, base 0 is corruption for both.
        let other = TempDir()
        try FileManager.default.createDirectory(atPath: other.data, withIntermediateDirectories: true)
        try writeFile(Self.segmentPath(other.data, 0), Self.header(0) + Self.record(0))
        let checked = try LogChecker.check(directory: other.data)
        #expect(checked.segments.first?.problems == ["offset 8: base sequence 0 out of range"])
        #expect(throws: StoreError.corrupt(segment: LogFormat.segmentName(base: 0), offset: 8, reason: "base sequence 0 out of range")) {
            _ = try LogStore.open(directory: other.data)
        }
    }

    /// fuzz recovery, crash 2: input `db d5 ff…` (valid header for base 2^64 - 2, then 8 bytes
    /// of garbage, a snapshot at 0): recovery cut the torn tail and trapped writing the warning,
    /// which converts the last good sequence to Int. Sequences are now 1…2^63 - 2, so they
    /// and the next one always fit an Int64; a larger base is corruption.
    @Test func segmentBaseBeyondInt64IsCorruptNotATrap() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.data, withIntermediateDirectories: true)
        let base = UInt64.max - 1
        try writeFile(Self.segmentPath(dir.data, base), Self.header(base) + [0xFF, 0x31, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x31])
        #expect(throws: StoreError.corrupt(segment: LogFormat.segmentName(base: base), offset: 8,
                                           reason: "base sequence \(base) out of range")) {
            _ = try LogStore.open(directory: dir.data)
        }
        #expect(!(try LogChecker.check(directory: dir.data)).isClean)
        // The largest base allowed recovers as usual, torn tail and all.
        let top = LogFormat.sequences.upperBound
        let ok = TempDir()
        try FileManager.default.createDirectory(atPath: ok.data, withIntermediateDirectories: true)
        try writeFile(Self.segmentPath(ok.data, top), Self.header(top) + [0xFF, 0x31, 0xFF])
        let (store, report) = try LogStore.open(directory: ok.data)
        #expect(report.truncatedBytes == 3 && report.lastSequence == top - 1)
        store.close()
    }

    /// fuzz recovery, crash 3: input `17 ed 53…` (header, CRCs and sequences fixed up for base
    /// 2^63 - 2, the largest allowed; a record and a snapshot): after
    /// recovery the store appended sequence 2^63 - 1, which the next open then refused as out
    /// of range: an acknowledged record that can never be recovered. Appends past the range
    /// are now refused.
    @Test func appendPastTheLastSequenceIsRefused() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.data, withIntermediateDirectories: true)
        let top = LogFormat.sequences.upperBound
        try writeFile(Self.segmentPath(dir.data, top), Self.header(top) + Self.record(top))
        let (store, report) = try LogStore.open(directory: dir.data)
        #expect(report.lastSequence == top)
        #expect(store.appendSync([1]) == .failure(.invalidArgument("sequence numbers exhausted at \(top)")))
        store.close()
        let (again, second) = try LogStore.open(directory: dir.data)
        #expect(second.truncatedBytes == 0 && second.lastSequence == top)
        again.close()
    }

    /// Found with crash 2 (the same arithmetic, in step 9): a valid snapshot file named for
    /// sequence 2^64 - 1 made recovery compute "snapshot + 1". Such a snapshot is skipped now.
    @Test func snapshotSequenceOutOfRangeIsSkipped() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.data, withIntermediateDirectories: true)
        try writeFile(Self.segmentPath(dir.data, 1), Self.header(1) + Self.record(1))
        let name = LogFormat.snapshotName(sequence: .max)
        try writeFile(dir.data + "/" + name, SnapshotCodec.encode(sequence: .max, createdAtMillis: 0, payload: [1]))
        let (store, report) = try LogStore.open(directory: dir.data)
        #expect(report.snapshot == nil)
        #expect(report.snapshotsSkipped == ["\(name): sequence \(UInt64.max) out of range"])
        store.close()
    }

    /// fuzz recovery, crash 4: after some minutes `open` failed with "Too many open files";
    /// the harness then counted descriptors and shrank it to input `db` (valid header for base
    /// 1, no records; a valid snapshot at 1): open fails ("log ends at 0 before snapshot") and
    /// left the last segment's descriptor open. Every file recovery opens is closed when it
    /// fails.
    @Test func failedRecoveryClosesEveryFile() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.data, withIntermediateDirectories: true)
        try writeFile(Self.segmentPath(dir.data, 1), Self.header(1))
        try writeFile(dir.data + "/" + LogFormat.snapshotName(sequence: 1), SnapshotCodec.encode(sequence: 1, createdAtMillis: 0, payload: []))
        let fs = CountingFileSystem()
        #expect(throws: StoreError.self) { _ = try LogStore.open(directory: dir.data, fileSystem: fs) }
        #expect(fs.stillOpen == 0, "\(fs.stillOpen) files left open")
    }
}

/// The real file system, counting files opened and not yet closed.
final class CountingFileSystem: FileSystem {
    let base = PosixFileSystem()
    private let openFDs = Mutex<Set<Int32>>([])
    var stillOpen: Int { openFDs.withLock { $0.count } }

    func open(_ path: String, mode: OpenMode) throws -> OpenFile {
        let f = try base.open(path, mode: mode)
        openFDs.withLock { _ = $0.insert(f.fd) }
        return f
    }
    func close(_ file: OpenFile) {
        openFDs.withLock { _ = $0.remove(file.fd) }
        base.close(file)
    }
    func pwrite(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int { try base.pwrite(file, bytes, at: offset) }
    func pread(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try base.pread(file, into: buffer, at: offset)
    }
    func fdatasync(_ file: OpenFile) throws { try base.fdatasync(file) }
    func fsync(_ file: OpenFile) throws { try base.fsync(file) }
    func truncate(_ file: OpenFile, to length: Int64) throws { try base.truncate(file, to: length) }
    func size(_ file: OpenFile) throws -> Int64 { try base.size(file) }
    func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    func unlink(_ path: String) throws { try base.unlink(path) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func makeDirectory(_ path: String) throws { try base.makeDirectory(path) }
    func fsyncDirectory(_ path: String) throws { try base.fsyncDirectory(path) }
    func tryLock(_ file: OpenFile) throws -> Bool { try base.tryLock(file) }
    func mapReadOnly(_ file: OpenFile, bytes: Int) throws -> FileBytes { try base.mapReadOnly(file, bytes: bytes) }
}
