// IntakeStore: the log's public face. `append` may be called from any thread; it takes the
// inbox lock for a few instructions. Everything about the active segment belongs to the one
// writer thread (LogStore+Writer.swift); the catalog of sealed segments and snapshots sits
// behind its own Mutex; snapshots run on a serial background queue.
//
// Design
// - Guarantees (the group-commit contract of docs/STORAGE.md): a completion with `.success`
//   runs only after the fdatasync covering its record returned (after write(2) under `never`);
//   completions run on the writer thread in sequence order; sequence numbers start at 1 and
//   have no gaps; a write or sync failure is sticky and every later append fails at once.
// - Deliberately not: retrying a failed fsync, reading by sequence number, or several writers
//   or processes (LOCK is flock'ed). Completions must hop back to the caller's own loop.
// - Lock order: inbox, then catalog. The writer never holds the inbox lock during I/O.
import Dispatch
import IntakeCore
import IntakeTelemetry
import Synchronization

/// The durable append-only log. Open with `LogStore.open`, append from any thread, `close()`
/// before dropping it (the writer thread keeps the store alive until then).
public final class LogStore: @unchecked Sendable {
    /// The completion of one append: its sequence number once durable, or why not.
    public typealias Completion = @Sendable (Result<UInt64, StoreError>) -> Void
    /// The completion of a batch: the sequence numbers of all its records once durable.
    public typealias BatchCompletion = @Sendable (Result<ClosedRange<UInt64>, StoreError>) -> Void

    enum Done {
        case none
        case one(Completion)
        case batch(first: UInt64, BatchCompletion)
    }

    struct Pending {
        var sequence: UInt64
        var type: UInt8
        var payload: [UInt8]
        var done: Done
    }

    struct Catalog {
        var sealed: [SegmentInfo]
        var snapshots: [UInt64]
    }

    /// The data directory.
    public let directory: String
    /// The options the store was opened with.
    public let options: LogOptions
    let fs: any FileSystem
    let lockFile: OpenFile

    // Guarded by `inbox`.
    let inbox = ConditionLock()
    var queue: [Pending] = []
    var syncWaiters: [Completion] = []
    var nextSequence: UInt64
    var sticky: StoreError?
    var closing = false

    // Owned by the writer thread (and by `open`/`close` before it starts and after it ends).
    var active: SegmentInfo
    var activeFile: OpenFile
    var buffer: [UInt8] = []
    var held: [Pending] = []
    var dirty = false
    /// Size of the active segment's file: data plus zero-filled preallocation.
    var activeAllocated: Int64 = 0
    var lastSyncNanos: UInt64 = 0
    var writtenSequence: UInt64

    // Any thread.
    let healthy = Atomic<Bool>(true)
    let acknowledged: Atomic<UInt64>
    let ownBytes = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    let catalog: Mutex<Catalog>
    /// The segments as recovered (immutable): what `replay` reads.
    let replayPlan: [SegmentInfo]
    let writerExited = DispatchSemaphore(value: 0)
    let snapshotQueue = DispatchQueue(label: "intake.store.snapshots")
    let fsyncSeconds: Histogram
    let bytesGauge: Gauge

