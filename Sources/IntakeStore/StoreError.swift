// IntakeStore: the one error type of the store, the fsync policy and the options of a log.
// Value types; any thread.
#if canImport(Glibc)
import Glibc
#endif
import IntakeCore
import IntakeTelemetry

/// Everything that can go wrong in the store, with enough context to act on.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed: which, on which file, and errno.
    case io(operation: String, path: String, errno: Int32)
    /// The data is damaged where damage cannot be a torn write: which file, where, and how.
    case corrupt(segment: String, offset: Int64, reason: String)
    /// Another process (or another store in this one) holds the directory's LOCK.
    case locked(directory: String)
    /// A payload over `LogFormat.maxRecordBytes`.
    case recordTooLarge(bytes: Int, limit: Int)
    /// A call with arguments that cannot be honoured (record type 0, a snapshot past the log).
    case invalidArgument(String)
    /// The store was closed.
    case closed

    /// One line for logs and operators.
    public var description: String {
        switch self {
        case .io(let op, let path, let e): "\(op) \(path): \(String(cString: strerror(e))) (errno \(e))"
        case .corrupt(let seg, let off, let why): "corrupt log: \(seg) at offset \(off): \(why)"
        case .locked(let dir): "data directory \(dir) is locked by another process"
        case .recordTooLarge(let n, let limit): "record of \(n) bytes exceeds the limit of \(limit)"
        case .invalidArgument(let why): "invalid argument: \(why)"
        case .closed: "store closed"
        }
    }

    /// The errno of an I/O error, if this is one.
    public var errno: Int32? { if case .io(_, _, let e) = self { e } else { nil } }
}

/// When the writer calls fdatasync (docs/STORAGE.md, "Fsync policies").
public enum FsyncPolicy: Sendable, Equatable, CustomStringConvertible {
    /// fdatasync after every batch; completions after it. The default.
    case always
    /// fdatasync at most every `milliseconds`; completions after the fdatasync that covers them.
    case batch(milliseconds: Int)
    /// No fdatasync on the hot path; completions after write(2).
    case never

    /// Parses `always`, `batch:<ms>` (ms ≥ 1) or `never`, as given to `--fsync`.
    public init?(parsing s: String) {
        switch s {
        case "always": self = .always
        case "never": self = .never
        default:
            guard s.hasPrefix("batch:"), let ms = Int(s.dropFirst(6)), ms >= 1, ms <= 60_000 else { return nil }
            self = .batch(milliseconds: ms)
        }
    }

    /// The flag spelling: `always`, `batch:5`, `never`.
    public var description: String {
        switch self {
        case .always: "always"
        case .batch(let ms): "batch:\(ms)"
        case .never: "never"
        }
    }
}

/// How a `LogStore` behaves. The defaults are the production ones.
public struct LogOptions: Sendable {
    /// When to fdatasync.
    public var fsync: FsyncPolicy = .always
    /// The active segment is sealed when the next record would take it past this size.
    public var segmentMaxBytes: Int = LogFormat.defaultSegmentMaxBytes
    /// How many snapshots to keep (at least 1; 2 gives a fallback).
    public var snapshotsKept: Int = 2
    /// The active segment is extended with zeros this many bytes ahead of the data, so that
    /// appends overwrite allocated blocks and an fdatasync need not journal a new file size
    /// (docs/STORAGE.md, "Preallocation"); 0 turns it off (plain appends).
    public var preallocateBytes: Int = LogFormat.defaultPreallocateBytes
    /// Where `intake_store_fsync_seconds` and `intake_store_bytes` are registered.
    public var metrics: MetricsRegistry = .shared
    /// The wall clock stamped into records ("appended at") and headers.
    public var clock: @Sendable () -> EpochMillis = LogOptions.wallClockMillis

    /// Options with every default.
    public init() {}

    /// Options with the given policy and segment size, other fields default.
    public init(fsync: FsyncPolicy, segmentMaxBytes: Int = LogFormat.defaultSegmentMaxBytes) {
        self.fsync = fsync
        self.segmentMaxBytes = segmentMaxBytes
    }

    /// The real wall clock in Unix milliseconds.
    public static let wallClockMillis: @Sendable () -> EpochMillis = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
    }
}
