// IntakeStoreTests: shared helpers: temp directories under /tmp (removed at deinit), blocking
// wrappers around the store's completions, and reading a log back. Test threads only.
import Dispatch
import Foundation
import IntakeTestSupport
import Synchronization
@testable import IntakeStore

/// A fresh directory under /tmp, removed when the value goes away.
final class TempDir: @unchecked Sendable {
    let path: String
    init(_ tag: String = "store") {
        var template = Array("/tmp/intake-\(tag)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }
    /// The data directory inside (not created: `LogStore.open` creates it).
    var data: String { path + "/data" }
    deinit { try? FileManager.default.removeItem(atPath: path) }  // best effort cleanup of a test directory
}

/// One record as the tests compare them.
struct Rec: Equatable, CustomStringConvertible {
    var seq: UInt64
    var type: UInt8
    var payload: [UInt8]
    var description: String { "#\(seq) t\(type) \(payload.count)B" }
}

/// A value filled in by a completion and read after the semaphore.
final class Waiter<T: Sendable>: @unchecked Sendable {
    private let sem = DispatchSemaphore(value: 0)
    private var value: T?
    func put(_ v: T) { value = v; sem.signal() }
    func get(timeoutSeconds: Double = 30) -> T? {
        sem.wait(timeout: .now() + timeoutSeconds) == .success ? value : nil
    }
}

extension LogStore {
    /// Appends and waits for the completion.
    func appendSync(type: UInt8 = 1, _ payload: [UInt8]) -> Result<UInt64, StoreError> {
        let w = Waiter<Result<UInt64, StoreError>>()
        append(type: type, payload: payload) { w.put($0) }
        return w.get() ?? .failure(.invalidArgument("timed out"))
    }

    func snapshotSync(upTo seq: UInt64, _ payload: [UInt8]) -> Result<UInt64, StoreError> {
        let w = Waiter<Result<UInt64, StoreError>>()
        writeSnapshot(upTo: seq, payload: payload) { w.put($0) }
        return w.get() ?? .failure(.invalidArgument("timed out"))
    }

    func records(after seq: UInt64 = 0) throws -> [Rec] {
        var out: [Rec] = []
        try replay(after: seq) { out.append(Rec(seq: $0.sequence, type: $0.type, payload: $0.payloadBytes)) }
        return out
    }
}

/// Opens, reads every record after `after`, closes.
func readBack(_ dir: String, after: UInt64 = 0) throws -> (records: [Rec], report: RecoveryReport) {
    let (store, report) = try LogStore.open(directory: dir)
    defer { store.close() }
    return (try store.records(after: after), report)
}

/// A payload that tells its own origin: seeded random bytes of `length`.
func payload(_ seed: UInt64, length: Int) -> [UInt8] {
    var rng = SeededRandom(seed: seed &* 0x9E37_79B9 &+ 17)
    return (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Files of a directory and their bytes, to restore between trials.
func snapshotFiles(_ dir: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name != "LOCK" {
        out[name] = try PosixFileSystem().readWholeFile(dir + "/" + name)
    }
    return out
}

func restoreFiles(_ files: [String: [UInt8]], into dir: String) throws {
    try? FileManager.default.removeItem(atPath: dir)  // absent on the first trial
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (name, bytes) in files { try writeFile(dir + "/" + name, bytes) }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fs = PosixFileSystem()
    let f = try fs.open(path, mode: .createTruncate)
    defer { fs.close(f) }
    try bytes.withUnsafeBytes { try fs.writeAll(f, $0, at: 0) }
}

func segmentFiles(_ dir: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir).filter { LogFormat.parseSegmentName($0) != nil }.sorted()
}

/// A wall clock the test moves by hand.
final class ManualClock: Sendable {
    let millis = Atomic<Int64>(1_700_000_000_000)
    var read: @Sendable () -> Int64 { { [self] in self.millis.load(ordering: .relaxed) } }
}
