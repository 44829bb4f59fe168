// IntakeServer/Broker: the core thread, the one owner of the BrokerState (docs/THREADING.md).
// Loops hand commands in through a bounded, locked inbox; the core runs the state machine,
// appends the records of everything it took in one appendBatch, and the store's completion
// (on the writer thread) answers the producers, who hop back to their own loops.
//
// Design
// - Guarantees: an `accepted` outcome is sent only after the records of that message are
//   durable; a duplicate whose original is still in flight is answered with the original's
//   batch (and fails if it fails); after a storage failure every ingest is refused at once.
// - State is applied before the append completes (so the next command sees it, e.g. the same
//   citizen's session), but nothing is acknowledged before durability. After a failure the
//   in-memory state may hold unacknowledged records; the store is then sticky-failed and the
//   broker must be restarted, which rebuilds the state from what is durable.
// - Snapshots: a copy of the state (copy-on-write: the next mutation pays one O(n) copy on
//   this thread) is encoded on a background queue and written by the store's snapshot queue;
//   compaction follows a successful snapshot. Admin reads run here, between commands.
import Dispatch
import IntakeCore
import IntakeStore
import IntakeTelemetry
import IntakeJSON
import Foundation
import Synchronization

/// Tuning of the core thread and of background snapshots; the defaults are the production ones.
public struct BrokerOptions: Sendable {
    /// Write a snapshot after this many records, or after half as many records as the state
    /// has entries (messages remembered for dedupe, sessions), whichever is more: a snapshot
    /// copies and encodes the whole state, so this keeps its cost per record bounded (at most
    /// two entries per record) while restart replays at most half the state's size in records …
    public var snapshotEveryRecords = 100_000
    /// … or after this long with at least one new record, whichever comes first.
    public var snapshotIntervalSeconds = 600.0
    /// Commands waiting in the core's inbox beyond this are refused as `unavailable`.
    public var maxInbox = 65_536
    /// The log's file system (tests inject faults).
    public var fileSystem: any FileSystem = PosixFileSystem()
    /// Largest segment file.
    public var segmentMaxBytes = LogFormat.defaultSegmentMaxBytes
    /// Wall clock for receivedAt and ids.
    public var clock: @Sendable () -> EpochMillis = LogOptions.wallClockMillis

    /// The defaults.
    public init() {}
}

/// The broker's core thread: implements `Ingestor` and the admin reads.
final class BrokerCore: Ingestor, BrokerViews, @unchecked Sendable {
    enum Command {
        case ingest(Envelope, PendingBatch.Reply)
        case queues(limit: Int, @Sendable ([BrokerState.QueueView], EpochMillis) -> Void)
        case agent(AgentLink, AgentCommand)
        case widget(WidgetLink, WidgetCommand)
        case admin(AdminRequest, AdminReply)
        /// A delivery of the outbox ended (BrokerCore+Outbound.swift).
        case outbound(OutboundDone)
        /// A decision of the FAQ bot (BrokerCore+Bot.swift).
        case bot(BotOutcome)
    }

    let store: LogStore
    let options: BrokerOptions
    /// The `routing` section of the configuration (router, sessions, rules).
    let routing: RoutingSettings
    let retention: Duration

    // Guarded by `inbox`.
    private let inbox = ConditionLock()
    private var commands: [Command] = []
    private var stopping = false

