// IntakeServer/Broker: start-up and shutdown of the durable broker: open the log (recovery),
// rebuild the state from the newest snapshot plus the log after it, start the core thread and
// then the listeners. Runs on the main thread; `shutdown` is called once, from the signal queue.
//
// Restart procedure (docs/STORAGE.md, "Broker restart"): LogStore.open recovers the log (a
// torn tail is cut and reported); the snapshot's state is decoded; every record after it is
// applied with the same `BrokerState.apply` the live path uses; old segments are compacted;
// the core thread starts; the server starts listening and prints its ready line.
import IntakeCore
import IntakeStore
import IntakeNet
import IntakeTelemetry
import Glibc
import Synchronization

/// Why the broker did not start, with what the operator should do.
public enum BrokerStartError: Error, CustomStringConvertible {
    /// The log could not be opened or recovered.
    case store(StoreError, dataDir: String)
    /// A snapshot or record passed its checksum but cannot be decoded.
    case state(String, dataDir: String)
    /// A listener could not be bound.
    case listen(IOError)
    /// The agent directory is missing or invalid (exit 2: a configuration error).
    case agents(String)

    /// One line for stderr.
    public var description: String {
        switch self {
        case let .store(.corrupt(segment, offset, reason), dir):
            "the log in \(dir) is damaged: segment \(segment) at offset \(offset): \(reason). Nothing was changed. "
                + "Run `intake check --data-dir \(dir)` to see the damage, then `intake check --data-dir \(dir) --repair` "
                + "to cut the log back to the last good record (the damaged part is moved aside, not deleted)"
        case let .store(.locked(dir), _):
            "the data directory \(dir) is in use by another intake process; stop it first"
        case let .store(e, dir):
            "cannot open the store in \(dir): \(e)"
        case let .state(why, dir):
            "cannot rebuild the broker state from \(dir): \(why). Run `intake check --data-dir \(dir)`"
        case .listen(let e):
            "cannot listen: \(e)"
        case .agents(let why):
            why
        }
    }
}

/// The running durable broker: store, core thread and server.
public final class Broker: Sendable {
    /// The HTTP and TCP server.
    public let server: Server
    let core: BrokerCore
    let store: LogStore
    private let shutDown = Atomic<Bool>(false)

    /// What start-up found: recovery report, how many records were replayed, and timings.
    public struct StartReport: Sendable {
        public var recovery: RecoveryReport
        public var replayedRecords: Int
        public var messages: Int
        public var sessions: Int
        public var queued: Int
        /// Time spent opening the log, decoding the snapshot and replaying, in seconds.
        public var openSeconds: Double
        public var snapshotSeconds: Double
        public var replaySeconds: Double
    }

    /// What start-up found.
    public let startReport: StartReport

    /// Opens the store in `config.dataDir`, rebuilds the state, starts the core and the server.
    public static func start(config: ServerConfig, options: BrokerOptions = BrokerOptions()) throws(BrokerStartError) -> Broker {
        // The directory first: a bad one is a configuration error (exit 2) that touches no data.
        if let problem = config.routing.router.problems().first { throw .agents("routing settings: \(problem)") }
        let (directory, directoryFile) = try AgentDirectoryFile.load(path: config.agents, environment: ProcessEnvironment.current)
        let botService = try BotService.load(path: config.kb, settings: config.bot)
        var stateConfig = config
        if botService == nil { stateConfig.bot.enabled = false }
        let (store, state, report) = try openState(config: stateConfig, options: options)
        let (router, startActions) = rebuildRouter(state: state, directory: directory, config: config.routing.router,
                                                   now: options.clock())
        Log.info("broker: agent directory loaded", ["file": .string(directoryFile ?? "(none found: no agents)"),
                                                    "agents": .int(directory.agents.count),
                                                    "assigned": .int(state.assignments.count)])
        let core = BrokerCore(store: store, state: state, router: router, startActions: startActions,
                              lastSequence: store.acknowledgedSequence, options: options, routing: config.routing,
                              retentionSeconds: config.retentionSeconds, sessionLimits: SessionLimits(config: config))
        core.startOutbound(OutboundSetup.dispatchers(config: config, core: core, clock: options.clock))
        // The call centre authenticates as an app account; its calls are answered through the hub.
        let phoneHub = PhoneHub()
        core.registerCitizenLink(phoneHub, channel: .phone, accounts: config.apps.map(\.account))
        core.botService = botService
        core.start()
        let server: Server
        do {
            server = try Server(config: config, ingestor: core, views: core, agents: core, widgets: core, phoneHub: phoneHub)
        } catch {
            core.stopOutbound()
            core.stop()
            store.close()
            throw .listen(error)
        }
        server.health.addCheck("store") { store.isHealthy }
        if let botService { server.reloaders.add("knowledge_base") { botService.reload().failureReason } }
        registerProcessGauges(health: server.health, dataDir: config.dataDir)
        return Broker(server: server, core: core, store: store, report: report)
    }

    private init(server: Server, core: BrokerCore, store: LogStore, report: StartReport) {
        self.server = server
        self.core = core
        self.store = store
        self.startReport = report
    }