    /// Opens (creating if needed) the log in `directory`: takes the LOCK, runs recovery
    /// (docs/STORAGE.md, "Recovery") and starts the writer thread. Throws `.locked` if another
    /// store holds the directory, `.corrupt` if recovery finds damage it must not repair.
    public static func open(directory: String, options: LogOptions = LogOptions(),
                            fileSystem: any FileSystem = PosixFileSystem()) throws -> (store: LogStore, report: RecoveryReport) {
        precondition(options.segmentMaxBytes > LogFormat.segmentHeaderBytes, "BUG: segmentMaxBytes too small")
        precondition(options.snapshotsKept >= 1, "BUG: snapshotsKept must be at least 1")
        let fs = fileSystem
        try fs.makeDirectory(directory)
        let lock = try fs.open(directory + "/" + LogFormat.lockFileName, mode: .create)
        do {
            guard try fs.tryLock(lock) else { throw StoreError.locked(directory: directory) }
            var recovered = try Recovery.run(directory: directory, fs: fs)
            if recovered.activeFile == nil {
                let (info, file) = try createSegment(fs: fs, directory: directory, base: recovered.nextSequence, now: options.clock())
                recovered.segments.append(info)
                recovered.activeFile = file
                recovered.report.segments += 1
            }
            let store = LogStore(directory: directory, options: options, fs: fs, lockFile: lock, recovered: recovered)
            Log.info("store: recovered", ["directory": .string(directory), "report": .string(recovered.report.description)])
            return (store, recovered.report)
        } catch {
            fs.close(lock)
            throw error
        }
    }

    private init(directory: String, options: LogOptions, fs: any FileSystem, lockFile: OpenFile, recovered: RecoveredLog) {
        self.directory = directory
        self.options = options
        self.fs = fs
        self.lockFile = lockFile
        self.nextSequence = recovered.nextSequence
        self.writtenSequence = recovered.nextSequence - 1
        self.acknowledged = Atomic(recovered.nextSequence - 1)
        self.active = recovered.segments.last!
        self.activeFile = recovered.activeFile!
        self.activeAllocated = (try? fs.size(recovered.activeFile!)) ?? recovered.segments.last!.bytes
        self.catalog = Mutex(Catalog(sealed: Array(recovered.segments.dropLast()), snapshots: recovered.snapshotSequences))
        self.replayPlan = recovered.segments
        self.fsyncSeconds = options.metrics.histogram("intake_store_fsync_seconds", help: "Duration of each fdatasync of a log segment.")
        self.bytesGauge = options.metrics.gauge("intake_store_bytes", help: "Total bytes of log segments and snapshots.")
        let total = recovered.segments.reduce(Int64(0)) { $0 + $1.bytes } + recovered.snapshotBytes
        addBytes(Int(total))
        lastSyncNanos = ConditionLock.now()
        startWriter()
    }

    /// Appends one record. `type` must not be 0; the payload is at most
    /// `LogFormat.maxRecordBytes`. The completion gets the record's sequence number once the
    /// record is durable (per the fsync policy), on the writer thread, in sequence order.
    /// If the store refuses at once (invalid argument, sticky error, closed) the completion
    /// runs before `append` returns, on the calling thread.
    public func append(type: UInt8, payload: [UInt8], completion: @escaping Completion) {
        if let e = Self.validate(type: type, bytes: payload.count) { completion(.failure(e)); return }
        inbox.lock()
        if let e = refusal(records: 1) {
            inbox.unlock()
            completion(.failure(e))
            return
        }
        let seq = nextSequence
        nextSequence += 1
        queue.append(Pending(sequence: seq, type: type, payload: payload, done: .one(completion)))
        // The writer only sleeps on an empty queue, so only the first entry needs a wake-up.
        if queue.count == 1 { inbox.signal() }
        inbox.unlock()
    }

    /// Appends several records with consecutive sequence numbers; one completion with their
    /// range once all are durable. Fails as a whole if any record is invalid.
    public func appendBatch(_ records: [(type: UInt8, payload: [UInt8])], completion: @escaping BatchCompletion) {
        if records.isEmpty { completion(.failure(.invalidArgument("empty batch"))); return }
        for r in records {
            if let e = Self.validate(type: r.type, bytes: r.payload.count) { completion(.failure(e)); return }
        }
        inbox.lock()
        if let e = refusal(records: records.count) {
            inbox.unlock()
            completion(.failure(e))
            return
        }
        let first = nextSequence
        let wasEmpty = queue.isEmpty
        for (i, r) in records.enumerated() {
            let last = i == records.count - 1
            queue.append(Pending(sequence: first + UInt64(i), type: r.type, payload: r.payload,
                                 done: last ? .batch(first: first, completion) : .none))
        }
        nextSequence += UInt64(records.count)
        if wasEmpty { inbox.signal() }
        inbox.unlock()
    }