    // Core thread only (and the thread that created it, before `start`).
    var state: BrokerState
    /// The router beside the state, and what the agent side of the core keeps
    /// (BrokerCore+Agents.swift): connections by agent.
    var router: Router
    var links: [String: AgentLink] = [:]
    var agentOfLink: [UInt64: String] = [:]
    /// Citizens' connections, timers, acknowledgements to batch, queue positions
    /// (BrokerCore+Conversations.swift).
    var desk = Desk()
    /// Each agent's presence as last counted in `intake_agents{state}`.
    var countedPresence: [String: Presence] = [:]
    /// Actions the router produced when it was rebuilt at start-up, handled on the first pass.
    var startActions: [RouterAction]
    /// The newest batch handed to the store (frames with no records of their own wait for it).
    var lastBatch: PendingBatch?
    private var lastSequence: UInt64
    private var inFlight: [String: PendingBatch] = [:]
    private var unretired: [(batch: PendingBatch, keys: [String])] = []
    private var unretiredHead = 0
    private var recordsSinceSnapshot = 0
    private var lastSnapshotNanos: UInt64
    private let snapshotRunning = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    /// The /metrics gauges per queue and when they were last published (BrokerCore+Metrics.swift).
    var queueGauges: [String: QueueGauges] = [:]
    /// The routing audit trail of open and recently closed sessions (BrokerCore+Admin.swift).
    var auditBook = AuditBook()
    /// Drain: new sessions are held here (their enqueued records) instead of being routed.
    var draining = false
    var drainHeld: [Enqueued] = []
    /// Open-session limits (docs/SECURITY.md, "Limits").
    let sessionLimits: SessionLimits
    var lastMetricsNanos: UInt64 = 0
    /// The outbox's delivery threads (BrokerCore+Outbound.swift).
    var outbound: [OutboundDispatcher] = []
    /// The FAQ bot's worker (set before `start`, never changed) and the core's bot state (BrokerCore+Bot.swift).
    var botService: BotService?
    var botDesk = BotDesk()

    /// Messages counted for /metrics, by channel (indexed like `Channel.allCases`).
    let ingested = Channel.allCases.map {
        MetricsRegistry.shared.counter("intake_messages_ingested_total", help: "Messages stored.", labels: ["channel": $0.rawValue])
    }
    let duplicates = Channel.allCases.map {
        MetricsRegistry.shared.counter("intake_messages_duplicate_total", help: "Messages recognised as repeats.", labels: ["channel": $0.rawValue])
    }

    init(store: LogStore, state: BrokerState, router: Router, startActions: [RouterAction], lastSequence: UInt64,
         options: BrokerOptions, routing: RoutingSettings, retentionSeconds: Int64,
         sessionLimits: SessionLimits = SessionLimits(maxOpen: .max, maxOpenPerCitizen: .max)) {
        self.sessionLimits = sessionLimits
        self.store = store
        self.state = state
        self.router = router
        self.startActions = startActions
        self.lastSequence = lastSequence
        self.options = options
        self.routing = routing
        self.retention = .seconds(retentionSeconds)
        lastSnapshotNanos = ConditionLock.now()
        for a in router.directory.agents { notePresence(a.id) }
        // Globals are created on first use: register these now so /metrics shows them at 0
        // from the start (CONTRACT.md's names; alerts and rates need the series to exist).
        _ = (assignmentsTotal, offersTimedOut, waitSeconds, sessionsOpen, sessionsAssigned, sessionsAbandoned, serviceLevel)
        startTimers(now: options.clock())
    }

    func start() {
        let t = Thread { [self] in self.run() }
        t.name = "intake-core"
        t.start()
    }

    /// Answers what is queued, stops the thread and waits for it. Idempotent.
    func stop() {
        let first = inbox.withLock {
            defer { stopping = true; inbox.signal() }
            return !stopping
        }
        if first {
            exited.wait()
            // This broker's agents leave the process-wide gauge (tests run several brokers).
            for p in countedPresence.values { agentsByPresence[p]?.add(-1) }
            countedPresence = [:]
        }
    }

    // MARK: any thread

    func ingest(_ envelope: Envelope, completion: @escaping @Sendable (IngestOutcome) -> Void) {
        if !store.isHealthy, let e = store.failure { return completion(.failed(.unavailable(Self.refusal(e)))) }
        if let refused = enqueue(.ingest(envelope, completion)) { completion(.failed(refused)) }
    }

