// IntakeStoreTests: the writer end to end on the real file system: every fsync policy with
// small and large segments, concurrent appenders, batches, group commit, the LOCK file and
// argument checks. Each test owns its temp directory; appenders are test threads.
import Dispatch
import Foundation
import IntakeTestSupport
import IntakeTelemetry
import Synchronization
import Testing
@testable import IntakeStore

@Suite(.timeLimit(.minutes(5)))
struct LogStoreTests {
    static let policies: [FsyncPolicy] = [.always, .batch(milliseconds: 2), .never]
    static let segmentSizes = [4096, LogFormat.defaultSegmentMaxBytes]

    @Test(arguments: policies, segmentSizes)
    func concurrentAppendsComeBackInOrder(policy: FsyncPolicy, segmentMaxBytes: Int) throws {
        let dir = TempDir()
        let threads = 4, perThread = 150
        let (store, first) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: policy, segmentMaxBytes: segmentMaxBytes))
        #expect(first.records == 0 && first.segments == 1 && first.lastSequence == 0)
        let acked = Mutex<[UInt64: [UInt8]]>([:])
        let order = Mutex<[UInt64]>([])
        let group = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                let p = payload(UInt64(t * 1000 + i), length: (t * 37 + i * 13) % 300)
                group.enter()
                store.append(type: UInt8(1 + t), payload: p) { r in
                    if case .success(let seq) = r {
                        acked.withLock { $0[seq] = p }
                        order.withLock { $0.append(seq) }
                    }
                    group.leave()
                }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        store.close()
        let seqs = order.withLock { $0 }
        #expect(seqs == Array(1...UInt64(threads * perThread)), "completions run in sequence order, no gaps")

        let (back, report) = try readBack(dir.data)
        #expect(report.records == threads * perThread)
        #expect(report.truncatedBytes == 0)
        #expect(back.map(\.seq) == Array(1...UInt64(threads * perThread)))
        let want = acked.withLock { $0 }
        for r in back { #expect(want[r.seq] == r.payload, "record \(r.seq)") }
        if segmentMaxBytes == 4096 {
            let segs = try segmentFiles(dir.data)
            #expect(segs.count > 10)
            for s in segs {
                let size = try FileManager.default.attributesOfItem(atPath: dir.data + "/" + s)[.size] as! Int
                #expect(size <= 4096, "\(s) is \(size) bytes")
            }
        }
    }

    @Test func sequenceContinuesAfterReopen() throws {
        let dir = TempDir()
        for round in 0..<3 {
            let (store, report) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .always, segmentMaxBytes: 300))
            #expect(report.lastSequence == UInt64(round * 5))
            for i in 0..<5 { #expect(try store.appendSync([UInt8(i)]).get() == UInt64(round * 5 + i + 1)) }
            store.close()
        }
        #expect(try readBack(dir.data).records.map(\.seq) == Array(1...15))
    }

    @Test func appendBatchGetsConsecutiveRange() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .always, segmentMaxBytes: 200))
        #expect(try store.appendSync([9]).get() == 1)
        let w = Waiter<Result<ClosedRange<UInt64>, StoreError>>()
        let batch: [(type: UInt8, payload: [UInt8])] = (0..<10).map { (UInt8(2 + $0), payload(UInt64($0), length: 50)) }
        store.appendBatch(batch) { w.put($0) }
        #expect(try w.get()?.get() == 2...11)
        store.close()
        let back = try readBack(dir.data).records
        #expect(back.count == 11)
        #expect(back.dropFirst().map(\.payload) == batch.map(\.payload))
        #expect(back.dropFirst().map(\.type) == batch.map(\.type))
    }

    @Test func groupCommitSharesFsyncs() throws {
        let dir = TempDir()
        let fs = FaultyFileSystem()
        let (store, _) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .always), fileSystem: fs)
        let syncsBefore = fs.counts.syncs
        let n = 64 * 8
        let group = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: 64) { t in
            for i in 0..<8 {
                group.enter()
                store.append(type: 1, payload: payload(UInt64(t * 8 + i), length: 128)) { _ in group.leave() }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        let syncs = fs.counts.syncs - syncsBefore
        store.close()
        #expect(syncs >= 1 && syncs < n / 2, "\(syncs) fdatasyncs for \(n) appends")
    }

    @Test func alwaysSyncsBeforeEverySequentialCompletion() throws {
        let dir = TempDir()
        let fs = FaultyFileSystem()
        let (store, _) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .always), fileSystem: fs)
        for i in 0..<25 {
            let before = fs.counts.syncs
            #expect(try store.appendSync([UInt8(i)]).get() == UInt64(i + 1))
            #expect(fs.counts.syncs == before + 1, "append \(i + 1) completed after exactly one fdatasync")
        }
        store.close()
    }

    @Test func syncForcesFdatasyncUnderNever() throws {
        let dir = TempDir()
        let fs = FaultyFileSystem()
        let (store, _) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .never), fileSystem: fs)
        let before = fs.counts.syncs
        for i in 0..<20 { _ = store.appendSync([UInt8(i)]) }
        #expect(fs.counts.syncs == before, "policy never: no fdatasync on the hot path")
        let w = Waiter<Result<UInt64, StoreError>>()
        store.sync { w.put($0) }
        #expect(try w.get()?.get() == 20)
        #expect(fs.counts.syncs == before + 1)
        store.close()
    }

    @Test func lockFileStopsASecondOpen() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data)
        #expect(throws: StoreError.locked(directory: dir.data)) { try LogStore.open(directory: dir.data) }
        #expect(throws: StoreError.locked(directory: dir.data)) { try LogChecker.check(directory: dir.data) }
        store.close()
        let (again, _) = try LogStore.open(directory: dir.data)
        again.close()
    }

    @Test func refusesInvalidAppendsAndAppendsAfterClose() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data)
        #expect(store.appendSync(type: 0, [1]) == .failure(.invalidArgument("record type 0 is reserved")))
        let big = [UInt8](repeating: 1, count: LogFormat.maxRecordBytes + 1)
        #expect(store.appendSync(big) == .failure(.recordTooLarge(bytes: big.count, limit: LogFormat.maxRecordBytes)))
        #expect(store.snapshotSync(upTo: 5, []).isFailure)
        #expect(try store.appendSync([1]).get() == 1, "refused appends use no sequence number")
        store.close()
        store.close()
        #expect(store.appendSync([2]) == .failure(.closed))
    }

    @Test func recordLargerThanASegmentGetsItsOwnSegment() throws {
        let dir = TempDir()
        let (store, _) = try LogStore.open(directory: dir.data, options: LogOptions(fsync: .always, segmentMaxBytes: 1024))
        let big = payload(1, length: 5000)
        #expect(try store.appendSync([1]).get() == 1)
        #expect(try store.appendSync(big).get() == 2)
        #expect(try store.appendSync([3]).get() == 3)
        store.close()
        #expect(try segmentFiles(dir.data).count == 3)
        #expect(try readBack(dir.data).records.map(\.payload) == [[1], big, [3]])
    }

    @Test func metricsObserveFsyncsAndBytes() throws {
        let dir = TempDir()
        var options = LogOptions(fsync: .always, segmentMaxBytes: 4096)
        options.metrics = MetricsRegistry()
        let (store, _) = try LogStore.open(directory: dir.data, options: options)
        for i in 0..<10 { _ = store.appendSync(payload(UInt64(i), length: 100)) }
        let text = options.metrics.exposition()
        #expect(text.contains("intake_store_fsync_seconds_count "))
        #expect(!text.contains("intake_store_fsync_seconds_count 0\n"))
        #expect(text.contains("intake_store_bytes \(32 + 10 * 128)\n"), "\(text)")
        store.close()
        #expect(options.metrics.exposition().contains("intake_store_bytes 0\n"))
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}
