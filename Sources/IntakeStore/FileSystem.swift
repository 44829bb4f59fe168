// IntakeStore: the file-system seam. Every system call the store makes goes through
// `FileSystem`, so tests (and the server's fault-injection flag) can swap in
// `FaultyFileSystem`. `PosixFileSystem` is stateless and callable from any thread; it retries
// EINTR and turns every other failure into `StoreError.io` with the path and errno.
#if canImport(Glibc)
import Glibc
#endif

/// An open file: the descriptor and the path it was opened with (for error messages).
public struct OpenFile: Sendable, Hashable {
    /// The file descriptor.
    public let fd: Int32
    /// The path given to `open`.
    public let path: String
    /// Wraps a descriptor that the caller opened.
    public init(fd: Int32, path: String) { self.fd = fd; self.path = path }
}

/// How `FileSystem.open` opens a file.
public enum OpenMode: Sendable {
    /// O_RDONLY.
    case readOnly
    /// O_RDWR, the file must exist.
    case readWrite
    /// O_RDWR|O_CREAT (mode 0644), keeping existing content.
    case create
    /// O_RDWR|O_CREAT|O_TRUNC (mode 0644).
    case createTruncate
}

/// The system calls the store needs. All methods throw `StoreError.io` on failure.
public protocol FileSystem: Sendable {
    /// open(2) with O_CLOEXEC.
    func open(_ path: String, mode: OpenMode) throws -> OpenFile
    /// close(2); errors are ignored because the store has already synced what it needs.
    func close(_ file: OpenFile)
    /// pwrite(2) once; may write fewer bytes than given (callers loop, see `writeAll`).
    func pwrite(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int
    /// pread(2) once; returns 0 at end of file.
    func pread(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// fdatasync(2).
    func fdatasync(_ file: OpenFile) throws
    /// fsync(2).
    func fsync(_ file: OpenFile) throws
    /// ftruncate(2).
    func truncate(_ file: OpenFile, to length: Int64) throws
    /// The file's size from fstat(2).
    func size(_ file: OpenFile) throws -> Int64
    /// rename(2).
    func rename(_ from: String, to: String) throws
    /// unlink(2).
    func unlink(_ path: String) throws
    /// The names in a directory, without "." and "..".
    func listDirectory(_ path: String) throws -> [String]
    /// mkdir(2) with mode 0755; succeeds if the directory exists.
    func makeDirectory(_ path: String) throws
    /// Opens the directory and fsync(2)s it, making creations, renames and unlinks durable.
    func fsyncDirectory(_ path: String) throws
    /// flock(LOCK_EX|LOCK_NB): true if taken, false if someone else holds it.
    func tryLock(_ file: OpenFile) throws -> Bool
    /// The first `bytes` bytes of a file as read-only memory. The default reads them into an
    /// allocation; `PosixFileSystem` maps them (mmap(2), no copy). The file must not shrink
    /// while the result is alive (the store holds LOCK, so only the store itself could).
    func mapReadOnly(_ file: OpenFile, bytes: Int) throws -> FileBytes
}

/// Read-only bytes of a file, released (munmap or free) when the last reference goes away.
/// Owned by one thread at a time (recovery, then replay).
public final class FileBytes: @unchecked Sendable {
    /// The bytes; valid while this object is alive.
    public let bytes: UnsafeRawBufferPointer
    private let release: (UnsafeRawBufferPointer) -> Void

    /// Wraps `bytes`; `release` runs once, at deinit.
    public init(bytes: UnsafeRawBufferPointer, release: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.bytes = bytes
        self.release = release
    }

    deinit { release(bytes) }
}

extension FileSystem {
    /// Writes all of `bytes` at `offset`, looping over short writes.
    public func writeAll(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let n = try pwrite(file, UnsafeRawBufferPointer(rebasing: bytes[done...]), at: offset + Int64(done))
            // pwrite never returns 0 for a non-empty buffer on a regular file; treat it as full.
            if n <= 0 { throw StoreError.io(operation: "pwrite", path: file.path, errno: ENOSPC) }
            done += n
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset` (fewer only at end of file); returns the count.
    public func readFully(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try pread(file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    public func mapReadOnly(_ file: OpenFile, bytes n: Int) throws -> FileBytes {
        try readIntoMemory(file, bytes: n)
    }

    /// `mapReadOnly` by reading: up to `n` bytes (fewer at end of file) into an allocation.
    public func readIntoMemory(_ file: OpenFile, bytes n: Int) throws -> FileBytes {
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 16)
        do {
            let got = try readFully(file, into: UnsafeMutableRawBufferPointer(rebasing: p[0..<n]), at: 0)
            return FileBytes(bytes: UnsafeRawBufferPointer(rebasing: p[0..<got])) { _ in p.deallocate() }
        } catch {
            p.deallocate()
            throw error
        }
    }

    /// Reads a whole (small) file.
    public func readWholeFile(_ path: String) throws -> [UInt8] {
        let f = try open(path, mode: .readOnly)
        defer { close(f) }
        let n = Int(try size(f))
        var out = [UInt8](repeating: 0, count: n)
        let got = try out.withUnsafeMutableBytes { try readFully(f, into: $0, at: 0) }
        if got < n { out.removeLast(n - got) }
        return out
    }
}

/// The real file system.
public struct PosixFileSystem: FileSystem {
    /// The real file system.
    public init() {}

    @inline(__always)
    private func check(_ r: Int, _ op: String, _ path: String) throws -> Int {
        if r < 0 { throw StoreError.io(operation: op, path: path, errno: Glibc.errno) }
        return r
    }

    /// Runs `call` again while it fails with EINTR.
    @inline(__always)
    private func retrying(_ call: () -> Int) -> Int {
        while true {
            let r = call()
            if r < 0 && Glibc.errno == EINTR { continue }
            return r
        }
    }

    public func open(_ path: String, mode: OpenMode) throws -> OpenFile {
        let flags: Int32 = switch mode {
        case .readOnly: O_RDONLY
        case .readWrite: O_RDWR
        case .create: O_RDWR | O_CREAT
        case .createTruncate: O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = retrying { Int(Glibc.open(path, flags | O_CLOEXEC, 0o644)) }
        return OpenFile(fd: Int32(try check(fd, "open", path)), path: path)
    }

    public func close(_ file: OpenFile) { _ = Glibc.close(file.fd) }

    public func pwrite(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        try check(retrying { Glibc.pwrite(file.fd, bytes.baseAddress, bytes.count, off_t(offset)) }, "pwrite", file.path)
    }

    public func pread(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try check(retrying { Glibc.pread(file.fd, buffer.baseAddress, buffer.count, off_t(offset)) }, "pread", file.path)
    }

    public func fdatasync(_ file: OpenFile) throws {
        // EINTR is not retried on purpose for the sync calls: Linux does not return it for
        // fdatasync, and a retry after a real failure would report unsynced data as safe.
        _ = try check(Int(Glibc.fdatasync(file.fd)), "fdatasync", file.path)
    }

    public func fsync(_ file: OpenFile) throws {
        _ = try check(Int(Glibc.fsync(file.fd)), "fsync", file.path)
    }

    public func truncate(_ file: OpenFile, to length: Int64) throws {
        _ = try check(retrying { Int(Glibc.ftruncate(file.fd, off_t(length))) }, "ftruncate", file.path)
    }

    public func size(_ file: OpenFile) throws -> Int64 {
        var st = stat()
        _ = try check(Int(fstat(file.fd, &st)), "fstat", file.path)
        return Int64(st.st_size)
    }

    public func rename(_ from: String, to: String) throws {
        _ = try check(Int(Glibc.rename(from, to)), "rename to \(to)", from)
    }

    public func unlink(_ path: String) throws {
        _ = try check(Int(Glibc.unlink(path)), "unlink", path)
    }

    public func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw StoreError.io(operation: "opendir", path: path, errno: Glibc.errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: &ent.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && Glibc.errno != EEXIST {
            throw StoreError.io(operation: "mkdir", path: path, errno: Glibc.errno)
        }
    }

    public func fsyncDirectory(_ path: String) throws {
        let fd = try check(retrying { Int(Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) }, "open directory", path)
        defer { _ = Glibc.close(Int32(fd)) }
        _ = try check(Int(Glibc.fsync(Int32(fd))), "fsync directory", path)
    }

    /// mmap(2)s the first `n` bytes (MAP_POPULATE: recovery reads every page anyway, and one
    /// batched fault-in is cheaper than one fault per page). Empty files get an empty buffer.
    public func mapReadOnly(_ file: OpenFile, bytes n: Int) throws -> FileBytes {
        guard n > 0 else { return FileBytes(bytes: UnsafeRawBufferPointer(start: nil, count: 0)) { _ in } }
        let p = Glibc.mmap(nil, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file.fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {  // MAP_FAILED
            throw StoreError.io(operation: "mmap", path: file.path, errno: Glibc.errno)
        }
        return FileBytes(bytes: UnsafeRawBufferPointer(start: p, count: n)) { b in
            _ = Glibc.munmap(UnsafeMutableRawPointer(mutating: b.baseAddress), b.count)
        }
    }

    public func tryLock(_ file: OpenFile) throws -> Bool {
        let r = retrying { Int(flock(file.fd, LOCK_EX | LOCK_NB)) }
        if r == 0 { return true }
        if Glibc.errno == EWOULDBLOCK { return false }
        throw StoreError.io(operation: "flock", path: file.path, errno: Glibc.errno)
    }
}