    func queues(limit: Int, completion: @escaping @Sendable ([BrokerState.QueueView], EpochMillis) -> Void) {
        if let refused = enqueue(.queues(limit: limit, completion)) {
            Log.debug("queues view refused", ["reason": .string(refused.message)])
            completion([], options.clock())
        }
    }

    /// An agent's command; `gone` is taken even past `maxInbox` (losing it would leave the
    /// router believing a dropped agent is connected; there is at most one per connection).
    func enqueueAgent(_ c: Command) -> ClientError? {
        if case .agent(_, .gone) = c { return enqueue(c, pastLimit: true) }
        return enqueue(c)
    }

    /// A citizen connection's command (`pastLimit` for `gone`, as for agents).
    func enqueueCitizen(_ c: Command, pastLimit: Bool) -> ClientError? { enqueue(c, pastLimit: pastLimit) }

    func enqueueAdmin(_ c: Command) -> ClientError? { enqueue(c) }

    private func enqueue(_ c: Command, pastLimit: Bool = false) -> ClientError? {
        inbox.lock()
        defer { inbox.unlock() }
        if stopping { return .unavailable("the broker is shutting down") }
        if commands.count >= options.maxInbox && !pastLimit { return .unavailable("the broker is overloaded; retry later") }
        commands.append(c)
        if commands.count == 1 { inbox.signal() }
        return nil
    }

    /// The message of the `unavailable` error sent after a storage failure.
    static func refusal(_ e: StoreError) -> String {
        "the store failed (\(e)); nothing was stored for this message; acknowledged messages are safe"
    }

    // MARK: core thread

    private func run() {
        var taken: [Command] = []
        while true {
            // Wake at the next deadline (router, wrap-ups, inactivity, queue positions), at most 1 s away.
            var waitNanos: UInt64 = 1_000_000_000
            if let deadline = nextDeadline {
                let inMillis = max(0, deadline - options.clock())
                waitNanos = min(waitNanos, UInt64(inMillis) * 1_000_000)
            }
            inbox.lock()
            let tick = ConditionLock.now() + waitNanos
            while commands.isEmpty && !stopping && ConditionLock.now() < tick {
                inbox.wait(untilMonotonicNanos: tick)
            }
            swap(&taken, &commands)
            let stop = stopping && taken.isEmpty
            inbox.unlock()
            if stop { break }
            process(taken)
            taken.removeAll(keepingCapacity: taken.capacity <= 4096)
            retire()
            maybeSnapshot()
            publishMetricsIfDue()
        }
        exited.signal()
    }

