// IntakeServer/Ops: what the live operations page (/ops/, pushed over WS /ws/ops) shows, built
// from the metrics registry at most once a second and shared by every viewer: queue depth by
// queue and priority class, oldest waits, agents by state, throughput per channel, service
// level, the bot's answer rate, open sessions, the store, and the alerts that are active now
// (the same conditions as Ops/prometheus/rules.yml, for operators without Prometheus).
// Any thread: the cached frame is behind a Mutex; building it only reads atomics.
import IntakeCore
import IntakeJSON
import IntakeTelemetry
import Synchronization
import CIntakeLinux
import Glibc

public final class OpsFeed: Sendable {
    /// Service level: the share of sessions accepted by an agent within this wait.
    public static let serviceLevelTargetSeconds = 20.0
    /// Alert thresholds (the defaults of Ops/prometheus/rules.yml).
    static let oldestWaitAlertSeconds = 180.0
    static let emergencyWaitAlertSeconds = 30.0
    static let diskFreeAlertRatio = 0.10

    private struct State {
        var frame = ""
        var builtNanos: UInt64 = 0
        /// Counter totals at the previous build, for rates.
        var previous: [String: Double] = [:]
        var previousNanos: UInt64 = 0
    }
    private let state = Mutex(State())
    private let registry: MetricsRegistry
    private let clock: @Sendable () -> UInt64

    public init(registry: MetricsRegistry = .shared, clock: @escaping @Sendable () -> UInt64 = { cil_monotonic_nanos() }) {
        self.registry = registry
        self.clock = clock
    }

    /// The newest frame (rebuilt when the cached one is a second old).
    public func frame() -> String {
        let now = clock()
        return state.withLock { s in
            if s.builtNanos != 0 && now &- s.builtNanos < 1_000_000_000 { return s.frame }
            s.frame = build(now: now, &s)
            s.builtNanos = now
            return s.frame
        }
    }

    private static let names: Set<String> = [
        "intake_queue_depth", "intake_queue_oldest_wait_seconds", "intake_queue_agents_available", "intake_agents",
        "intake_messages_ingested_total", "intake_messages_duplicate_total", "intake_wait_seconds", "intake_sessions_open",
        "intake_sessions_assigned", "intake_bot_replies_total", "intake_ready", "intake_store_bytes",
        "intake_store_disk_free_bytes", "intake_store_disk_size_bytes", "intake_assignments_total", "intake_offers_timed_out_total",
        "intake_connections", "intake_topic_spike",
    ]

