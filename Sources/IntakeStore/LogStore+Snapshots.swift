// IntakeStore: replay, snapshots and compaction. Replay runs on the caller's thread and reads
// only what recovery found; snapshots run on the store's serial background queue (off the
// writer's hot path); compaction runs on the caller's thread under the catalog lock.
import Dispatch
import IntakeCore
import IntakeTelemetry

extension LogStore {
    /// Hands every record with sequence > `sequence` that was in the log when the store was
    /// opened to `body`, in order. Each segment is mapped into memory (no copy) and walked
    /// again for bounds and continuity; checksums are computed only for a segment recovery did
    /// not checksum (one wholly covered by the snapshot, read only if `sequence` is below it),
    /// since recovery checked every other record and the LOCK keeps the files unchanged. The
    /// view's payload is valid only during the call. Call it at start-up, before `compact`.
    /// Returns the number of records.
    @discardableResult
    public func replay(after sequence: UInt64, _ body: (RecordView) throws -> Void) throws -> Int {
        var count = 0
        for seg in replayPlan {
            guard let last = seg.lastSequence, last > sequence else { continue }
            let file = try fs.open(directory + "/" + seg.name, mode: .readOnly)
            defer { fs.close(file) }
            let n = Int(seg.bytes)
            // Mapping past the end of a file that shrank would fault (SIGBUS) on access.
            let size = try fs.size(file)
            if size < seg.bytes {
                throw StoreError.corrupt(segment: seg.name, offset: size, reason: "shorter than at recovery")
            }
            let mapped = try fs.mapReadOnly(file, bytes: n)
            let scan = try withExtendedLifetime(mapped) {
                try SegmentScan.scan(mapped.bytes, base: seg.base, checksums: !seg.checksummed) { r in
                    if r.sequence > sequence {
                        count += 1
                        try body(r)
                    }
                }
            }
            if let p = scan.problem {
                throw StoreError.corrupt(segment: seg.name, offset: Int64(p.offset), reason: "changed since recovery: " + p.reason)
            }
            if mapped.bytes.count < n || scan.lastSequence != last {
                throw StoreError.corrupt(segment: seg.name, offset: Int64(mapped.bytes.count), reason: "shorter than at recovery")
            }
        }
        return count
    }

    /// Writes a snapshot of the broker's state covering every record up to `sequence`, on a
    /// background thread: first an fdatasync of the log (so the log surely reaches `sequence`),
    /// then temp file, fsync, rename, directory fsync; then all but the newest
    /// `options.snapshotsKept` snapshots are deleted. The completion runs on that background
    /// thread. A snapshot failure is returned, not sticky: the log itself is unaffected.
    public func writeSnapshot(upTo sequence: UInt64, payload: [UInt8], completion: @escaping Completion) {
        let refused: StoreError? = inbox.withLock {
            if let e = refusal() { return e }
            if sequence == 0 || sequence >= nextSequence {
                return .invalidArgument("snapshot sequence \(sequence) is not an assigned sequence (last is \(nextSequence - 1))")
            }
            return nil
        }
        if let refused { completion(.failure(refused)); return }
        snapshotQueue.async { [self] in
            completion(Result { try self.writeSnapshotNow(sequence: sequence, payload: payload) }.mapError(Self.storeError))
        }
    }

    private func writeSnapshotNow(sequence: UInt64, payload: [UInt8]) throws -> UInt64 {
        _ = try syncAndWait().get()
        let name = LogFormat.snapshotName(sequence: sequence)
        let path = directory + "/" + name
        let temp = path + LogFormat.temporarySuffix
        let bytes = SnapshotCodec.encode(sequence: sequence, createdAtMillis: options.clock(), payload: payload)
        let file = try fs.open(temp, mode: .createTruncate)
        do {
            try bytes.withUnsafeBytes { try fs.writeAll(file, $0, at: 0) }
            try fs.fsync(file)
            fs.close(file)
        } catch {
            fs.close(file)
            try? fs.unlink(temp)  // best effort: recovery deletes leftover temp files anyway
            throw error
        }
        try fs.rename(temp, to: path)
        try fs.fsyncDirectory(directory)
        addBytes(bytes.count)

        let kept = options.snapshotsKept
        let doomed: [UInt64] = catalog.withLock { c in
            if !c.snapshots.contains(sequence) {
                c.snapshots.append(sequence)
                c.snapshots.sort()
            }
            let extra = max(0, c.snapshots.count - kept)
            let d = Array(c.snapshots.prefix(extra))
            c.snapshots.removeFirst(extra)
            return d
        }
        for seq in doomed {
            let old = directory + "/" + LogFormat.snapshotName(sequence: seq)
            let f = try fs.open(old, mode: .readOnly)
            let size = Int((try? fs.size(f)) ?? 0)  // only feeds the bytes gauge; the unlink below reports real errors
            fs.close(f)
            try fs.unlink(old)
            addBytes(-size)
        }
        if !doomed.isEmpty { try fs.fsyncDirectory(directory) }
        return sequence
    }

    /// Blocks the calling (background) thread until the writer has synced everything queued.
    private func syncAndWait() -> Result<UInt64, StoreError> {
        final class Box: @unchecked Sendable { var result: Result<UInt64, StoreError> = .failure(.closed) }
        let box = Box(), done = DispatchSemaphore(value: 0)
        sync { r in
            box.result = r  // read only after `done` is signalled, which orders the accesses
            done.signal()
        }
        done.wait()
        return box.result
    }

    /// Deletes sealed segments, oldest first, while a segment's last sequence is covered by the
    /// oldest snapshot kept (so falling back to it at recovery still works) and its newest
    /// record is older than `now - retention`. Stops at the first segment that does not
    /// qualify; never touches the active segment; fsyncs the directory. Returns the names deleted.
    @discardableResult
    public func compact(retention: Duration, now: EpochMillis? = nil) throws -> [String] {
        let nowMillis = now ?? options.clock()
        let (seconds, atto) = retention.components
        let cutoff = nowMillis - (seconds * 1000 + atto / 1_000_000_000_000_000)
        let deleted: [String] = try catalog.withLock { c in
            guard let covered = c.snapshots.first else { return [] }
            var names: [String] = []
            while let seg = c.sealed.first, let last = seg.lastSequence, last <= covered,
                  let at = seg.lastAppendedAtMillis, at < cutoff
            {
                try fs.unlink(directory + "/" + seg.name)
                addBytes(-Int(seg.bytes))
                c.sealed.removeFirst()
                names.append(seg.name)
            }
            return names
        }
        if !deleted.isEmpty {
            try fs.fsyncDirectory(directory)
            Log.info("store: compacted", ["segments": .int(deleted.count), "newestDeleted": .string(deleted.last ?? "")])
        }
        return deleted
    }

    /// The sealed segments the catalog knows, oldest first (tests and admin views).
    public var sealedSegmentNames: [String] { catalog.withLock { $0.sealed.map(\.name) } }

    static func storeError(_ e: any Error) -> StoreError {
        e as? StoreError ?? .invalidArgument(String(describing: e))
    }
}
