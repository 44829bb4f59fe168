// IntakeStore: a file system that injects faults, for tests and the server's fault-injection
// flag. It forwards to a real `FileSystem` and, when told, fails the Nth write or sync with an
// errno or cuts the Nth write short. Any thread: its counters sit behind one Mutex.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A `FileSystem` that fails on purpose.
///
/// Faults count only operations on files whose path ends with `pathSuffix` (segments by
/// default), from the moment they are injected: `inject(.failWrite(errno: ENOSPC), onNth: 1)`
/// fails the very next segment write. Each fault fires once unless `repeating` is set, in
/// which case every matching operation from the Nth on fails (a disk that stays full).
public final class FaultyFileSystem: FileSystem {
    /// What goes wrong.
    public enum Fault: Sendable, Equatable {
        /// pwrite fails with this errno and writes nothing.
        case failWrite(errno: Int32)
        /// fdatasync or fsync fails with this errno (the data may or may not have reached the disk).
        case failSync(errno: Int32)
        /// pwrite writes at most this many bytes (a short write, not an error).
        case shortWrite(maxBytes: Int)
    }

    private struct Armed { var fault: Fault; var atCount: Int; var repeating: Bool }
    private struct State {
        var writes = 0
        var syncs = 0
        var armed: [Armed] = []
        var fired: [Fault] = []
    }

    private let base: any FileSystem
    private let pathSuffix: String
    private let state = Mutex(State())

    /// Wraps `base`; faults apply to paths ending with `pathSuffix`.
    public init(base: any FileSystem = PosixFileSystem(), pathSuffix: String = LogFormat.segmentSuffix) {
        self.base = base
        self.pathSuffix = pathSuffix
    }

    /// Arms `fault` for the `n`th matching operation of its kind from now (1 = the next one).
    public func inject(_ fault: Fault, onNth n: Int = 1, repeating: Bool = false) {
        precondition(n >= 1, "BUG: onNth counts from 1")
        state.withLock { s in
            let now = if case .failSync = fault { s.syncs } else { s.writes }
            s.armed.append(Armed(fault: fault, atCount: now + n, repeating: repeating))
        }
    }

    /// Matching writes and syncs seen so far, and the faults that fired.
    public var counts: (writes: Int, syncs: Int, fired: [Fault]) {
        state.withLock { ($0.writes, $0.syncs, $0.fired) }
    }

    private func matches(_ path: String) -> Bool { path.hasSuffix(pathSuffix) }

    /// Counts one operation and returns the fault that applies to it, if any.
    private func next(isSync: Bool) -> Fault? {
        state.withLock { s in
            if isSync { s.syncs += 1 } else { s.writes += 1 }
            let count = isSync ? s.syncs : s.writes
            for a in s.armed {
                let kindMatches = if case .failSync = a.fault { isSync } else { !isSync }
                if kindMatches && (count == a.atCount || (a.repeating && count > a.atCount)) {
                    s.fired.append(a.fault)
                    return a.fault
                }
            }
            return nil
        }
    }

    public func pwrite(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        guard matches(file.path) else { return try base.pwrite(file, bytes, at: offset) }
        switch next(isSync: false) {
        case .failWrite(let e)?: throw StoreError.io(operation: "pwrite", path: file.path, errno: e)
        case .shortWrite(let maxBytes)?:
            let n = max(1, min(maxBytes, bytes.count))
            return try base.pwrite(file, UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: offset)
        default: return try base.pwrite(file, bytes, at: offset)
        }
    }

    public func fdatasync(_ file: OpenFile) throws {
        if matches(file.path), case .failSync(let e)? = next(isSync: true) {
            throw StoreError.io(operation: "fdatasync", path: file.path, errno: e)
        }
        try base.fdatasync(file)
    }

    public func fsync(_ file: OpenFile) throws {
        if matches(file.path), case .failSync(let e)? = next(isSync: true) {
            throw StoreError.io(operation: "fsync", path: file.path, errno: e)
        }
        try base.fsync(file)
    }

    public func open(_ path: String, mode: OpenMode) throws -> OpenFile { try base.open(path, mode: mode) }
    public func close(_ file: OpenFile) { base.close(file) }
    public func pread(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try base.pread(file, into: buffer, at: offset)
    }
    public func truncate(_ file: OpenFile, to length: Int64) throws { try base.truncate(file, to: length) }
    public func size(_ file: OpenFile) throws -> Int64 { try base.size(file) }
    public func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    public func unlink(_ path: String) throws { try base.unlink(path) }
    public func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    public func makeDirectory(_ path: String) throws { try base.makeDirectory(path) }
    public func fsyncDirectory(_ path: String) throws { try base.fsyncDirectory(path) }
    public func tryLock(_ file: OpenFile) throws -> Bool { try base.tryLock(file) }
    public func mapReadOnly(_ file: OpenFile, bytes: Int) throws -> FileBytes { try base.mapReadOnly(file, bytes: bytes) }
}