    private func build(now: UInt64, _ s: inout State) -> String {
        let samples = registry.samples(Self.names)
        func values(_ name: String) -> [MetricsRegistry.Sample] { samples.filter { $0.name == name } }
        func total(_ name: String, where match: (([String: String]) -> Bool) = { _ in true }) -> Double {
            values(name).filter { match($0.labels) }.reduce(0) { $0 + $1.value }
        }

        // Queues.
        struct Q { var depth = [Double](repeating: 0, count: 10); var oldest = 0.0; var available = 0.0 }
        var queues: [String: Q] = [:]
        for v in values("intake_queue_depth") {
            guard let q = v.labels["queue"], let p = v.labels["priority"].flatMap(Int.init), (0...9).contains(p) else { continue }
            queues[q, default: Q()].depth[p] = v.value
        }
        for v in values("intake_queue_oldest_wait_seconds") { if let q = v.labels["queue"] { queues[q, default: Q()].oldest = v.value } }
        for v in values("intake_queue_agents_available") { if let q = v.labels["queue"] { queues[q, default: Q()].available = v.value } }

        // Rates from counters.
        var current: [String: Double] = [:]
        for c in Channel.allCases {
            current["in." + c.rawValue] = total("intake_messages_ingested_total") { $0["channel"] == c.rawValue }
        }
        current["assigned"] = total("intake_assignments_total")
        current["bot.answered"] = total("intake_bot_replies_total") { $0["outcome"] == "answered" }
        current["bot.handed_off"] = total("intake_bot_replies_total") { $0["outcome"] == "handed_off" }
        let seconds = s.previousNanos == 0 ? 0 : Double(now &- s.previousNanos) / 1e9
        func rate(_ key: String) -> Double {
            guard seconds > 0, let before = s.previous[key], let after = current[key] else { return 0 }
            return max(0, after - before) / seconds
        }

        // Service level from the wait histogram.
        var serviceLevel: Double? = nil
        if let h = values("intake_wait_seconds").first, h.value > 0 {
            let within = h.buckets.last { $0.le <= Self.serviceLevelTargetSeconds }?.count ?? 0
            serviceLevel = Double(within) / h.value
        }
        let answered = current["bot.answered"] ?? 0, handedOff = current["bot.handed_off"] ?? 0
        let botRate: Double? = answered + handedOff > 0 ? answered / (answered + handedOff) : nil
        let ready = values("intake_ready").first?.value ?? 1
        let free = values("intake_store_disk_free_bytes").first?.value ?? -1
        let size = values("intake_store_disk_size_bytes").first?.value ?? -1

        // Alerts: the conditions of Ops/prometheus/rules.yml, without their `for:` delays.
        var alerts: [JSON] = []
        func alert(_ name: String, _ severity: String, _ text: String) {
            alerts.append(.object([("name", .string(name)), ("severity", .string(severity)), ("text", .string(text))]))
        }
        if ready == 0 { alert("IntakeNotReady", "page", "the broker is not ready: the store failed or is recovering") }
        if size > 0 && free >= 0 && free / size < Self.diskFreeAlertRatio {
            alert("IntakeDiskNearlyFull", "page", "the data directory's disk has \(Int(free / size * 100))% free")
        }
        for (name, q) in queues.sorted(by: { $0.key < $1.key }) {
            let waiting = q.depth.reduce(0, +)
            if waiting > 0 && q.available == 0 {
                alert("IntakeNoAgentForWaitingQueue", "page", "\(Int(waiting)) waiting in \(name) and no agent with that skill is online")
            }
            let limit = name == "emergency" ? Self.emergencyWaitAlertSeconds : Self.oldestWaitAlertSeconds
            if q.oldest > limit { alert(name == "emergency" ? "IntakeEmergencyWaiting" : "IntakeOldestWaitHigh", name == "emergency" ? "page" : "warn",
                                        "a citizen has waited \(Int(q.oldest)) s in \(name)") }
        }

        for v in values("intake_topic_spike").sorted(by: { ($0.labels["topic"] ?? "") < ($1.labels["topic"] ?? "") }) where v.value == 1 {
            alert("IntakeTopicSpike", "warn", "topic \(v.labels["topic"] ?? "") is rising well above its own baseline")
        }

        let queueJSON: [JSON] = queues.sorted { $0.key < $1.key }.map { name, q in
            .object([("name", .string(name)), ("depth", num(q.depth.reduce(0, +))),
                     ("byPriority", .array(q.depth.map { num($0) })), ("oldestWaitSeconds", num(q.oldest.rounded())),
                     ("agentsAvailable", num(q.available))])
        }
        var agents: [(String, JSON)] = []
        for p in ["online", "away", "offline"] { agents.append((p, num(total("intake_agents") { $0["state"] == p }))) }
        let throughput: [(String, JSON)] = Channel.allCases.map { ($0.rawValue, num((rate("in." + $0.rawValue) * 10).rounded() / 10)) }
        let frame = JSON.object([
            ("type", "ops"),
            ("at", .string(RFC3339.format(Int64(wallMillis())))),
            ("ready", .bool(ready != 0)),
            ("queues", .array(queueJSON)),
            ("waiting", num(queues.values.reduce(0) { $0 + $1.depth.reduce(0, +) })),
            ("oldestWaitSeconds", num(queues.values.map(\.oldest).max()?.rounded() ?? 0)),
            ("agents", .object(agents)),
            ("messagesPerSecond", .object(throughput)),
            ("messagesTotal", num(Channel.allCases.reduce(0) { $0 + (current["in." + $1.rawValue] ?? 0) })),
            ("assignmentsPerMinute", num((rate("assigned") * 60).rounded())),
            ("sessionsOpen", num(total("intake_sessions_open"))),
            ("sessionsAssigned", num(total("intake_sessions_assigned"))),
            ("serviceLevel", .object([("targetSeconds", num(Self.serviceLevelTargetSeconds)),
                                      ("share", serviceLevel.map { num(($0 * 1000).rounded() / 1000) } ?? .null)])),
            ("bot", .object([("answered", num(answered)), ("handedOff", num(handedOff)),
                             ("answerRate", botRate.map { num(($0 * 1000).rounded() / 1000) } ?? .null)])),
            ("store", .object([("bytes", num(total("intake_store_bytes"))),
                               ("diskFreeRatio", size > 0 && free >= 0 ? num((free / size * 1000).rounded() / 1000) : .null)])),
            ("alerts", .array(alerts)),
        ]).serializedString
        s.previous = current
        s.previousNanos = now
        return frame
    }
}

/// Wall time in Unix milliseconds.
func wallMillis() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

/// A JSON number: an integer when the value is whole, else a double.
private func num(_ v: Double) -> JSON {
    v == v.rounded() && abs(v) < 1e15 ? .int(Int64(v)) : .double(v)
}