    /// The router as the log describes it (`BrokerState.routerSnapshot`): queues in order with
    /// their waits, assignments and pending offers (renewed) with their agents, who get a grace
    /// period to reconnect, exclusions and sticky pairs.
    static func rebuildRouter(state: BrokerState, directory: AgentDirectory, config: RouterConfig,
                              now: EpochMillis) -> (Router, [RouterAction]) {
        Router.restore(state.routerSnapshot(directory: directory, now: now), directory: directory, config: config, now: now,
                       connectionsLost: true)
    }

    /// Opens the log and rebuilds the state (no threads but the store's writer are started).
    static func openState(config: ServerConfig, options: BrokerOptions) throws(BrokerStartError) -> (LogStore, BrokerState, StartReport) {
        let clock = ContinuousClock()
        let t0 = clock.now
        var logOptions = LogOptions(fsync: FsyncPolicy(parsing: config.fsync) ?? .always, segmentMaxBytes: options.segmentMaxBytes)
        logOptions.clock = options.clock
        let store: LogStore, recovery: RecoveryReport
        do {
            (store, recovery) = try LogStore.open(directory: config.dataDir, options: logOptions, fileSystem: options.fileSystem)
        } catch let e as StoreError {
            throw .store(e, dataDir: config.dataDir)
        } catch {
            throw .state("\(error)", dataDir: config.dataDir)
        }
        if recovery.truncatedBytes > 0 {
            Log.warning("broker: the log had a torn tail (an interrupted write); it was cut", [
                "segment": .string(recovery.truncatedSegment ?? ""), "bytesCut": .int(Int(recovery.truncatedBytes)),
                "lastGoodSequence": .int(Int(recovery.lastSequence)), "reason": .string(recovery.truncationReason ?? ""),
            ])
        }
        let t1 = clock.now
        var settings = config.routing.brokerSettings
        settings.botChannels = config.bot.activeChannels
        var state = BrokerState(settings: settings)
        if let snap = recovery.snapshot {
            do {
                state = try BrokerState.fromSnapshot(snap.payload, settings: settings)
            } catch {
                store.close()
                throw .state("snapshot \(snap.file) cannot be decoded (\(error)); move it out of the data directory "
                             + "and restart to fall back to the previous snapshot", dataDir: config.dataDir)
            }
        }
        let t2 = clock.now
        var replayed = 0
        do {
            replayed = try store.replay(after: recovery.snapshot?.sequence ?? 0) { view in
                do {
                    // Envelopes are kept: the open sessions' histories are rebuilt from them.
                    state.apply(try BrokerRecord.decode(type: view.type, payload: view.payload, keepEnvelope: true))
                } catch {
                    throw BrokerStartError.state("record \(view.sequence) (type \(view.type)) cannot be decoded: \(error)",
                                                 dataDir: config.dataDir)
                }
            }
        } catch let e as BrokerStartError {
            store.close()
            throw e
        } catch let e as StoreError {
            store.close()
            throw .store(e, dataDir: config.dataDir)
        } catch {
            store.close()
            throw .state("\(error)", dataDir: config.dataDir)
        }
        let t3 = clock.now
        do {
            try store.compact(retention: .seconds(config.retentionSeconds))
        } catch {
            Log.warning("broker: compaction at start-up failed; old segments are kept", ["error": .string("\(error)")])
        }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        let report = StartReport(recovery: recovery, replayedRecords: replayed, messages: state.messageCount,
                                 sessions: state.sessions.count, queued: state.queues.totalCount,
                                 openSeconds: seconds(t1 - t0), snapshotSeconds: seconds(t2 - t1), replaySeconds: seconds(t3 - t2))
        Log.info("broker: state rebuilt", [
            "snapshotSequence": .int(Int(recovery.snapshot?.sequence ?? 0)), "recordsReplayed": .int(replayed),
            "messages": .int(report.messages), "sessions": .int(report.sessions), "queued": .int(report.queued),
            "openSeconds": .double(report.openSeconds), "snapshotSeconds": .double(report.snapshotSeconds),
            "replaySeconds": .double(report.replaySeconds),
        ])
        return (store, state, report)
    }

    /// Stops accepting, lets connections finish (their acknowledgements included), stops the
    /// core thread, then closes the store (flush and fsync). Idempotent.
    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        server.shutdown()
        core.stopOutbound()
        core.stop()
        store.close()
    }
}

/// `intake_ready` (what /readyz says, as 1 or 0) and the data directory's file system,
/// read at scrape time. Registering again (a new broker in the same process) replaces them.
func registerProcessGauges(health: Health, dataDir: String) {
    let m = MetricsRegistry.shared
    m.gaugeFunction("intake_ready", help: "1 while the broker is ready (/readyz 200), else 0.") { health.notReadyReason == nil ? 1 : 0 }
    m.gaugeFunction("intake_store_disk_free_bytes", help: "Bytes available to the broker on the data directory's file system.") {
        fileSystemBytes(dataDir)?.free ?? -1
    }
    m.gaugeFunction("intake_store_disk_size_bytes", help: "Size of the data directory's file system in bytes.") {
        fileSystemBytes(dataDir)?.size ?? -1
    }
}

/// (size, free for unprivileged use) of the file system holding `path`, or nil.
func fileSystemBytes(_ path: String) -> (size: Double, free: Double)? {
    var s = statvfs()
    guard statvfs(path, &s) == 0 else { return nil }
    return (Double(s.f_blocks) * Double(s.f_frsize), Double(s.f_bavail) * Double(s.f_frsize))
}
