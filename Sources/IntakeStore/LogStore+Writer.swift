// IntakeStore: the writer thread. Everything here runs on that one thread ("intake-store-
// writer"), which alone touches the active segment, the encode buffer and the held
// completions. Other threads reach it only through the inbox (LogStore.swift).
//
// Design
// - One loop: sleep while the inbox is empty; take everything queued; encode it into one
//   buffer; one pwrite (looping over short writes, flushing every `flushBytes`); one fdatasync
//   per the policy; then the completions of what that fdatasync covered, in sequence order.
//   While an fdatasync runs, new appends pile up in the inbox and become the next batch:
//   group commit without a timer.
// - Rollover seals a segment only after an fdatasync, under every policy, so sealed segments
//   are complete on disk; the next segment's header and directory entry are synced before any
//   record goes into it.
// - A failed write or sync is sticky: never retried, every pending and future append fails.
import Foundation
import IntakeTelemetry

extension LogStore {
    /// The encode buffer is written out when it reaches this size, bounding memory per batch.
    static let flushBytes = 1 << 20
    /// Zeros for preallocation, written in pieces of this size.
    static let zeroes = [UInt8](repeating: 0, count: 256 << 10)

    /// Starts the dedicated writer thread (not a Dispatch pool thread: it blocks in fdatasync).
    func startWriter() {
        let writer = Thread { [self] in self.runWriter() }
        writer.name = "intake-store-writer"
        writer.start()
    }

    private func runWriter() {
        var batch: [Pending] = []
        var waiters: [Completion] = []
        while true {
            inbox.lock()
            while queue.isEmpty && syncWaiters.isEmpty && !closing {
                if dirty, case .batch(let ms) = options.fsync {
                    let deadline = lastSyncNanos + UInt64(ms) * 1_000_000
                    if ConditionLock.now() >= deadline { break }
                    inbox.wait(untilMonotonicNanos: deadline)
                } else {
                    inbox.wait()
                }
            }
            swap(&batch, &queue)
            swap(&waiters, &syncWaiters)
            // `append` refuses once `closing` is set, so nothing can follow this batch.
            let stopping = closing
            let failed = sticky
            inbox.unlock()

            if let failed {
                finish(batch, with: failed)
                for w in waiters { w(.failure(failed)) }
            } else {
                step(batch, waiters, stopping: stopping)
            }
            batch.removeAll(keepingCapacity: true)
            waiters.removeAll(keepingCapacity: true)
            if stopping { break }
        }
        writerExited.signal()
    }

    /// Writes one batch, syncs per the policy and runs the completions that became durable.
    private func step(_ batch: [Pending], _ waiters: [Completion], stopping: Bool) {
        do {
            if !batch.isEmpty { try write(batch) }
            let mustSync: Bool
            switch options.fsync {
            case .always:
                mustSync = dirty
            case .batch(let ms):
                let due = ConditionLock.now() >= lastSyncNanos + UInt64(ms) * 1_000_000
                mustSync = dirty && (due || !waiters.isEmpty || stopping)
            case .never:
                mustSync = dirty && (!waiters.isEmpty || stopping)
            }
            if mustSync { try syncActive() }
        } catch {
            fail(error as? StoreError ?? .io(operation: "write", path: active.name, errno: EIO), batch: batch, waiters: waiters)
            return
        }
        switch options.fsync {
        case .always, .never:
            finish(batch, with: nil)
        case .batch:
            held.append(contentsOf: batch)
            if !dirty {
                finish(held, with: nil)
                held.removeAll(keepingCapacity: true)
            }
        }
        let durable = acknowledged.load(ordering: .relaxed)
        for w in waiters { w(.success(dirty ? durable : writtenSequence)) }
    }

    /// Encodes and writes `batch`, rolling to new segments as they fill up.
    private func write(_ batch: [Pending]) throws {
        let now = options.clock()
        buffer.removeAll(keepingCapacity: true)
        var lastInBuffer: UInt64 = 0
        for p in batch {
            let size = LogFormat.recordHeaderBytes + p.payload.count
            let used = Int(active.bytes) + buffer.count
            if used > LogFormat.segmentHeaderBytes && used + size > options.segmentMaxBytes {
                try flush(last: lastInBuffer, now: now)
                try roll(base: p.sequence, now: now)
            }
            p.payload.withUnsafeBytes {
                RecordCodec.append(type: p.type, sequence: p.sequence, appendedAtMillis: now, payload: $0, to: &buffer)
            }
            lastInBuffer = p.sequence
            if buffer.count >= Self.flushBytes { try flush(last: lastInBuffer, now: now) }
        }
        try flush(last: lastInBuffer, now: now)
    }