    /// Forces an fdatasync of everything appended so far (under any policy); the completion
    /// gets the last durable sequence number, on the writer thread.
    public func sync(completion: @escaping Completion) {
        inbox.lock()
        if let e = refusal() {
            inbox.unlock()
            completion(.failure(e))
            return
        }
        syncWaiters.append(completion)
        if syncWaiters.count == 1 { inbox.signal() }
        inbox.unlock()
    }

    /// False once a write or sync failed; the store then refuses every append until restarted.
    public var isHealthy: Bool { healthy.load(ordering: .acquiring) }

    /// The highest sequence number whose append completed successfully.
    public var acknowledgedSequence: UInt64 { acknowledged.load(ordering: .acquiring) }

    /// The sticky error, if a write or sync failed.
    public var failure: StoreError? { inbox.withLock { sticky } }

    /// Waits for pending snapshots, writes and syncs everything queued, stops the writer thread
    /// and releases the LOCK. Appends after `close` fail with `.closed`. Idempotent.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        snapshotQueue.sync {}
        inbox.withLock {
            closing = true
            inbox.signal()
        }
        writerExited.wait()
        // The writer has exited: its state is ours. A clean stop leaves no preallocated zeros
        // behind (a crash does; recovery reads them as free space, docs/STORAGE.md).
        if inbox.withLock({ sticky == nil }), activeAllocated > active.bytes {
            do {
                try fs.truncate(activeFile, to: active.bytes)
                try fs.fdatasync(activeFile)
            } catch {
                Log.warning("store: could not cut the preallocated tail at close (harmless: recovery skips it)",
                            ["segment": .string(active.name), "error": .string("\(error)")])
            }
        }
        fs.close(activeFile)
        fs.close(lockFile)
        addBytes(-ownBytes.load(ordering: .relaxed))
    }

    /// Must be called with `inbox` held. `records`: how many sequence numbers the call takes.
    func refusal(records: Int = 0) -> StoreError? {
        if let e = sticky { return e }
        if closing { return .closed }
        // Only a log recovered from files claiming sequences near 2^63 gets here; a record
        // past the range could be written but never recovered.
        let upper = LogFormat.sequences.upperBound
        let room = nextSequence > upper ? 0 : upper - nextSequence + 1
        if UInt64(records) > room { return .invalidArgument("sequence numbers exhausted at \(nextSequence - 1)") }
        return nil
    }

    static func validate(type: UInt8, bytes: Int) -> StoreError? {
        if type == LogFormat.invalidType { return .invalidArgument("record type 0 is reserved") }
        if bytes > LogFormat.maxRecordBytes { return .recordTooLarge(bytes: bytes, limit: LogFormat.maxRecordBytes) }
        return nil
    }

    /// Tracks this store's share of `intake_store_bytes`.
    func addBytes(_ n: Int) {
        ownBytes.add(n, ordering: .relaxed)
        bytesGauge.add(Double(n))
    }

    /// Creates a segment: header written, file fdatasync'ed, directory fsync'ed.
    static func createSegment(fs: any FileSystem, directory: String, base: UInt64, now: EpochMillis) throws -> (SegmentInfo, OpenFile) {
        let name = LogFormat.segmentName(base: base)
        let file = try fs.open(directory + "/" + name, mode: .createTruncate)
        do {
            let header = SegmentHeader(base: base, createdAtMillis: now).encoded()
            try header.withUnsafeBytes { try fs.writeAll(file, $0, at: 0) }
            try fs.fdatasync(file)
            try fs.fsyncDirectory(directory)
        } catch {
            fs.close(file)
            throw error
        }
        return (SegmentInfo(name: name, base: base, lastSequence: nil, lastAppendedAtMillis: nil,
                            bytes: Int64(LogFormat.segmentHeaderBytes)), file)
    }
}
