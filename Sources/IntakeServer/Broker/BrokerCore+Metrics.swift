// IntakeServer/Broker: the queue and session gauges of /metrics, published by the core thread
// (the owner of the state they describe) at most once a second, between passes. Scrapes read
// the gauges' atomics and never wait for the core.
//
// Series: intake_queue_depth{queue,priority} for priority classes 0…9 of every queue ever seen
// (a queue that empties reads 0 rather than vanishing, so rates and alerts stay continuous),
// intake_queue_oldest_wait_seconds{queue}, intake_queue_agents_available{queue} (agents online,
// connected and holding the queue's skill: the "nobody can take these" alert),
// intake_sessions_open and intake_sessions_assigned.
import IntakeCore
import IntakeStore
import IntakeTelemetry

/// The gauges of one queue.
struct QueueGauges {
    var depth: [Gauge]
    var oldestWait: Gauge
    var agentsAvailable: Gauge

    init(_ queue: String) {
        let m = MetricsRegistry.shared
        depth = PriorityQueue<String>.priorities.map {
            m.gauge("intake_queue_depth", help: "Sessions waiting, by queue and priority class (9 highest).",
                    labels: ["queue": queue, "priority": String($0)])
        }
        oldestWait = m.gauge("intake_queue_oldest_wait_seconds", help: "How long the longest-waiting session of the queue has waited.",
                             labels: ["queue": queue])
        agentsAvailable = m.gauge("intake_queue_agents_available",
                                  help: "Agents online and connected with the queue's skill (any proficiency, any load).",
                                  labels: ["queue": queue])
    }
}

let sessionsAbandoned = MetricsRegistry.shared.counter("intake_sessions_abandoned_total",
                                                       help: "Sessions closed while still waiting in a queue (the citizen left or went idle).")
let serviceLevel = MetricsRegistry.shared.gauge("intake_service_level",
                                                help: "Share of sessions accepted by an agent within 20 s of waiting, since start (-1 before the first).",
                                                labels: ["target": "20s"])
let sessionsAssigned = MetricsRegistry.shared.gauge("intake_sessions_assigned", help: "Sessions held by an agent.")

extension BrokerCore {
    /// Publishes the gauges if a second has passed since the last time. Core thread only.
    func publishMetricsIfDue() {
        let nowNanos = ConditionLock.now()
        guard nowNanos &- lastMetricsNanos >= 1_000_000_000 else { return }
        lastMetricsNanos = nowNanos
        publishMetrics(now: options.clock())
    }

    func publishMetrics(now: EpochMillis) {
        sessionsOpen.set(Double(state.sessions.count))
        sessionsAssigned.set(Double(state.assignments.count))
        let (cumulative, _, count) = waitSeconds.snapshot()
        if count > 0, let i = waitSeconds.bounds.firstIndex(of: OpsFeed.serviceLevelTargetSeconds) {
            serviceLevel.set(Double(cumulative[i]) / Double(count))
        } else {
            serviceLevel.set(-1)
        }
        // Queues known to the state, plus every skill of the directory (an agent's skill is a
        // queue sessions can be routed to, so "0 waiting, 3 available" is worth showing).
        var names = Set(state.queues.queueNames)
        for a in router.directory.agents { names.formUnion(a.skills.keys) }
        names.insert(BrokerState.defaultQueue)
        var available: [String: Int] = [:]
        for a in router.directory.agents where router.presence(of: a.id) == .online && router.isConnected(a.id) {
            for skill in a.skills.keys { available[skill, default: 0] += 1 }
        }
        for name in names {
            if queueGauges[name] == nil { queueGauges[name] = QueueGauges(name) }
            let g = queueGauges[name]!
            let q = state.queues[queue: name]
            for (i, p) in PriorityQueue<String>.priorities.enumerated() {
                g.depth[i].set(Double(q?.count(priority: p) ?? 0))
            }
            let oldest = q?.oldestEnqueuedAt.map { max(0, now - $0) } ?? 0
            g.oldestWait.set(Double(oldest) / 1000)
            g.agentsAvailable.set(Double(available[name] ?? 0))
        }
    }
}

extension Channel {
    /// The position in `Channel.allCases`, for per-channel counter arrays.
    var index: Int {
        switch self {
        case .web: 0
        case .wechat: 1
        case .app: 2
        case .phone: 3
        }
    }
}
