// IntakeServer/Tools: the operator's offline commands behind `intake check` and `intake
// export`. They run on the caller's thread and hold the data directory's LOCK while they work,
// so they never race a running broker (which holds it too).
import IntakeCore
import IntakeStore
import IntakeJSON
import IntakeTelemetry
#if canImport(Glibc)
import Glibc
#endif

/// `intake check` and `intake export`.
public enum OfflineTools {
    /// Checks (and with `repair`, cuts back) the log in `dataDir`.
    public static func check(dataDir: String, repair: Bool) throws -> CheckReport {
        try LogChecker.check(directory: dataDir, repair: repair)
    }

    /// What `intake export` writes.
    public struct ExportOptions: Sendable {
        /// Only messages received at or after / before these times (Unix milliseconds).
        public var since: EpochMillis?
        public var until: EpochMillis?
        /// Phone and ID-card numbers are masked (PersonalData) unless this is set.
        public var unmasked = false
        public init() {}
    }

    /// Writes every stored message in the log, oldest first, as one JSON line each (the
    /// envelope as stored, personal data masked unless `options.unmasked`) through `write`,
    /// keeping those received in [since, until). Returns the number of messages written.
    /// Messages in segments already deleted by compaction are no longer in the log.
    public static func exportJSONL(dataDir: String, options: ExportOptions = ExportOptions(), write: ([UInt8]) -> Void) throws -> Int {
        guard access(dataDir, F_OK) == 0 else { throw StoreError.io(operation: "open", path: dataDir, errno: ENOENT) }
        let (store, _) = try LogStore.open(directory: dataDir, options: LogOptions(fsync: .always))
        defer { store.close() }
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        var count = 0
        try store.replay(after: 0) { view in
            guard view.type == BrokerRecordType.messageReceived.rawValue else { return }
            guard case .messageReceived(let m) = try BrokerRecord.decode(type: view.type, payload: view.payload) else { return }
            if let since = options.since, m.receivedAt < since { return }
            if let until = options.until, m.receivedAt >= until { return }
            if options.unmasked {
                out.append(contentsOf: m.envelopeJSON)
            } else {
                var line = m.envelopeJSON
                PersonalData.mask(&line)
                out.append(contentsOf: line)
            }
            out.append(0x0A)
            count += 1
            if out.count >= 1 << 16 {
                write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { write(out) }
        return count
    }
}