    private func process(_ taken: [Command]) {
        let batch = PendingBatch()
        var out = Outbox()
        var keys: [String] = []
        let now = options.clock()
        let failure = store.failure
        if !startActions.isEmpty {
            let actions = startActions
            startActions = []
            handle(actions, now: now, &out)
        }
        if let deadline = router.nextDeadline, deadline <= now { route(.tick, now: now, &out) }
        beginPass(now: now, &out)
        botPass(now: now, &out)
        for command in taken {
            switch command {
            case let .ingest(envelope, reply):
                if let failure { reply(.failed(.unavailable(Self.refusal(failure)))); continue }
                let key = envelope.dedupeKey
                if let refused = sessionLimits.refusal(for: envelope, dedupeKey: key, in: state) { reply(.failed(refused)); continue }
                switch state.ingest(envelope, dedupeKey: key, now: now) {
                case .duplicate(let original):
                    duplicates[envelope.channel.index].increment()
                    let outcome = IngestOutcome.accepted(id: original.message, session: original.session, duplicate: true)
                    if let b = inFlight[key] { b.add(outcome, reply) } else { reply(outcome) }
                case let .accepted(entry, newRecords):
                    for r in newRecords {
                        out.records.append((r.type.rawValue, r.encoded()))
                        noteAudit(r, now: now)
                    }
                    accepted(envelope, newRecords, now: now, &out)
                    keys.append(key)
                    ingested[envelope.channel.index].increment()
                    inFlight[key] = batch
                    batch.add(.accepted(id: entry.message, session: entry.session, duplicate: false), reply)
                }
            case let .queues(limit, reply):
                reply(state.queueViews(now: now, limit: limit), now)
            case let .agent(link, command):
                if let failure {
                    link.sendError("unavailable", Self.refusal(failure))
                    continue
                }
                agentCommand(link, command, now: now, &out)
            case let .admin(request, reply):
                handleAdmin(request, now: now, reply, &out)
            case let .widget(link, command):
                if let failure, !command.isGone {
                    link.sendError("unavailable", Self.refusal(failure))
                    continue
                }
                widgetCommand(link, command, now: now, &out)
            case .outbound(let done):
                if failure == nil { outboundFinished(done, &out) }
            case .bot(let outcome):
                if failure != nil { outcome.job.waiter?.decline(); continue }
                botOutcome(outcome, now: now, &out)
            }
        }
        endPass(now: now, &out)
        let frames = out.frames
        guard !out.records.isEmpty else {
            // Nothing of its own to wait for; still after everything appended before (completions run in order).
            if frames.isEmpty { return }
            if let last = lastBatch, !last.isDone {
                last.whenDurable { for (link, frame) in frames { link.send(frame) } }
            } else {
                for (link, frame) in frames { link.send(frame) }
            }
            return
        }
        lastSequence += UInt64(out.records.count)
        recordsSinceSnapshot += out.records.count
        unretired.append((batch, keys))
        lastBatch = batch
        if !frames.isEmpty { batch.whenDurable { for (link, frame) in frames { link.send(frame) } } }
        store.appendBatch(out.records) { result in batch.complete(result) }
    }

    /// Forgets batches the store has reported on (in order: completions run in sequence order).
    private func retire() {
        while unretiredHead < unretired.count, unretired[unretiredHead].batch.isDone {
            for k in unretired[unretiredHead].keys where inFlight[k] === unretired[unretiredHead].batch {
                inFlight[k] = nil
            }
            unretiredHead += 1
        }
        if unretiredHead == unretired.count {
            unretired.removeAll(keepingCapacity: true)
            unretiredHead = 0
        } else if unretiredHead > 1024 {
            unretired.removeSubrange(0..<unretiredHead)
            unretiredHead = 0
        }
    }

    private func maybeSnapshot() {
        guard recordsSinceSnapshot > 0, store.isHealthy else { return }
        let elapsed = Double(ConditionLock.now() - lastSnapshotNanos) / 1e9
        let due = max(options.snapshotEveryRecords, state.entryCount / 2)
        guard recordsSinceSnapshot >= due || elapsed >= options.snapshotIntervalSeconds else { return }
        guard !snapshotRunning.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let copy = state, sequence = lastSequence, store = store, retention = retention
        let records = recordsSinceSnapshot
        recordsSinceSnapshot = 0
        lastSnapshotNanos = ConditionLock.now()
        DispatchQueue.global(qos: .utility).async { [self] in
            let started = ContinuousClock.now
            let payload = copy.snapshotPayload()
            store.writeSnapshot(upTo: sequence, payload: payload) { result in
                defer { self.snapshotRunning.store(false, ordering: .releasing) }
                switch result {
                case .success:
                    Log.info("broker: snapshot written", ["sequence": .int(Int(sequence)), "bytes": .int(payload.count),
                                                          "recordsSincePrevious": .int(records),
                                                          "duration": .string("\(ContinuousClock.now - started)")])
                    do {
                        try store.compact(retention: retention)
                    } catch {
                        Log.warning("broker: compaction failed; old segments are kept and retried after the next snapshot",
                                    ["error": .string("\(error)")])
                    }
                case .failure(let e):
                    Log.warning("broker: snapshot failed; the log is unaffected and the next one is tried later",
                                ["error": .string(e.description)])
                }
            }
        }
    }
}