    /// Writes the encode buffer at the end of the active segment's data, then, when the data
    /// reached the preallocated end, zero-fills the next `preallocateBytes` (the same fdatasync
    /// covers both; the file size changes once per chunk instead of with every batch).
    private func flush(last: UInt64, now: Int64) throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try fs.writeAll(activeFile, $0, at: active.bytes) }
        let end = active.bytes + Int64(buffer.count)
        if options.preallocateBytes > 0 && end > activeAllocated - Int64(LogFormat.recordHeaderBytes) {
            let chunk = Int64(options.preallocateBytes)
            let target = min((end / chunk + 1) * chunk, max(end, Int64(options.segmentMaxBytes)))
            if target > end {
                try Self.zeroes.withUnsafeBytes { z in
                    var at = end
                    while at < target {
                        let n = Int(min(Int64(z.count), target - at))
                        try fs.writeAll(activeFile, UnsafeRawBufferPointer(rebasing: z[0..<n]), at: at)
                        at += Int64(n)
                    }
                }
            }
            activeAllocated = max(target, end)
        } else {
            activeAllocated = max(activeAllocated, end)
        }
        active.bytes += Int64(buffer.count)
        active.lastSequence = last
        active.lastAppendedAtMillis = now
        writtenSequence = last
        dirty = true
        addBytes(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// fdatasync of the active segment, timed into `intake_store_fsync_seconds`.
    private func syncActive() throws {
        let t0 = ConditionLock.now()
        try fs.fdatasync(activeFile)
        let t1 = ConditionLock.now()
        fsyncSeconds.observe(Double(t1 - t0) / 1e9)
        lastSyncNanos = t1
        dirty = false
    }

    /// Seals the active segment (its preallocated tail cut, synced) and starts a new one at `base`.
    private func roll(base: UInt64, now: Int64) throws {
        if activeAllocated > active.bytes {
            try fs.truncate(activeFile, to: active.bytes)
            activeAllocated = active.bytes
            dirty = true
        }
        if dirty { try syncActive() }
        let (info, file) = try Self.createSegment(fs: fs, directory: directory, base: base, now: now)
        let sealed = active
        fs.close(activeFile)
        active = info
        activeFile = file
        activeAllocated = info.bytes
        addBytes(LogFormat.segmentHeaderBytes)
        catalog.withLock { $0.sealed.append(sealed) }
    }

    /// Runs the completions of `items` in order: success, or `error` for all.
    private func finish(_ items: [Pending], with error: StoreError?) {
        if error == nil, let last = items.last {
            acknowledged.store(last.sequence, ordering: .releasing)
        }
        for p in items {
            switch p.done {
            case .none: break
            case .one(let c): c(error.map { .failure($0) } ?? .success(p.sequence))
            case .batch(let first, let c): c(error.map { .failure($0) } ?? .success(first...p.sequence))
            }
        }
    }

    /// Makes `error` sticky and fails everything not yet acknowledged.
    private func fail(_ error: StoreError, batch: [Pending], waiters: [Completion]) {
        let (queued, moreWaiters) = inbox.withLock {
            if sticky == nil { sticky = error }
            let q = queue, w = syncWaiters
            queue.removeAll()
            syncWaiters.removeAll()
            return (q, w)
        }
        healthy.store(false, ordering: .releasing)
        let safe = acknowledged.load(ordering: .relaxed)
        let what: String = switch error.errno {
        case ENOSPC?, EDQUOT?: "disk full: free space and restart"
        case EIO?: "disk I/O error: check the disk and the kernel log (dmesg), then restart"
        default: "storage failure: fix the cause and restart"
        }
        Log.error("store: \(what); acknowledged data is safe up to sequence \(safe)", [
            "error": .string(error.description), "segment": .string(active.name), "safeUpToSequence": .int(Int(safe)),
        ])
        finish(held, with: error)
        held.removeAll()
        finish(batch, with: error)
        finish(queued, with: error)
        for w in waiters + moreWaiters { w(.failure(error)) }
    }
}
